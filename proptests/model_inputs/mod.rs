//! Op sequences, harnesses and the broken-variant runner shared by the model property suites.
//!
//! Each suite states one invariant as a function of a [`Fault`] (none for the correct model),
//! runs it with `proptest!` on the correct model, and runs it on a broken variant with
//! [`expect_counterexample`], which fails unless proptest finds a counterexample.
//!
//! Case counts: proptest's default (256) unless `PROPTEST_CASES` says otherwise, e.g.
//! `PROPTEST_CASES=2560 cargo test --release --test resume_isolation`.

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;

use bytes::Bytes;
use mcp_transport_fuzz::model::{
    AtCapacity, BoundedStream, EndReason, Entropy, Fault, Ledger, LogLimits, LoggedEvent, Millis,
    Offer, OfferError, Read, ResumeError, SessionConfig, SessionError, SessionId, SessionStore,
    StreamConfig, StreamKind, StreamNo,
};
use mcp_transport_fuzz::sse::Frame;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestError, TestRng, TestRunner};

/// Runs `property` against a broken variant and panics unless proptest finds a counterexample.
/// The minimal counterexample is printed (see it with `--nocapture`).
pub fn expect_counterexample<S>(
    fault: Fault,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S: Strategy,
    S::Value: Debug,
{
    let defaults = Config::default();
    let config = Config {
        // A broken variant stops at its first counterexample; the margin only matters if the
        // property were too weak to see the bug.
        cases: defaults.cases.max(4096),
        failure_persistence: None,
        ..defaults
    };
    // A fixed seed: whether a broken variant is caught must never depend on luck.
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    match TestRunner::new_with_rng(config, rng).run(&strategy, property) {
        Err(TestError::Fail(reason, input)) => {
            eprintln!("{fault:?} caught: {reason}\n  minimal input: {input:?}")
        }
        other => panic!("the property cannot tell {fault:?} from the correct model: {other:?}"),
    }
}

/// One encoded event whose data is `len` bytes of `x`: `len + 8` bytes (7 when `len` is 0).
pub fn event_chunk(len: usize) -> Bytes {
    let mut out = Vec::new();
    Frame::data(&"x".repeat(len))
        .encode(&mut out)
        .expect("plain data always encodes");
    Bytes::from(out)
}

// ---------------------------------------------------------------------------------------------
// The bounded stream.

/// Small limits, so that caps, marks and deadlines are reached within a few ops.
pub fn stream_config(fault: Option<Fault>) -> impl Strategy<Value = StreamConfig> {
    let high_water = prop_oneof![
        (1usize..200).prop_map(mcp_transport_fuzz::model::HighWater::Bytes),
        (1usize..6).prop_map(mcp_transport_fuzz::model::HighWater::Chunks),
        (1usize..200, 1usize..6).prop_map(|(bytes, chunks)| {
            mcp_transport_fuzz::model::HighWater::Both { bytes, chunks }
        }),
    ];
    (0usize..400, high_water, 1u64..400, 1u64..1500, 7usize..80).prop_map(
        move |(byte_cap, high_water, idle, duration, max_chunk_bytes)| StreamConfig {
            byte_cap,
            high_water,
            idle_timeout: Millis(idle),
            max_duration: Millis(duration),
            max_chunk_bytes,
            fault,
        },
    )
}

#[derive(Debug, Clone)]
pub enum StreamOp {
    /// Offer one event with this many data bytes.
    Offer(usize),
    /// Read at most this many bytes.
    Read(usize),
    /// Move the clock on by this many milliseconds; the deadline timers that are due fire.
    Advance(u64),
    Finish,
    Cancel,
    Abort,
}

/// Op sequences; `enders` weighs Finish, Cancel and Abort (0 leaves them out).
pub fn stream_ops(enders: u32, max_advance: u64) -> impl Strategy<Value = Vec<StreamOp>> {
    let op = prop_oneof![
        8 => (0usize..80).prop_map(StreamOp::Offer),
        6 => (0usize..48).prop_map(StreamOp::Read),
        3 => (0..max_advance).prop_map(StreamOp::Advance),
        enders => Just(StreamOp::Finish),
        enders => Just(StreamOp::Cancel),
        enders => Just(StreamOp::Abort),
    ];
    proptest::collection::vec(op, 0..64)
}

/// A stream, its ledger and the clock, with a record of everything that crossed it.
#[derive(Debug)]
pub struct StreamRun {
    pub config: StreamConfig,
    pub stream: BoundedStream,
    pub ledger: Ledger,
    pub now: Millis,
    pub opened: Millis,
    /// The last instant a read returned data (the open instant before any).
    pub last_progress: Millis,
    /// Every accepted chunk, concatenated.
    pub accepted: Vec<u8>,
    /// Every byte the reader got.
    pub delivered: Vec<u8>,
    /// What the final read said, once the reader saw the end.
    pub ended: Option<EndReason>,
}

impl StreamRun {
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
        }
    }

    /// Applies one op, checking what the stream answered against what it was asked.
    pub fn apply(&mut self, op: &StreamOp) -> Result<(), TestCaseError> {
        match *op {
            StreamOp::Offer(len) => {
                let chunk = event_chunk(len);
                let size = chunk.len();
                match self.stream.offer(&mut self.ledger, self.now, chunk.clone()) {
                    Ok(Offer::Accepted) => self.accepted.extend_from_slice(&chunk),
                    Ok(Offer::Backpressure | Offer::CapReached) => {}
                    Err(OfferError::ChunkTooLarge { len, max }) => {
                        prop_assert_eq!(len, size);
                        prop_assert!(len > max, "a chunk within the maximum was refused");
                    }
                    Err(OfferError::Ended { .. }) => {
                        prop_assert!(self.stream.end_reason().is_some(), "an open stream refused")
                    }
                }
            }
            StreamOp::Read(max) => {
                self.read(max);
            }
            StreamOp::Advance(ms) => {
                self.now = self.now.after(Millis(ms));
                self.stream.tick(&mut self.ledger, self.now);
            }
            StreamOp::Finish => self.stream.finish(&mut self.ledger, self.now),
            StreamOp::Cancel => self.stream.cancel(&mut self.ledger),
            StreamOp::Abort => self.stream.abort(&mut self.ledger),
        }
        Ok(())
    }

    fn read(&mut self, max: usize) -> Read {
        let mut buf = vec![0; max];
        let read = self.stream.read(&mut self.ledger, self.now, &mut buf);
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
}

