//! The bounded stream: a producer offers encoded events, a reader reads bytes, within limits.

use std::collections::VecDeque;
use std::fmt;
use std::sync::LazyLock;

use bytes::Bytes;

use super::{Fault, Ledger, Millis, Resource};
use crate::sse::Frame;

/// The high-water mark: how much a stream buffers for its reader before refusing offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HighWater {
    /// Refuse while this many bytes are held.
    Bytes(usize),
    /// Refuse while this many chunks are held.
    Chunks(usize),
    /// Refuse while either mark is reached.
    Both {
        /// The byte mark.
        bytes: usize,
        /// The chunk mark.
        chunks: usize,
    },
}

impl HighWater {
    /// The byte mark, or None when only chunks are counted.
    pub fn bytes(self) -> Option<usize> {
        match self {
            HighWater::Bytes(bytes) | HighWater::Both { bytes, .. } => Some(bytes),
            HighWater::Chunks(_) => None,
        }
    }

    /// The chunk mark, or None when only bytes are counted.
    pub fn chunks(self) -> Option<usize> {
        match self {
            HighWater::Chunks(chunks) | HighWater::Both { chunks, .. } => Some(chunks),
            HighWater::Bytes(_) => None,
        }
    }
}

/// Every limit of a stream, and the fault switch (none for the correct model).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamConfig {
    /// The most chunk bytes a stream accepts in its life; the chunk that would cross it is
    /// replaced by the terminal `size_limit` event.
    pub byte_cap: usize,
    /// How much the stream buffers for its reader before it answers [`Offer::Backpressure`].
    pub high_water: HighWater,
    /// The stream closes when no byte has been read for this long.
    pub idle_timeout: Millis,
    /// The stream closes this long after it opened, however it is read.
    pub max_duration: Millis,
    /// A larger chunk is refused with [`OfferError::ChunkTooLarge`].
    pub max_chunk_bytes: usize,
    /// The bug switched on, to check that the properties catch it; None in a real server.
    pub fault: Option<Fault>,
}

impl Default for StreamConfig {
    /// 8 MiB cap; high water at 256 KiB or 256 chunks; 30 s idle; 5 min; 1 MiB chunks.
    fn default() -> Self {
        Self {
            byte_cap: 8 << 20,
            high_water: HighWater::Both {
                bytes: 256 << 10,
                chunks: 256,
            },
            idle_timeout: Millis(30_000),
            max_duration: Millis(300_000),
            max_chunk_bytes: 1 << 20,
            fault: None,
        }
    }
}

/// Why a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndReason {
    /// The producer finished and the reader read everything.
    Finished,
    /// An offer would have crossed the byte cap.
    SizeLimit,
    /// Nothing was read for the idle timeout.
    IdleTimeout,
    /// The stream reached its maximum duration.
    DurationLimit,
    /// The reader went away.
    Cancelled,
    /// The writer went away.
    Aborted,
}

impl EndReason {
    /// Every reason that ends a stream with a terminal event.
    pub const WITH_TERMINAL_EVENT: [EndReason; 3] = [
        EndReason::SizeLimit,
        EndReason::IdleTimeout,
        EndReason::DurationLimit,
    ];

    /// The SSE event type of the terminal event, for the reasons that send one.
    pub fn event_type(self) -> Option<&'static str> {
        match self {
            EndReason::SizeLimit => Some("size_limit"),
            EndReason::IdleTimeout => Some("idle_timeout"),
            EndReason::DurationLimit => Some("duration_limit"),
            EndReason::Finished | EndReason::Cancelled | EndReason::Aborted => None,
        }
    }

    /// The encoded terminal event (empty for the reasons that send none): an event of type
    /// [`EndReason::event_type`] whose data is an MCP log notification (`notifications/message`)
    /// saying why, written once by the safe encoder and shared by every stream.
    pub fn terminal_event(self) -> &'static [u8] {
        match self {
            EndReason::SizeLimit => &TERMINALS[0],
            EndReason::IdleTimeout => &TERMINALS[1],
            EndReason::DurationLimit => &TERMINALS[2],
            EndReason::Finished | EndReason::Cancelled | EndReason::Aborted => &[],
        }
    }

    fn message(self) -> &'static str {
        match self {
            EndReason::Finished => "the stream finished",
            EndReason::SizeLimit => "the stream reached its byte cap",
            EndReason::IdleTimeout => "nothing was read for the idle timeout",
            EndReason::DurationLimit => "the stream reached its maximum duration",
            EndReason::Cancelled => "the reader cancelled the stream",
            EndReason::Aborted => "the writer aborted the stream",
        }
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// The terminal events, in the order of [`EndReason::WITH_TERMINAL_EVENT`].
static TERMINALS: LazyLock<[Vec<u8>; 3]> = LazyLock::new(|| {
    EndReason::WITH_TERMINAL_EVENT.map(|reason| {
        let mut out = Vec::new();
        let event = reason.event_type().unwrap_or_default();
        // A JSON-RPC notification (an MCP log message), so that a client that reads every
        // event's data as JSON-RPC can read this one too.
        let data = serde_json::json!({
            "jsonrpc": "2.0",
            "method": "notifications/message",
            "params": { "level": "warning", "logger": "transport", "data": reason.message() },
        })
        .to_string();
        Frame::data(&data)
            .event(event)
            .encode(&mut out)
            .expect("constant single-line fields always encode");
        out
    })
});

