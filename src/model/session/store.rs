//! The session store: sessions, their streams, bounded per-stream logs, and resume.

use std::collections::{vec_deque, BTreeMap, BTreeSet, VecDeque};

use super::ids::{Entropy, EntropyError, SessionId, Source, StreamNo};
use crate::model::event_id::{IdError, IdKey, Owner, KEY_BYTES};
use crate::model::{Fault, Ledger, Millis, Resource};
use crate::sse::{EncodeError, Frame};
use bytes::{BufMut, Bytes, BytesMut};

/// What opened a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, arbitrary::Arbitrary)]
pub enum StreamKind {
    /// The response stream of one POST request.
    Request,
    /// The standalone GET stream: at most one live per session.
    Standalone,
}

/// Bounds on one stream's log; the oldest events are evicted first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLimits {
    /// The most events kept per stream.
    pub max_events: usize,
    /// Encoded bytes of the logged events.
    pub max_bytes: usize,
}

/// What creating a session does when the store is full (after expired sessions are ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtCapacity {
    /// Refuse with [`SessionError::TooManySessions`].
    Refuse,
    /// End the session idle the longest, and create the new one.
    EvictIdlest,
}

/// The limits and behaviour of a [`SessionStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    /// The most live sessions.
    pub max_sessions: usize,
    /// What creating a session does when `max_sessions` are live.
    pub at_capacity: AtCapacity,
    /// The most live streams in one session.
    pub max_streams: usize,
    /// A session not used for this long is ended.
    pub idle_timeout: Millis,
    /// The bounds on each stream's log.
    pub log: LogLimits,
    /// The bug switched on, to check that the properties catch it; None in a real server.
    pub fault: Option<Fault>,
}

impl Default for SessionConfig {
    /// 1024 sessions (refused beyond), 32 streams each, 10 min idle, logs of 1024 events or
    /// 1 MiB.
    fn default() -> Self {
        Self {
            max_sessions: 1024,
            at_capacity: AtCapacity::Refuse,
            max_streams: 32,
            idle_timeout: Millis(600_000),
            log: LogLimits {
                max_events: 1024,
                max_bytes: 1 << 20,
            },
            fault: None,
        }
    }
}

/// A session or stream operation the store refuses.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SessionError {
    /// The session never existed, was deleted or expired.
    #[error("unknown session: it never existed, was deleted or expired; start a new session")]
    UnknownSession,
    /// The stream was never opened in this session, or is already closed.
    #[error("stream {stream} is not open in this session")]
    UnknownStream {
        /// The stream asked for.
        stream: StreamNo,
    },
    /// The store holds `limit` live sessions and [`AtCapacity::Refuse`] is configured.
    #[error("the server holds its maximum of {limit} sessions; retry later")]
    TooManySessions {
        /// The store's `max_sessions`.
        limit: usize,
    },
    /// The session holds `limit` live streams, or its stream numbers ran out.
    #[error("the session holds its maximum of {limit} streams; close one first")]
    TooManyStreams {
        /// The store's `max_streams`.
        limit: usize,
    },
    /// A second standalone GET stream was asked for while the first is open.
    #[error("the session already has its standalone GET stream; close it first")]
    StandaloneStreamOpen,
    /// The entropy source failed, or drew a session id that collides with a live one.
    #[error(transparent)]
    Entropy(#[from] EntropyError),
    /// The safe encoder refused the event.
    #[error("the event could not be encoded: {0}")]
    Encode(#[from] EncodeError),
}

/// Why a resume replays nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    /// The asking session never existed, was deleted or expired.
    #[error("unknown session: it never existed, was deleted or expired; start a new session")]
    UnknownSession,
    /// The Last-Event-ID does not have the shape of this server's event ids.
    #[error("the Last-Event-ID is not an event id of this server")]
    Malformed,
    /// The Last-Event-ID's tag does not verify, or it names an event never minted.
    #[error(
        "the Last-Event-ID was not minted by this server (mutated, invented or another server's)"
    )]
    Forged,
    /// The Last-Event-ID was minted for another session.
    #[error("the Last-Event-ID belongs to another session")]
    ForeignSession,
    /// The stream of the Last-Event-ID was closed, so its log is gone.
    #[error("stream {stream} of the Last-Event-ID is closed; nothing can be replayed")]
    UnknownStream {
        /// The id's stream.
        stream: StreamNo,
    },
    /// Events after the Last-Event-ID were evicted from the log, so a replay would leave a gap.
    #[error("events after the Last-Event-ID on stream {stream} were evicted; the oldest kept is {first_available}")]
    Evicted {
        /// The stream replayed.
        stream: StreamNo,
        /// The sequence number of the oldest event still in the log.
        first_available: u64,
    },
}