// ---------------------------------------------------------------------------------------------
// Sessions and resumption.

/// Small caps, so that refusals, eviction and expiry happen within a few ops.
pub fn session_config(fault: Option<Fault>) -> impl Strategy<Value = SessionConfig> {
    (
        1usize..6,
        prop_oneof![Just(AtCapacity::Refuse), Just(AtCapacity::EvictIdlest)],
        1usize..5,
        500u64..5000,
        1usize..6,
        100usize..1500,
    )
        .prop_map(
            move |(max_sessions, at_capacity, max_streams, idle, max_events, max_bytes)| {
                SessionConfig {
                    max_sessions,
                    at_capacity,
                    max_streams,
                    idle_timeout: Millis(idle),
                    log: LogLimits {
                        max_events,
                        max_bytes,
                    },
                    fault,
                }
            },
        )
}

/// Where a resume's Last-Event-ID comes from.
#[derive(Debug, Clone)]
pub enum IdPick {
    /// An id this server minted, of any session and stream.
    Genuine(Index),
    /// An id this server minted for the asking session.
    Own(Index),
    /// A minted id with one byte replaced.
    Mutated(Index, Index, u8),
    /// An id minted by another server instance (another key).
    ForeignKey(Index),
    /// Any text.
    Garbage(String),
}

#[derive(Debug, Clone)]
pub enum SessionOp {
    Create,
    /// Sessions and streams are picked among all ever created, ended ones included.
    Open(Index, StreamKind),
    Close(Index, Index),
    Append(Index, Index, String),
    Resume(Index, IdPick),
    Delete(Index),
    Advance(u64),
    /// Let the expiry timers fire at the current instant.
    Sweep,
}

/// Bytes that can replace one byte of an id: its own alphabet and a few that are not.
const MUTATIONS: &[u8] = b"0123456789abcdefABF-x :\x7f";

pub fn id_pick() -> impl Strategy<Value = IdPick> {
    prop_oneof![
        2 => any::<Index>().prop_map(IdPick::Genuine),
        4 => any::<Index>().prop_map(IdPick::Own),
        3 => (any::<Index>(), any::<Index>(), proptest::sample::select(MUTATIONS))
            .prop_map(|(id, at, byte)| IdPick::Mutated(id, at, byte)),
        1 => any::<Index>().prop_map(IdPick::ForeignKey),
        1 => "[0-9a-f-]{0,90}".prop_map(IdPick::Garbage),
    ]
}