/// What became of an offered chunk.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// The chunk is buffered for the reader.
    Accepted,
    /// The high-water mark is reached: nothing was buffered; offer again after a read.
    Backpressure,
    /// The chunk would have crossed the byte cap: it was dropped, the terminal `size_limit`
    /// event follows what is buffered, and the stream takes no more offers.
    CapReached,
}

/// An offer the stream refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    /// The chunk is larger than [`StreamConfig::max_chunk_bytes`]; nothing was buffered.
    #[error("a chunk of {len} bytes is over the maximum chunk size of {max} bytes; split the event or raise max_chunk_bytes")]
    ChunkTooLarge {
        /// The chunk's length in bytes.
        len: usize,
        /// The stream's `max_chunk_bytes`.
        max: usize,
    },
    /// The stream had stopped taking offers (draining or closed) before this one.
    #[error("the stream takes no more offers: {reason}; open a new stream")]
    Ended {
        /// Why it stopped.
        reason: EndReason,
    },
}

/// What a read returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// This many bytes (at least one) were copied out.
    Data(usize),
    /// Nothing to read yet: the stream is open and its buffer empty (or the read was empty).
    Pending,
    /// Everything has been read, the terminal event included; the stream ended for this reason.
    End(EndReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// No more offers; the reader drains the buffer, then the stream closes.
    Draining(EndReason),
    /// Everything is released; only the static terminal event may remain to be read.
    Closed(EndReason),
}

/// One server-to-client stream with a byte cap, backpressure and deadlines.
///
/// Invariants, each checked by a property in `proptests/`:
/// - the bytes a reader gets are at most the byte cap plus one terminal event (`byte_caps`);
/// - buffered bytes never exceed the high-water mark plus one chunk, and buffered chunks never
///   exceed the chunk mark (`byte_caps`);
/// - a stream with no read progress for the idle timeout, or older than its maximum duration,
///   is closed at the first call that reaches that instant (`deadlines`);
/// - once closed, by any path, the stream holds nothing in the ledger (`cleanup`).
///
/// Every call that changes the stream takes the ledger it opened with, and the instant `now` of
/// the injected clock. A stream dropped before it is closed keeps its ledger entries: that is a
/// leak the ledger is there to show, so close it by reading to the end, [`cancel`] or [`abort`].
///
/// Offering allocates nothing beyond the chunk itself: the chunk is moved into a queue allocated
/// at open with room for the chunk mark (at most [`BoundedStream::PREALLOCATED_CHUNKS`], or
/// [`BoundedStream::UNMARKED_CHUNKS`] without a chunk mark); a queue that must grow past that
/// does so once, to its bound, and is reused from then on.
///
/// [`cancel`]: BoundedStream::cancel
/// [`abort`]: BoundedStream::abort
#[derive(Debug)]
pub struct BoundedStream {
    config: StreamConfig,
    state: State,
    queue: VecDeque<Bytes>,
    /// Bytes of the front chunk already read.
    front_read: usize,
    /// Bytes of the chunks in the queue, read or not: what the buffers hold.
    held_bytes: usize,
    /// Chunk bytes accepted so far, counted against the byte cap.
    accepted_bytes: usize,
    opened: Millis,
    last_progress: Millis,
    /// The latest instant seen, so time never runs backwards.
    now: Millis,
    /// The terminal event still to be read after the buffer, and how much of it was read.
    terminal: &'static [u8],
    terminal_read: usize,
}

impl BoundedStream {
    /// The most queue entries allocated when the stream opens.
    pub const PREALLOCATED_CHUNKS: usize = 1024;
    /// The queue entries allocated when the stream opens without a chunk mark.
    pub const UNMARKED_CHUNKS: usize = 64;