/// One event in a stream's log: its sequence number and its encoded bytes, id line included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    seq: u64,
    frame: Bytes,
}

impl LoggedEvent {
    /// The event's sequence number in its stream, counting from 0.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The encoded event, exactly as first sent.
    pub fn frame(&self) -> &Bytes {
        &self.frame
    }
}

/// An event just appended to a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Its event id, as written in its `id` field.
    pub id: String,
    /// Its sequence number in its stream, counting from 0.
    pub seq: u64,
    /// The encoded event, to offer to the stream's live connection.
    pub frame: Bytes,
}

/// The events a resume replays, oldest first, borrowed from the log.
#[derive(Debug, Clone)]
pub struct Replay<'a> {
    stream: StreamNo,
    events: vec_deque::Iter<'a, LoggedEvent>,
}

impl Replay<'_> {
    /// The stream the events are replayed from.
    pub fn stream(&self) -> StreamNo {
        self.stream
    }
}

impl<'a> Iterator for Replay<'a> {
    type Item = &'a LoggedEvent;

    fn next(&mut self) -> Option<Self::Item> {
        self.events.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.events.size_hint()
    }
}

impl ExactSizeIterator for Replay<'_> {}

/// One stream's log.
///
/// Invariant: the logged sequence numbers are contiguous, ending at `next_seq - 1`, so the
/// event after any sequence number is found by subtraction (resume is O(1) here), and the log
/// never holds more than its [`LogLimits`] after an append.
#[derive(Debug)]
struct StreamLog {
    next_seq: u64,
    events: VecDeque<LoggedEvent>,
    bytes: usize,
}

impl StreamLog {
    fn new() -> Self {
        Self {
            next_seq: 0,
            events: VecDeque::new(),
            bytes: 0,
        }
    }

    fn push(&mut self, event: LoggedEvent, limits: LogLimits, ledger: &mut Ledger) {
        ledger.acquire(Resource::Buffer {
            bytes: event.frame.len(),
        });
        self.bytes += event.frame.len();
        self.next_seq = event.seq + 1;
        self.events.push_back(event);
        while self.events.len() > limits.max_events || self.bytes > limits.max_bytes {
            let Some(old) = self.events.pop_front() else {
                break;
            };
            self.bytes -= old.frame.len();
            ledger.release(Resource::Buffer {
                bytes: old.frame.len(),
            });
        }
    }

    /// The events after `seq` (from `seq` itself under [`Fault::InclusiveReplay`]).
    fn after(
        &self,
        stream: StreamNo,
        seq: u64,
        fault: Option<Fault>,
    ) -> Result<vec_deque::Iter<'_, LoggedEvent>, ResumeError> {
        if seq >= self.next_seq {
            // A verified id that was never minted: only a forgery gets here.
            return Err(ResumeError::Forged);
        }
        let first = self.next_seq - self.events.len() as u64;
        let mut start = if fault == Some(Fault::InclusiveReplay) {
            seq
        } else {
            seq + 1
        };
        if start < first {
            if fault != Some(Fault::SilentEviction) {
                return Err(ResumeError::Evicted {
                    stream,
                    first_available: first,
                });
            }
            start = first;
        }
        let skip = usize::try_from(start - first)
            .map_or(self.events.len(), |skip| skip.min(self.events.len()));
        Ok(self.events.range(skip..))
    }

    fn release(self, ledger: &mut Ledger) {
        for event in self.events {
            ledger.release(Resource::Buffer {
                bytes: event.frame.len(),
            });
        }
        ledger.release(Resource::Handle);
    }
}