/// Op sequences; `resumes` weighs resumes (0 leaves them out).
pub fn session_ops(resumes: u32, len: usize) -> impl Strategy<Value = Vec<SessionOp>> {
    let kind = prop_oneof![
        3 => Just(StreamKind::Request),
        1 => Just(StreamKind::Standalone),
    ];
    let op = prop_oneof![
        2 => Just(SessionOp::Create),
        3 => (any::<Index>(), kind).prop_map(|(s, k)| SessionOp::Open(s, k)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(s, t)| SessionOp::Close(s, t)),
        8 => (any::<Index>(), any::<Index>(), "[a-z \n]{0,40}")
            .prop_map(|(s, t, data)| SessionOp::Append(s, t, data)),
        resumes => (any::<Index>(), id_pick()).prop_map(|(s, id)| SessionOp::Resume(s, id)),
        1 => any::<Index>().prop_map(SessionOp::Delete),
        1 => (0u64..500).prop_map(SessionOp::Advance),
        1 => Just(SessionOp::Sweep),
    ];
    proptest::collection::vec(op, 0..len)
}

/// What the oracle knows of one session.
#[derive(Debug)]
pub struct SessionTruth {
    pub id: SessionId,
    pub live: bool,
    pub last_active: Millis,
    /// Every stream ever opened, in order: `streams[n]` is `StreamNo(n)`.
    pub streams: Vec<StreamTruth>,
}

/// What the oracle knows of one stream.
#[derive(Debug)]
pub struct StreamTruth {
    pub kind: StreamKind,
    pub open: bool,
    pub next_seq: u64,
    /// The events the log should keep: (seq, encoded length), oldest first.
    pub kept: VecDeque<(u64, usize)>,
}

impl StreamTruth {
    /// The oldest sequence number the log should keep (`next_seq` when it keeps none).
    pub fn first_kept(&self) -> u64 {
        self.kept.front().map_or(self.next_seq, |&(seq, _)| seq)
    }
}

/// One event that was appended.
#[derive(Debug, Clone)]
pub struct EventTruth {
    pub session: usize,
    pub stream: StreamNo,
    pub seq: u64,
    pub frame: Bytes,
}

/// What a resume was asked and answered.
#[derive(Debug)]
pub struct ResumeCase {
    pub asking: usize,
    pub last_event_id: String,
    /// The minted event the id names, if it is a genuine id.
    pub named: Option<EventTruth>,
    pub answer: Result<Vec<LoggedEvent>, ResumeError>,
}

/// A session store beside an oracle of what it should hold. Every op checks the store's
/// answers about sessions and streams (lifecycle, caps, expiry) against the oracle, so the
/// suites built on it can look at what they are about: resumes, or what stays held.
#[derive(Debug)]
pub struct World {
    pub config: SessionConfig,
    pub store: SessionStore,
    pub now: Millis,
    /// Every session ever created: the `Index` of an op picks among them.
    pub sessions: Vec<SessionTruth>,
    /// Every minted id, oldest first.
    pub ids: Vec<String>,
    pub events: HashMap<String, EventTruth>,
    /// Ids minted by another server instance for the same shapes of stream and sequence.
    pub foreign_ids: Vec<String>,
}

impl World {
    pub fn new(config: SessionConfig, seed: u64) -> Self {
        let store = SessionStore::new(config, Entropy::Seeded(seed)).expect("seeded entropy");
        let mut other = SessionStore::new(SessionConfig::default(), Entropy::Seeded(!seed))
            .expect("seeded entropy");
        let session = other.create_session(Millis::ZERO).expect("an empty store");
        let mut foreign_ids = Vec::new();
        for _ in 0..2 {
            let stream = other
                .open_stream(&session, StreamKind::Request, Millis::ZERO)
                .expect("within the stream cap");
            for _ in 0..6 {
                let appended = other
                    .append(&session, stream, "elsewhere", Millis::ZERO)
                    .expect("a live stream");
                foreign_ids.push(appended.id);
            }
        }
        Self {
            config,
            store,
            now: Millis::ZERO,
            sessions: Vec::new(),
            ids: Vec::new(),
            events: HashMap::new(),
            foreign_ids,
        }
    }