    /// Opens a stream at `now`, taking a handle and its two deadline timers from `ledger`.
    pub fn open(config: StreamConfig, ledger: &mut Ledger, now: Millis) -> Self {
        ledger.acquire(Resource::Handle);
        ledger.acquire(Resource::Timer);
        ledger.acquire(Resource::Timer);
        let room = config
            .high_water
            .chunks()
            .unwrap_or(Self::UNMARKED_CHUNKS)
            .min(Self::PREALLOCATED_CHUNKS);
        Self {
            config,
            state: State::Open,
            queue: VecDeque::with_capacity(room),
            front_read: 0,
            held_bytes: 0,
            accepted_bytes: 0,
            opened: now,
            last_progress: now,
            now,
            terminal: &[],
            terminal_read: 0,
        }
    }

    /// Offers one chunk (one encoded event) at `now`.
    pub fn offer(
        &mut self,
        ledger: &mut Ledger,
        now: Millis,
        chunk: Bytes,
    ) -> Result<Offer, OfferError> {
        self.check_deadlines(ledger, now);
        if let State::Draining(reason) | State::Closed(reason) = self.state {
            return Err(OfferError::Ended { reason });
        }
        let len = chunk.len();
        if len > self.config.max_chunk_bytes {
            return Err(OfferError::ChunkTooLarge {
                len,
                max: self.config.max_chunk_bytes,
            });
        }
        if self.at_high_water() && !self.has(Fault::NoBackpressure) {
            return Ok(Offer::Backpressure);
        }
        let cap = if self.has(Fault::ByteCapOffByOne) {
            self.config.byte_cap.saturating_add(1)
        } else {
            self.config.byte_cap
        };
        if len > cap.saturating_sub(self.accepted_bytes) {
            self.end(ledger, EndReason::SizeLimit);
            return Ok(Offer::CapReached);
        }
        if len > 0 {
            self.accepted_bytes += len;
            self.held_bytes += len;
            ledger.acquire(Resource::Buffer { bytes: len });
            self.queue.push_back(chunk);
        }
        Ok(Offer::Accepted)
    }

    /// Copies up to `out.len()` bytes for the reader at `now`: buffered chunks first, then the
    /// terminal event (none after a deadline that cut an event the reader had begun). A read
    /// of at least one byte is read progress.
    pub fn read(&mut self, ledger: &mut Ledger, now: Millis, out: &mut [u8]) -> Read {
        self.check_deadlines(ledger, now);
        let mut copied = 0;
        while copied < out.len() {
            let Some(front) = self.queue.front() else {
                break;
            };
            let rest = &front[self.front_read..];
            let n = rest.len().min(out.len() - copied);
            out[copied..copied + n].copy_from_slice(&rest[..n]);
            copied += n;
            self.front_read += n;
            if self.front_read == front.len() {
                let bytes = front.len();
                self.queue.pop_front();
                self.front_read = 0;
                self.held_bytes -= bytes;
                ledger.release(Resource::Buffer { bytes });
            }
        }
        if copied > 0 {
            self.last_progress = self.now;
        }
        if let State::Draining(reason) = self.state {
            if self.queue.is_empty() {
                self.close(ledger, reason);
            }
        }
        if let State::Closed(reason) = self.state {
            let rest = &self.terminal[self.terminal_read..];
            let n = rest.len().min(out.len() - copied);
            out[copied..copied + n].copy_from_slice(&rest[..n]);
            copied += n;
            self.terminal_read += n;
            if copied == 0 && self.terminal_read == self.terminal.len() {
                return Read::End(reason);
            }
        }
        if copied > 0 {
            Read::Data(copied)
        } else {
            Read::Pending
        }
    }

    /// The producer is done: the reader drains what is buffered, then the stream closes.
    pub fn finish(&mut self, ledger: &mut Ledger, now: Millis) {
        self.check_deadlines(ledger, now);
        if self.state == State::Open {
            self.end(ledger, EndReason::Finished);
        }
    }

    /// Applies the deadlines at `now`, as a timer firing would.
    pub fn tick(&mut self, ledger: &mut Ledger, now: Millis) {
        self.check_deadlines(ledger, now);
    }

    /// The reader went away: everything is released, nothing more is delivered.
    pub fn cancel(&mut self, ledger: &mut Ledger) {
        self.drop_terminal();
        if !self.is_closed() {
            self.close(ledger, EndReason::Cancelled);
        }
    }