#[derive(Debug)]
struct Session {
    owner: Owner,
    last_active: Millis,
    streams: BTreeMap<StreamNo, StreamLog>,
    next_stream: u32,
    standalone: Option<StreamNo>,
}

/// A live session beside the store's key and ledger.
struct Live<'a> {
    state: &'a mut Session,
    key: &'a IdKey,
    ledger: &'a mut Ledger,
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Deleted,
    Expired,
    Evicted,
}

/// Every session of one server instance, with the secret key its event ids are tagged with.
///
/// Invariants, each checked by a property in `proptests/`:
/// - a resume returns only events of the asking session and of the id's stream, strictly after
///   the id, in order and without gaps; anything else is a typed refusal, and an id this
///   server did not mint for this session is always refused (`resume_isolation`);
/// - an ended session (deleted, expired or evicted) holds nothing: its streams and logs are
///   released in the ledger, and its id gets `UnknownSession` from then on (`cleanup`);
/// - every event is written by the safe encoder, so untrusted data is exactly one event
///   (`escaping`).
///
/// Sessions are kept in id order and expire in activity order, so operations are O(log n) in
/// the number of sessions and the store's behaviour does not depend on hashing.
#[derive(Debug)]
pub struct SessionStore {
    config: SessionConfig,
    key: IdKey,
    entropy: Source,
    sessions: BTreeMap<SessionId, Session>,
    /// Live sessions by last activity: the first is the next to expire.
    by_activity: BTreeSet<(Millis, SessionId)>,
    ledger: Ledger,
}

impl SessionStore {
    /// A store with a fresh secret key drawn from `entropy`.
    pub fn new(config: SessionConfig, entropy: Entropy) -> Result<Self, EntropyError> {
        let mut source = Source::new(entropy);
        let mut key = [0u8; KEY_BYTES];
        source.fill(&mut key)?;
        Ok(Self {
            config,
            key: IdKey::new(&key),
            entropy: source,
            sessions: BTreeMap::new(),
            by_activity: BTreeSet::new(),
            ledger: Ledger::new(),
        })
    }

    /// The limits the store was created with.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Creates a session at `now`. Expired sessions are ended first; when the store is still
    /// full, [`SessionConfig::at_capacity`] decides.
    pub fn create_session(&mut self, now: Millis) -> Result<SessionId, SessionError> {
        let id = self.entropy.session_id()?;
        if self.sessions.contains_key(&id) {
            return Err(EntropyError::Collision.into());
        }
        self.expire_idle(now);
        if self.sessions.len() >= self.config.max_sessions {
            match (self.config.at_capacity, self.by_activity.first()) {
                (AtCapacity::EvictIdlest, Some(&(_, idlest))) => self.end(&idlest, Ending::Evicted),
                _ => {
                    return Err(SessionError::TooManySessions {
                        limit: self.config.max_sessions,
                    })
                }
            }
        }
        self.ledger.acquire(Resource::Handle);
        self.ledger.acquire(Resource::Timer);
        self.by_activity.insert((now, id));
        self.sessions.insert(
            id,
            Session {
                owner: self.key.owner(&id),
                last_active: now,
                streams: BTreeMap::new(),
                next_stream: 0,
                standalone: None,
            },
        );
        Ok(id)
    }

    /// Opens a stream in `session`: a request's response stream or the standalone GET stream.
    pub fn open_stream(
        &mut self,
        session: &SessionId,
        kind: StreamKind,
        now: Millis,
    ) -> Result<StreamNo, SessionError> {
        let limit = self.config.max_streams;
        let Live { state, ledger, .. } = self.live(session, now)?;
        if state.streams.len() >= limit {
            return Err(SessionError::TooManyStreams { limit });
        }
        if kind == StreamKind::Standalone && state.standalone.is_some() {
            return Err(SessionError::StandaloneStreamOpen);
        }
        let stream = StreamNo(state.next_stream);
        state.next_stream = state
            .next_stream
            .checked_add(1)
            .ok_or(SessionError::TooManyStreams { limit })?;
        if kind == StreamKind::Standalone {
            state.standalone = Some(stream);
        }
        state.streams.insert(stream, StreamLog::new());
        ledger.acquire(Resource::Handle);
        Ok(stream)
    }