    /// Applies one op; returns what a resume was asked and answered.
    pub fn apply(&mut self, op: &SessionOp) -> Result<Option<ResumeCase>, TestCaseError> {
        match op {
            SessionOp::Create => self.create()?,
            SessionOp::Open(s, kind) => {
                if let Some(s) = self.pick(s) {
                    self.open(s, *kind)?;
                }
            }
            SessionOp::Close(s, t) => {
                if let Some(s) = self.pick(s) {
                    let stream = self.pick_stream(s, t);
                    let answer = self
                        .store
                        .close_stream(&self.sessions[s].id, stream, self.now);
                    if self.expect_live(s, &answer)? {
                        let truth = self.sessions[s].streams.get_mut(stream.0 as usize);
                        match truth {
                            Some(truth) if truth.open => {
                                prop_assert!(answer.is_ok(), "closing an open stream: {answer:?}");
                                truth.open = false;
                            }
                            _ => prop_assert!(
                                matches!(answer, Err(SessionError::UnknownStream { .. })),
                                "closing a closed stream: {answer:?}"
                            ),
                        }
                    }
                }
            }
            SessionOp::Append(s, t, data) => {
                if let Some(s) = self.pick(s) {
                    self.append(s, t, data)?;
                }
            }
            SessionOp::Resume(s, pick) => {
                if let Some(s) = self.pick(s) {
                    return self.resume(s, pick).map(Some);
                }
            }
            SessionOp::Delete(s) => {
                if let Some(s) = self.pick(s) {
                    let answer = self.store.end_session(&self.sessions[s].id, self.now);
                    if self.expect_live(s, &answer)? {
                        prop_assert!(answer.is_ok(), "DELETE of a live session: {answer:?}");
                        self.sessions[s].live = false;
                    }
                }
            }
            SessionOp::Advance(ms) => self.now = self.now.after(Millis(*ms)),
            SessionOp::Sweep => {
                let expected = self.expire_all();
                let ended = self.store.expire_idle(self.now);
                prop_assert_eq!(ended, expected, "sessions ended by the expiry sweep");
            }
        }
        Ok(None)
    }

    fn pick(&self, s: &Index) -> Option<usize> {
        (!self.sessions.is_empty()).then(|| s.index(self.sessions.len()))
    }

    /// A stream of session `s` (closed ones included), or stream 0 if it has none.
    fn pick_stream(&self, s: usize, t: &Index) -> StreamNo {
        let streams = self.sessions[s].streams.len();
        StreamNo(if streams == 0 { 0 } else { t.index(streams) } as u32)
    }

    fn expired(&self, s: usize) -> bool {
        let truth = &self.sessions[s];
        truth.live && self.now >= truth.last_active.after(self.config.idle_timeout)
    }

    /// Marks every expired session ended; returns how many.
    pub fn expire_all(&mut self) -> usize {
        let expired: Vec<usize> = (0..self.sessions.len())
            .filter(|&s| self.expired(s))
            .collect();
        for &s in &expired {
            self.sessions[s].live = false;
        }
        expired.len()
    }

    /// Checks an answer about session `s` for liveness: an ended or expired session must get
    /// `UnknownSession`, a live one must not. Returns whether the session is live (and then
    /// marks it active).
    fn expect_live<T: Debug>(
        &mut self,
        s: usize,
        answer: &Result<T, SessionError>,
    ) -> Result<bool, TestCaseError> {
        let unknown = matches!(answer, Err(SessionError::UnknownSession));
        if self.expired(s) {
            self.sessions[s].live = false;
        }
        let truth = &mut self.sessions[s];
        prop_assert_eq!(
            unknown,
            !truth.live,
            "session {} (live: {}) answered {:?}",
            s,
            truth.live,
            answer
        );
        if truth.live {
            truth.last_active = truth.last_active.max(self.now);
        }
        Ok(truth.live)
    }

    fn create(&mut self) -> Result<(), TestCaseError> {
        let answer = self.store.create_session(self.now);
        self.expire_all();
        let live: Vec<usize> = (0..self.sessions.len())
            .filter(|&s| self.sessions[s].live)
            .collect();
        if live.len() >= self.config.max_sessions {
            let idlest = live
                .iter()
                .copied()
                .min_by_key(|&s| (self.sessions[s].last_active, self.sessions[s].id));
            match (self.config.at_capacity, idlest) {
                (AtCapacity::EvictIdlest, Some(idlest)) => self.sessions[idlest].live = false,
                _ => {
                    prop_assert!(
                        matches!(answer, Err(SessionError::TooManySessions { .. })),
                        "creating a session at the cap: {answer:?}"
                    );
                    return Ok(());
                }
            }
        }
        let id = answer.map_err(|e| TestCaseError::fail(format!("creating a session: {e}")))?;
        let text = id.to_string();
        prop_assert_eq!(text.len(), SessionId::TEXT_LEN);
        prop_assert!(
            text.bytes().all(|b| (0x21..=0x7e).contains(&b)),
            "a session id that is not visible ASCII: {text:?}"
        );
        prop_assert_eq!(SessionId::parse(&text), Some(id));
        prop_assert!(
            self.sessions.iter().all(|s| s.id != id),
            "a session id was reused"
        );
        self.sessions.push(SessionTruth {
            id,
            live: true,
            last_active: self.now,
            streams: Vec::new(),
        });
        Ok(())
    }