    /// The writer went away: everything is released, nothing more is delivered.
    pub fn abort(&mut self, ledger: &mut Ledger) {
        self.drop_terminal();
        if self.is_closed() {
            return;
        }
        if self.has(Fault::LeakOnAbort) {
            // The bug: the chunks are dropped but never returned to the ledger.
            self.queue.clear();
            self.held_bytes = 0;
            self.front_read = 0;
        }
        self.close(ledger, EndReason::Aborted);
    }

    /// Whether the stream has released everything it held (the terminal event may remain to
    /// be read).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed(_))
    }

    /// Why the stream ended or is ending, once it takes no more offers.
    pub fn end_reason(&self) -> Option<EndReason> {
        match self.state {
            State::Open => None,
            State::Draining(reason) | State::Closed(reason) => Some(reason),
        }
    }

    /// Bytes the buffers hold (a partly read chunk counts whole).
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Chunks the buffers hold.
    pub fn held_chunks(&self) -> usize {
        self.queue.len()
    }

    /// The instant at which a deadline will close the stream, unless it is closed already.
    pub fn next_deadline(&self) -> Option<Millis> {
        if self.is_closed() {
            return None;
        }
        let (idle, duration) = self.deadlines();
        Some(idle.map_or(duration, |idle| idle.min(duration)))
    }

    fn has(&self, fault: Fault) -> bool {
        self.config.fault == Some(fault)
    }

    fn at_high_water(&self) -> bool {
        let mark = self.config.high_water;
        mark.bytes().is_some_and(|bytes| self.held_bytes >= bytes)
            || mark
                .chunks()
                .is_some_and(|chunks| self.queue.len() >= chunks)
    }

    /// The idle deadline (none under [`Fault::NoIdleTimeout`]) and the duration deadline.
    fn deadlines(&self) -> (Option<Millis>, Millis) {
        let idle = (!self.has(Fault::NoIdleTimeout))
            .then(|| self.last_progress.after(self.config.idle_timeout));
        let start = if self.has(Fault::DurationResetsOnRead) {
            self.last_progress
        } else {
            self.opened
        };
        (idle, start.after(self.config.max_duration))
    }

    fn check_deadlines(&mut self, ledger: &mut Ledger, now: Millis) {
        self.now = self.now.max(now);
        if self.is_closed() {
            return;
        }
        let (idle, duration) = self.deadlines();
        // The deadline that came first is the one that fired; the hard limit wins a tie.
        let fired = if self.now >= duration && idle.is_none_or(|idle| duration <= idle) {
            EndReason::DurationLimit
        } else if idle.is_some_and(|idle| self.now >= idle) {
            EndReason::IdleTimeout
        } else {
            return;
        };
        // A stream carries at most one terminal event: the first it is given.
        let reason = match self.state {
            State::Draining(reason) if !reason.terminal_event().is_empty() => reason,
            _ => {
                self.terminal = fired.terminal_event();
                fired
            }
        };
        // Closing mid-event (the reader holds part of the front chunk, and the rest is dropped
        // below) sends no terminal event: it would be glued to the cut event's last line. The
        // stream just ends, and a decoder discards an event that the end of a stream cuts.
        if self.front_read > 0 && !self.has(Fault::TerminalMidEvent) {
            self.drop_terminal();
        }
        self.close(ledger, reason);
    }

    /// Nobody will read the terminal event any more.
    fn drop_terminal(&mut self) {
        self.terminal = &[];
        self.terminal_read = 0;
    }

    /// Stops taking offers; closes at once if nothing is buffered.
    fn end(&mut self, ledger: &mut Ledger, reason: EndReason) {
        self.terminal = reason.terminal_event();
        if self.queue.is_empty() {
            self.close(ledger, reason);
        } else {
            self.state = State::Draining(reason);
        }
    }

    /// Releases every buffer, both timers and the handle.
    fn close(&mut self, ledger: &mut Ledger, reason: EndReason) {
        for chunk in self.queue.drain(..) {
            ledger.release(Resource::Buffer { bytes: chunk.len() });
        }
        self.held_bytes = 0;
        self.front_read = 0;
        ledger.release(Resource::Timer);
        ledger.release(Resource::Timer);
        ledger.release(Resource::Handle);
        self.state = State::Closed(reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::{decode_chunks, Limits, Record};

    #[test]
    fn each_terminal_event_is_one_event_of_its_type() {
        for reason in EndReason::WITH_TERMINAL_EVENT {
            let records = decode_chunks([reason.terminal_event()], Limits::default());
            let Ok([Record::Event(event)]) = records.as_deref() else {
                panic!("{reason:?}: {records:?}");
            };
            assert_eq!(Some(event.event_type.as_str()), reason.event_type());
        }
    }
}