    /// Closes a stream: its log is released, and resuming from its ids gets `UnknownStream`.
    pub fn close_stream(
        &mut self,
        session: &SessionId,
        stream: StreamNo,
        now: Millis,
    ) -> Result<(), SessionError> {
        let Live { state, ledger, .. } = self.live(session, now)?;
        let log = state
            .streams
            .remove(&stream)
            .ok_or(SessionError::UnknownStream { stream })?;
        if state.standalone == Some(stream) {
            state.standalone = None;
        }
        log.release(ledger);
        Ok(())
    }

    /// Appends one event carrying `data` (untrusted text) to a stream's log, with a fresh id,
    /// and returns it encoded, for the stream's live connection.
    pub fn append(
        &mut self,
        session: &SessionId,
        stream: StreamNo,
        data: &str,
        now: Millis,
    ) -> Result<Appended, SessionError> {
        let fault = self.config.fault;
        let limits = self.config.log;
        let Live { state, key, ledger } = self.live(session, now)?;
        let log = state
            .streams
            .get_mut(&stream)
            .ok_or(SessionError::UnknownStream { stream })?;
        let seq = log.next_seq;
        let id = key.mint(state.owner, stream, seq);
        let mut frame = BytesMut::with_capacity(data.len() + id.len() + 16);
        if fault == Some(Fault::RawData) {
            for part in ["id: ", &id, "\ndata: ", data, "\n\n"] {
                frame.put_slice(part.as_bytes());
            }
        } else {
            Frame::data(data).id(&id).encode(&mut frame)?;
        }
        let frame = frame.freeze();
        log.push(
            LoggedEvent {
                seq,
                frame: frame.clone(),
            },
            limits,
            ledger,
        );
        Ok(Appended { id, seq, frame })
    }