    fn open(&mut self, s: usize, kind: StreamKind) -> Result<(), TestCaseError> {
        let answer = self.store.open_stream(&self.sessions[s].id, kind, self.now);
        if !self.expect_live(s, &answer)? {
            return Ok(());
        }
        let truth = &mut self.sessions[s];
        let open = truth.streams.iter().filter(|t| t.open).count();
        let standalone = truth
            .streams
            .iter()
            .any(|t| t.open && t.kind == StreamKind::Standalone);
        if open >= self.config.max_streams {
            prop_assert!(
                matches!(answer, Err(SessionError::TooManyStreams { .. })),
                "opening a stream at the cap: {answer:?}"
            );
        } else if kind == StreamKind::Standalone && standalone {
            prop_assert!(
                matches!(answer, Err(SessionError::StandaloneStreamOpen)),
                "opening a second standalone stream: {answer:?}"
            );
        } else {
            prop_assert_eq!(answer.ok(), Some(StreamNo(truth.streams.len() as u32)));
            truth.streams.push(StreamTruth {
                kind,
                open: true,
                next_seq: 0,
                kept: VecDeque::new(),
            });
        }
        Ok(())
    }

    fn append(&mut self, s: usize, t: &Index, data: &str) -> Result<(), TestCaseError> {
        let stream = self.pick_stream(s, t);
        let answer = self
            .store
            .append(&self.sessions[s].id, stream, data, self.now);
        if !self.expect_live(s, &answer)? {
            return Ok(());
        }
        let limits = self.config.log;
        let Some(truth) = self.sessions[s]
            .streams
            .get_mut(stream.0 as usize)
            .filter(|t| t.open)
        else {
            prop_assert!(
                matches!(answer, Err(SessionError::UnknownStream { .. })),
                "appending to a stream that is not open: {answer:?}"
            );
            return Ok(());
        };
        let appended =
            answer.map_err(|e| TestCaseError::fail(format!("appending to a live stream: {e}")))?;
        prop_assert_eq!(
            appended.seq,
            truth.next_seq,
            "sequence numbers are contiguous"
        );
        truth.next_seq += 1;
        truth.kept.push_back((appended.seq, appended.frame.len()));
        let mut bytes: usize = truth.kept.iter().map(|&(_, len)| len).sum();
        while truth.kept.len() > limits.max_events || bytes > limits.max_bytes {
            let Some((_, len)) = truth.kept.pop_front() else {
                break;
            };
            bytes -= len;
        }
        prop_assert!(
            !self.events.contains_key(&appended.id),
            "an event id was minted twice: {}",
            appended.id
        );
        self.ids.push(appended.id.clone());
        self.events.insert(
            appended.id,
            EventTruth {
                session: s,
                stream,
                seq: appended.seq,
                frame: appended.frame,
            },
        );
        Ok(())
    }

    fn resume(&mut self, s: usize, pick: &IdPick) -> Result<ResumeCase, TestCaseError> {
        let last_event_id = self.id_text(s, pick);
        let answer = self
            .store
            .resume(&self.sessions[s].id, &last_event_id, self.now)
            .map(|replay| replay.cloned().collect::<Vec<_>>());
        let as_session_answer = match &answer {
            Err(ResumeError::UnknownSession) => Err(SessionError::UnknownSession),
            _ => Ok(()),
        };
        self.expect_live(s, &as_session_answer)?;
        Ok(ResumeCase {
            asking: s,
            named: self.events.get(&last_event_id).cloned(),
            last_event_id,
            answer,
        })
    }

    fn id_text(&self, asking: usize, pick: &IdPick) -> String {
        match pick {
            IdPick::Genuine(i) if !self.ids.is_empty() => i.get(&self.ids).clone(),
            IdPick::Own(i) => {
                let own: Vec<&String> = self
                    .ids
                    .iter()
                    .filter(|id| self.events[*id].session == asking)
                    .collect();
                match own.is_empty() {
                    true => self.id_text(asking, &IdPick::Genuine(*i)),
                    false => i.get(&own).to_string(),
                }
            }
            IdPick::Mutated(i, at, byte) if !self.ids.is_empty() => {
                let mut bytes = i.get(&self.ids).clone().into_bytes();
                let at = at.index(bytes.len());
                bytes[at] = *byte;
                String::from_utf8(bytes).expect("ASCII replaced by ASCII")
            }
            IdPick::ForeignKey(i) => i.get(&self.foreign_ids).clone(),
            IdPick::Garbage(text) => text.clone(),
            IdPick::Genuine(_) | IdPick::Mutated(..) => String::new(),
        }
    }
}
