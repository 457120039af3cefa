//! The bounded stream's harness: op sequences, a run that records everything that crossed one
//! stream, and the checks of the stream's invariants.

use std::sync::LazyLock;

use arbitrary::{Arbitrary, Result as ArbitraryResult, Unstructured};
use bytes::Bytes;

use super::violation::ensure;
use super::{ranges, Invariant, Violation};
use crate::model::{
    BoundedStream, EndReason, Ledger, Millis, Offer, OfferError, Read, StreamConfig,
};
use crate::sse::{decode_chunks, Frame, Limits, Record};

/// One step of the producer, the reader or the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum StreamOp {
    /// Offer one event with this many data bytes ([`event_chunk`]).
    Offer(#[arbitrary(with = offer_data_bytes)] usize),
    /// Read at most this many bytes (and at most [`StreamRun::READ_BUFFER`]).
    Read(#[arbitrary(with = read_bytes)] usize),
    /// Move the clock on by this many milliseconds; the deadline timers that are due fire.
    Advance(#[arbitrary(with = advance_ms)] u64),
    /// The producer finishes: the reader may drain what is buffered, then the stream closes.
    Finish,
    /// The reader goes away: everything is released and nothing more is delivered.
    Cancel,
    /// The writer goes away: everything is released and nothing more is delivered.
    Abort,
}

fn offer_data_bytes(u: &mut Unstructured<'_>) -> ArbitraryResult<usize> {
    u.int_in_range(ranges::OFFER_DATA_BYTES)
}

fn read_bytes(u: &mut Unstructured<'_>) -> ArbitraryResult<usize> {
    u.int_in_range(ranges::READ_BYTES)
}

fn advance_ms(u: &mut Unstructured<'_>) -> ArbitraryResult<u64> {
    u.int_in_range(ranges::STREAM_ADVANCE_MS)
}

/// How a case ends what is still open, before the final checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum StreamEnding {
    /// The reader cancels the stream.
    Cancel,
    /// The writer aborts the stream.
    Abort,
    /// The producer finishes and the reader drains everything buffered.
    FinishAndDrain,
    /// The clock moves on by the maximum duration, and the timers fire.
    Deadline,
    /// Empty events are offered, the reader draining after each, until the byte cap is crossed;
    /// then the reader drains.
    SizeLimit,
}

/// The encoded events of every length in [`ranges::OFFER_DATA_BYTES`], made once: an offer
/// clones one (a reference count), so the harness allocates nothing per offer.
static EVENTS: LazyLock<Vec<Bytes>> = LazyLock::new(|| {
    ranges::OFFER_DATA_BYTES
        .map(encode_event)
        .collect::<Vec<_>>()
});

fn encode_event(len: usize) -> Bytes {
    let mut out = Vec::with_capacity(len + 8);
    Frame::data(&"x".repeat(len))
        .encode(&mut out)
        .expect("plain data always encodes");
    Bytes::from(out)
}

/// One encoded event whose data is `len` bytes of `x`: `len + 8` bytes (7 when `len` is 0).
/// No offered event holds an `e`, and every terminal event starts with `event:`, so delivered
/// bytes split unambiguously into offered events and a terminal event.
pub fn event_chunk(len: usize) -> Bytes {
    EVENTS
        .get(len)
        .cloned()
        .unwrap_or_else(|| encode_event(len))
}

/// What held just before the last op, for the checks that compare before and after.
#[derive(Debug, Clone, Copy)]
struct Before {
    closed: bool,
    idle_at: Millis,
}

/// A stream, its ledger and the clock, with a record of everything that crossed the stream.
///
/// [`apply`](StreamRun::apply) checks each answer against its op; the `check_*` methods check
/// one invariant of the stream as it is now.
#[derive(Debug)]
pub struct StreamRun {
    config: StreamConfig,
    stream: BoundedStream,
    ledger: Ledger,
    now: Millis,
    opened: Millis,
    /// The last instant a read returned data (the open instant before any).
    last_progress: Millis,
    /// Every accepted chunk, concatenated.
    accepted: Vec<u8>,
    /// Every byte the reader got.
    delivered: Vec<u8>,
    /// What the final read said, once the reader saw the end.
    ended: Option<EndReason>,
    /// A cancel or abort dropped whatever was left to read.
    dropped: bool,
    before: Before,
}

impl StreamRun {
    /// The largest read, in bytes: reads copy into a buffer on the stack.
    pub const READ_BUFFER: usize = 256;

    /// A fresh stream under `config`, with an empty ledger and the clock at zero.
    pub fn open(config: StreamConfig) -> Self {
        let mut ledger = Ledger::new();
        let stream = BoundedStream::open(config, &mut ledger, Millis::ZERO);
        Self {
            config,
            stream,
            ledger,
            now: Millis::ZERO,
            opened: Millis::ZERO,
            last_progress: Millis::ZERO,
            accepted: Vec::new(),
            delivered: Vec::new(),
            ended: None,
            dropped: false,
            before: Before {
                closed: false,
                idle_at: config.idle_timeout,
            },
        }
    }

    /// Applies one op, checking what the stream answered against what it was asked.
    pub fn apply(&mut self, op: &StreamOp) -> Result<(), Violation> {
        self.before = Before {
            closed: self.stream.is_closed(),
            idle_at: self.idle_at(),
        };
        match *op {
            StreamOp::Offer(len) => {
                // Checked in `offer`; only the end of a case looks at the answer.
                let _ = self.offer(len)?;
            }
            StreamOp::Read(max) => {
                self.read(max);
            }
            StreamOp::Advance(ms) => {
                self.now = self.now.after(Millis(ms));
                self.stream.tick(&mut self.ledger, self.now);
            }
            StreamOp::Finish => self.stream.finish(&mut self.ledger, self.now),
            StreamOp::Cancel => {
                self.stream.cancel(&mut self.ledger);
                self.dropped = true;
            }
            StreamOp::Abort => {
                self.stream.abort(&mut self.ledger);
                self.dropped = true;
            }
        }
        Ok(())
    }

    fn offer(&mut self, len: usize) -> Result<Result<Offer, OfferError>, Violation> {
        let chunk = event_chunk(len);
        let size = chunk.len();
        let answer = self.stream.offer(&mut self.ledger, self.now, chunk.clone());
        match answer {
            Ok(Offer::Accepted) => self.accepted.extend_from_slice(&chunk),
            Ok(Offer::Backpressure | Offer::CapReached) => {}
            Err(OfferError::ChunkTooLarge { len, max }) => ensure!(
                len == size && len > max,
                Invariant::Answer,
                "a chunk of {size} bytes was refused as {len} bytes over the maximum of {max}"
            ),
            Err(OfferError::Ended { reason }) => ensure!(
                self.stream.end_reason().is_some(),
                Invariant::Answer,
                "an open stream refused an offer as ended ({reason:?})"
            ),
        }
        Ok(answer)
    }

    fn read(&mut self, max: usize) -> Read {
        let mut buf = [0; Self::READ_BUFFER];
        let buf = &mut buf[..max.min(Self::READ_BUFFER)];
        let read = self.stream.read(&mut self.ledger, self.now, buf);
        match read {
            Read::Data(n) => {
                self.delivered.extend_from_slice(&buf[..n]);
                self.last_progress = self.now;
            }
            Read::End(reason) => self.ended = Some(reason),
            Read::Pending => {}
        }
        read
    }

    /// Reads whatever is left to read now, in small pieces.
    pub fn drain(&mut self) {
        while let Read::Data(_) = self.read(13) {}
    }

    /// Ends what is still open the way `end` says; checks that the stream is closed, holds
    /// nothing, and, if it finished, delivered every accepted byte.
    pub fn end(&mut self, end: StreamEnding) -> Result<(), Violation> {
        match end {
            StreamEnding::Cancel => self.apply(&StreamOp::Cancel)?,
            StreamEnding::Abort => self.apply(&StreamOp::Abort)?,
            StreamEnding::FinishAndDrain => {
                self.apply(&StreamOp::Finish)?;
                self.drain();
            }
            StreamEnding::Deadline => self.apply(&StreamOp::Advance(self.config.max_duration.0))?,
            StreamEnding::SizeLimit => {
                // Reading between offers, so that backpressure cannot hold the cap off. Stops
                // at anything but progress, so that no config can make this loop forever.
                while self.stream.end_reason().is_none() {
                    match self.offer(0)? {
                        Ok(Offer::Accepted) => {}
                        Ok(Offer::Backpressure) if self.stream.held_chunks() > 0 => {}
                        _ => break,
                    }
                    self.drain();
                }
                self.drain();
            }
        }
        ensure!(
            self.stream.is_closed(),
            Invariant::Ledger,
            "{end:?} did not close the stream ({:?})",
            self.stream.end_reason()
        );
        self.check_ledger()?;
        if self.ended == Some(EndReason::Finished) {
            ensure!(
                self.delivered == self.accepted,
                Invariant::ByteCap,
                "a finished stream delivered {} of {} accepted bytes",
                self.delivered.len(),
                self.accepted.len()
            );
        }
        Ok(())
    }

    /// Whether `len` bytes of the accepted chunks end at a chunk boundary: every offered event
    /// ends with a blank line, and its data (all `x`) holds no line break before it.
    fn is_chunk_end(&self, len: usize) -> bool {
        len == 0 || self.accepted[..len].ends_with(b"\n\n")
    }

    fn idle_at(&self) -> Millis {
        self.last_progress.after(self.config.idle_timeout)
    }

    /// Buffering is within the high-water mark plus one chunk, and within the chunk mark.
    pub fn check_buffers(&self) -> Result<(), Violation> {
        let mark = self.config.high_water;
        let held = self.stream.held_bytes();
        if let Some(bytes) = mark.bytes() {
            let bound = bytes.saturating_add(self.config.max_chunk_bytes);
            ensure!(
                held <= bound,
                Invariant::HighWater,
                "{held} bytes buffered, over the high-water mark of {bytes} plus one chunk \
                 ({bound})"
            );
        }
        if let Some(chunks) = mark.chunks() {
            let held = self.stream.held_chunks();
            ensure!(
                held <= chunks,
                Invariant::HighWater,
                "{held} chunks buffered, over the chunk mark of {chunks}"
            );
        }
        Ok(())
    }

    /// A closed stream holds nothing in the ledger; an open one holds exactly its buffered
    /// chunks, its two deadline timers and its handle.
    pub fn check_ledger(&self) -> Result<(), Violation> {
        let ledger = &self.ledger;
        if self.stream.is_closed() {
            ensure!(
                ledger.is_zero(),
                Invariant::Ledger,
                "a closed stream ({:?}) holds {ledger:?}",
                self.stream.end_reason()
            );
        } else {
            let held = (self.stream.held_chunks(), self.stream.held_bytes(), 2, 1);
            let counted = (
                ledger.buffers(),
                ledger.buffered_bytes(),
                ledger.timers(),
                ledger.handles(),
            );
            ensure!(
                counted == held,
                Invariant::Ledger,
                "the ledger counts (buffers, bytes, timers, handles) {counted:?}, the stream \
                 holds {held:?}"
            );
        }
        Ok(())
    }

    /// After the last op at `now`: a stream with no read progress for the idle timeout, or
    /// older than its maximum duration, is closed; a deadline that closed it during the op was
    /// due; an open stream's next deadline is within its maximum duration.
    pub fn check_deadlines(&self) -> Result<(), Violation> {
        let now = self.now;
        let idle = self.config.idle_timeout;
        let duration_at = self.opened.after(self.config.max_duration);
        let closed = self.stream.is_closed();
        ensure!(
            closed || now < self.idle_at(),
            Invariant::Deadline,
            "no read progress since {} and still open at {now} (idle timeout {idle})",
            self.last_progress
        );
        ensure!(
            closed || now < duration_at,
            Invariant::Deadline,
            "still open at {now}, past its maximum duration {}",
            self.config.max_duration
        );
        if !closed {
            if let Some(deadline) = self.stream.next_deadline() {
                ensure!(
                    deadline <= duration_at,
                    Invariant::Deadline,
                    "the next deadline {deadline} is past the maximum duration ({duration_at})"
                );
            }
        } else if !self.before.closed {
            // A read that closes the stream still returns the terminal event, which is not
            // read progress: the idle deadline is the one from before the op.
            match self.stream.end_reason() {
                Some(EndReason::IdleTimeout) => ensure!(
                    now >= self.before.idle_at,
                    Invariant::Deadline,
                    "the idle timeout fired early at {now} (due at {})",
                    self.before.idle_at
                ),
                Some(EndReason::DurationLimit) => ensure!(
                    now >= duration_at,
                    Invariant::Deadline,
                    "the duration limit fired early at {now} (due at {duration_at})"
                ),
                _ => {}
            }
        }
        Ok(())
    }

    /// Once drained: the reader got the accepted chunks in order, then at most (a prefix of)
    /// one terminal event, so at most the byte cap plus one terminal event; and a terminal
    /// event only after a whole chunk, never glued to part of one.
    pub fn check_delivered(&self) -> Result<(), Violation> {
        let delivered = &self.delivered;
        let records =
            decode_chunks([delivered.as_slice()], Limits::default()).map_err(|(_, error)| {
                Violation::new(
                    Invariant::ByteCap,
                    format!("the delivered bytes do not decode: {error}"),
                )
            })?;
        let is_terminal = |record: &Record| {
            matches!(record, Record::Event(event)
                if EndReason::WITH_TERMINAL_EVENT
                    .iter()
                    .any(|reason| reason.event_type() == Some(event.event_type.as_str())))
        };
        let terminals = records.iter().filter(|r| is_terminal(r)).count();
        ensure!(
            terminals <= 1,
            Invariant::ByteCap,
            "{terminals} terminal events delivered"
        );
        ensure!(
            terminals == 0 || records.last().is_some_and(is_terminal),
            Invariant::ByteCap,
            "the terminal event is not last"
        );
        let data = delivered
            .iter()
            .zip(&self.accepted)
            .take_while(|(a, b)| a == b)
            .count();
        let cap = self.config.byte_cap;
        ensure!(
            data <= cap,
            Invariant::ByteCap,
            "{data} bytes delivered before the terminal event, over the cap of {cap}"
        );
        let rest = &delivered[data..];
        ensure!(
            rest.is_empty() || self.is_chunk_end(data),
            Invariant::ByteCap,
            "a terminal event came after {data} bytes, in the middle of an accepted event"
        );
        ensure!(
            EndReason::WITH_TERMINAL_EVENT
                .iter()
                .any(|reason| reason.terminal_event().starts_with(rest)),
            Invariant::ByteCap,
            "after the accepted chunks came {:?}, which is not one terminal event",
            String::from_utf8_lossy(rest)
        );
        Ok(())
    }

    /// Once drained: a stream that a deadline closed, and whose reader was not dropped,
    /// delivered that deadline's terminal event last, unless the deadline cut an event the
    /// reader had begun (then the delivered bytes end inside that event).
    pub fn check_terminal(&self) -> Result<(), Violation> {
        if let Some(reason @ (EndReason::IdleTimeout | EndReason::DurationLimit)) = self.ended {
            let cut = self.accepted.starts_with(&self.delivered)
                && !self.is_chunk_end(self.delivered.len());
            ensure!(
                self.dropped || cut || self.delivered.ends_with(reason.terminal_event()),
                Invariant::Deadline,
                "a stream closed by {reason:?} did not end with its terminal event"
            );
        }
        Ok(())
    }
}

/// A whole bounded-stream case: a config, ops, and how what is open ends.
#[derive(Debug, Clone)]
pub struct StreamCase {
    /// The stream's limits, drawn from [`ranges`].
    pub config: StreamConfig,
    /// The ops applied in order, at most [`StreamCase::MAX_OPS`] from fuzz input.
    pub ops: Vec<StreamOp>,
    /// How what is still open ends, after the ops.
    pub end: StreamEnding,
}

impl StreamCase {
    /// The most ops a case decoded from fuzz input runs, so that every input runs fast.
    pub const MAX_OPS: usize = 256;

    /// Runs the case and checks every invariant of the stream: the answers, buffering, the
    /// deadlines and the ledger after every op; then ends the stream, drains it, and checks
    /// the cleanup, the delivered bytes and the terminal event.
    pub fn check(&self) -> Result<(), Violation> {
        let mut run = StreamRun::open(self.config);
        for (n, op) in self.ops.iter().enumerate() {
            run.apply(op)
                .and_then(|()| run.check_buffers())
                .and_then(|()| run.check_deadlines())
                .and_then(|()| run.check_ledger())
                .map_err(|violation| violation.after_op(n))?;
        }
        run.end(self.end)?;
        run.drain();
        run.check_delivered()?;
        run.check_terminal()
    }
}

impl<'a> Arbitrary<'a> for StreamCase {
    /// A correct stream (no fault) within [`ranges`], and at most [`Self::MAX_OPS`] ops.
    fn arbitrary(u: &mut Unstructured<'a>) -> ArbitraryResult<Self> {
        let config = ranges::stream_config(u, None)?;
        let end = u.arbitrary()?;
        let ops = u
            .arbitrary_iter()?
            .take(Self::MAX_OPS)
            .collect::<ArbitraryResult<_>>()?;
        Ok(Self { config, ops, end })
    }
}