    /// The events strictly after `last_event_id` on that id's stream, oldest first, or why
    /// there are none. O(log n + k) for n sessions and k events replayed.
    pub fn resume(
        &mut self,
        session: &SessionId,
        last_event_id: &str,
        now: Millis,
    ) -> Result<Replay<'_>, ResumeError> {
        let fault = self.config.fault;
        if !self.touch(session, now) {
            return Err(ResumeError::UnknownSession);
        }
        let id = self
            .key
            .verify(last_event_id, fault != Some(Fault::UncheckedTag))
            .map_err(|error| match error {
                IdError::Malformed => ResumeError::Malformed,
                IdError::Forged => ResumeError::Forged,
            })?;
        let asking = self
            .sessions
            .get(session)
            .ok_or(ResumeError::UnknownSession)?;
        let owner = if id.owner == asking.owner {
            asking
        } else if fault == Some(Fault::ResumeIgnoresSession) {
            // The bug: the session named inside the id is trusted over the one that asks.
            self.sessions
                .values()
                .find(|other| other.owner == id.owner)
                .ok_or(ResumeError::ForeignSession)?
        } else {
            return Err(ResumeError::ForeignSession);
        };
        let log = owner
            .streams
            .get(&id.stream)
            .ok_or(ResumeError::UnknownStream { stream: id.stream })?;
        if fault == Some(Fault::ResumeUsesLatestStream) {
            // The bug: the events after the id's sequence number, but from the latest stream.
            if let Some((&latest, log)) = owner.streams.last_key_value() {
                let first_available = log.next_seq - log.events.len() as u64;
                if id.seq.saturating_add(1) < first_available {
                    return Err(ResumeError::Evicted {
                        stream: latest,
                        first_available,
                    });
                }
                let skip = log.events.partition_point(|event| event.seq <= id.seq);
                return Ok(Replay {
                    stream: latest,
                    events: log.events.range(skip..),
                });
            }
        }
        let events = log.after(id.stream, id.seq, fault)?;
        Ok(Replay {
            stream: id.stream,
            events,
        })
    }

    /// Ends a session (DELETE): its streams and logs are released, its id is unknown from now.
    pub fn end_session(&mut self, session: &SessionId, now: Millis) -> Result<(), SessionError> {
        if !self.touch(session, now) {
            return Err(SessionError::UnknownSession);
        }
        self.end(session, Ending::Deleted);
        Ok(())
    }

    /// Ends every session idle for the idle timeout at `now`, as its expiry timer would;
    /// returns how many ended.
    pub fn expire_idle(&mut self, now: Millis) -> usize {
        let mut ended = 0;
        while let Some(&(last_active, id)) = self.by_activity.first() {
            if now < last_active.after(self.config.idle_timeout) {
                break;
            }
            self.by_activity.pop_first();
            self.end(&id, Ending::Expired);
            ended += 1;
        }
        ended
    }

    /// Sessions held, idle ones whose expiry has not run yet included.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Live streams over all sessions.
    pub fn stream_count(&self) -> usize {
        self.sessions.values().map(|s| s.streams.len()).sum()
    }

    /// Logged events over all streams.
    pub fn logged_events(&self) -> usize {
        self.sessions
            .values()
            .flat_map(|s| s.streams.values())
            .map(|log| log.events.len())
            .sum()
    }

    /// What the sessions hold: a handle and an expiry timer per session, a handle per stream,
    /// a buffer per logged event.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The live session, touched at `now`, beside the key and the ledger (borrowed apart).
    fn live(&mut self, session: &SessionId, now: Millis) -> Result<Live<'_>, SessionError> {
        if !self.touch(session, now) {
            return Err(SessionError::UnknownSession);
        }
        let state = self
            .sessions
            .get_mut(session)
            .ok_or(SessionError::UnknownSession)?;
        Ok(Live {
            state,
            key: &self.key,
            ledger: &mut self.ledger,
        })
    }

    /// The instant at which `session` expires unless it is used before (it may already have
    /// passed: the session then ends at the next call that reaches it), or `None` if it is not
    /// live. Reads only: nothing is touched or ended.
    pub fn expires_at(&self, session: &SessionId) -> Option<Millis> {
        self.sessions
            .get(session)
            .map(|state| state.last_active.after(self.config.idle_timeout))
    }

    /// Marks a live session active at `now` and says whether it is live; an idle one is ended.
    pub fn touch(&mut self, session: &SessionId, now: Millis) -> bool {
        let Some(state) = self.sessions.get_mut(session) else {
            return false;
        };
        let last_active = state.last_active;
        if now >= last_active.after(self.config.idle_timeout) {
            self.end(session, Ending::Expired);
            return false;
        }
        let now = now.max(last_active);
        state.last_active = now;
        self.by_activity.remove(&(last_active, *session));
        self.by_activity.insert((now, *session));
        true
    }

    fn end(&mut self, session: &SessionId, how: Ending) {
        let Some(state) = self.sessions.remove(session) else {
            return;
        };
        self.by_activity.remove(&(state.last_active, *session));
        if how == Ending::Expired && self.config.fault == Some(Fault::LeakOnExpiry) {
            // The bug: the session is forgotten but what it held is never released.
            return;
        }
        for log in state.streams.into_values() {
            log.release(&mut self.ledger);
        }
        self.ledger.release(Resource::Handle);
        self.ledger.release(Resource::Timer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_session_ids_are_long_visible_ascii_and_distinct() {
        let mut store = SessionStore::new(SessionConfig::default(), Entropy::Os).expect("OS");
        let mut seen = BTreeSet::new();
        for _ in 0..64 {
            let id = store.create_session(Millis::ZERO).expect("under the cap");
            let text = id.to_string();
            assert_eq!(text.len(), SessionId::TEXT_LEN);
            assert!(text.bytes().all(|b| (0x21..=0x7e).contains(&b)));
            assert_eq!(SessionId::parse(&text), Some(id));
            assert!(seen.insert(text));
        }
    }

    #[test]
    fn two_os_stores_have_different_keys() {
        let mut ids = Vec::new();
        for _ in 0..2 {
            let mut store = SessionStore::new(SessionConfig::default(), Entropy::Os).expect("OS");
            let session = store.create_session(Millis::ZERO).expect("empty");
            let stream = store
                .open_stream(&session, StreamKind::Request, Millis::ZERO)
                .expect("new");
            ids.push(
                store
                    .append(&session, stream, "x", Millis::ZERO)
                    .expect("live")
                    .id,
            );
        }
        assert_ne!(ids[0], ids[1]);
    }
}
