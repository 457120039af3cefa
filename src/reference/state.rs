//! The server's state under one lock: the session store, each session's streams, connections
//! and tool state, and every transition between them.
//!
//! Words used here:
//! - a **stream** is a stream of the session store (a request's response stream, or the
//!   session's standalone stream): it has a resumption log and outlives connections;
//! - a **connection** ([`Pipe`]) is one response body reading one stream through a
//!   [`BoundedStream`];
//! - a **route** is the server's side of a stream: which connection is attached to it, the
//!   frames waiting for room in that connection, and the producers waiting for those frames.
//!
//! The server-level bugs that live here ([`Bug`]) each change one transition, and keep what
//! they hold beyond a session in [`BugState`], which is empty while no bug is on.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::task::{Poll, Waker};

use bytes::{Bytes, BytesMut};
use tokio::sync::{oneshot, watch};

use super::bug::{sent_frame, stateless_frame, Bug, BugState};
use super::cache::Lru;
use super::config::ServerConfig;
use super::refusal::Refusal;
use super::snapshot::Snapshot;
use super::version::ProtocolVersion;
use crate::model::{
    BoundedStream, EndReason, EntropyError, Fault, Ledger, Millis, Offer, OfferError, Read,
    SessionError, SessionId, SessionStore, StreamConfig, StreamKind, StreamNo,
};
use crate::sse::Frame;

/// The smallest and largest read a body makes at once.
const MIN_READ: usize = 256;
const MAX_READ: usize = 16 << 10;

/// The end of time (585 million years on): a timer waiting for it in effect waits for its end
/// signal only.
const NEVER: Millis = Millis(u64::MAX);

/// A connection's number, never reused within a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct PipeId(u64);

/// Where a producer sends an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Destination {
    /// A request's response stream.
    Stream(StreamNo),
    /// The session's standalone stream; an event is dropped while the session has none.
    Standalone,
}

/// The session or stream a producer writes to has ended: the producer stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the session or stream has ended")]
pub(crate) struct Gone;

/// A new connection, for the caller to start its timer task with.
#[derive(Debug)]
pub(crate) struct Connected {
    pub pipe: PipeId,
    /// When the connection's deadlines first need applying (`None` once closed).
    pub first_deadline: Option<Millis>,
    /// Resolves (with an error) when the connection closes: the timer task's cue to end.
    pub closed: oneshot::Receiver<()>,
}

/// One session's part of the server, released whole when the session ends.
#[derive(Debug)]
pub(crate) struct Session {
    pub version: ProtocolVersion,
    /// `subscribe` topics: bounded by the tool limits, dropped with the session.
    pub listeners: BTreeSet<String>,
    /// `monitor` tools running.
    pub monitors: usize,
    pub cache: Lru,
    /// One per stream of the store in this session.
    routes: BTreeMap<StreamNo, Route>,
    standalone: Option<StreamNo>,
    /// Every connection of the session that the server still tracks.
    pipes: BTreeSet<PipeId>,
    /// Never sent on: dropped with the session, which wakes and ends every task of the session.
    ended: watch::Sender<()>,
    /// A stateless request's `logLevel` (an index into the levels), if it set one.
    pub log_level: Option<usize>,
    /// What a stateless `subscriptions/listen` listens for, once acknowledged.
    pub listening: Option<Listening>,
}

/// A `subscriptions/listen` that the server acknowledged: its stream, its subscription id
/// (the request's JSON-RPC id) and the notification types it honours.
#[derive(Debug)]
pub(crate) struct Listening {
    pub stream: StreamNo,
    pub subscription: serde_json::Value,
    /// `notifications/resources/list_changed`.
    pub resources_list_changed: bool,
    /// The resource URIs whose `notifications/resources/updated` it gets.
    pub uris: Vec<String>,
}

/// A server-wide change that listeners may have opted in to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change<'a> {
    /// The resource list changed (a `subscribe` topic was added).
    ResourceList,
    /// The resource of this URI was updated (a `fetch_cached` miss).
    Resource(&'a str),
}

/// The server's side of one stream.
///
/// Invariants: `backlog` is empty while no connection is attached; a producer appends only
/// while `backlog` is empty, so the backlog holds at most a resume's replay and the priming
/// frames plus one frame refused at the high-water mark, and events reach the connection in
/// log order.
#[derive(Debug)]
struct Route {
    kind: StreamKind,
    /// The connection taking this stream's events.
    pipe: Option<PipeId>,
    /// Frames (already logged) waiting for room in the connection, oldest first.
    backlog: VecDeque<Bytes>,
    /// Producers waiting for the backlog to drain.
    writers: Vec<Waker>,
    /// The request has sent its response: no more events will come.
    done: bool,
}

impl Route {
    fn new(kind: StreamKind) -> Self {
        Self {
            kind,
            pipe: None,
            backlog: VecDeque::new(),
            writers: Vec::new(),
            done: false,
        }
    }

    fn wait(&mut self, waker: &Waker) {
        if !self.writers.iter().any(|writer| writer.will_wake(waker)) {
            self.writers.push(waker.clone());
        }
    }

    fn wake_writers(&mut self) {
        for writer in self.writers.drain(..) {
            writer.wake();
        }
    }

    /// A finished request whose client went away: kept only so that it can be resumed.
    fn is_retained(&self) -> bool {
        self.kind == StreamKind::Request && self.done && self.pipe.is_none()
    }
}

/// One connection.
#[derive(Debug)]
struct Pipe {
    session: SessionId,
    stream: StreamNo,
    bounded: BoundedStream,
    /// The body waiting for bytes.
    reader: Option<Waker>,
    /// Dropped when the bounded stream closes, which ends the timer task.
    closed: Option<oneshot::Sender<()>>,
    /// [`Bug::NoCancelCleanup`]: the body was dropped, but the connection is kept as it was,
    /// without deadlines, until its session ends.
    abandoned: bool,
}

impl Pipe {
    fn wake_reader(&mut self) {
        if let Some(reader) = self.reader.take() {
            reader.wake();
        }
    }
}

/// Everything the server holds.
///
/// Invariants: `sessions` holds exactly the store's live sessions once any method returns
/// (sessions the store ended are released by `reconcile`); each session's routes are exactly
/// its streams in the store; each pipe is in its session's `pipes`; a retained stream count
/// per session never exceeds `retained_streams` once a method returns; `bugs.deleted` and the
/// sessions `bugs.aliases` name are in `sessions`.
#[derive(Debug)]
pub(crate) struct State {
    store: SessionStore,
    /// What the connections' bounded streams hold.
    ledger: Ledger,
    sessions: BTreeMap<SessionId, Session>,
    pipes: BTreeMap<PipeId, Pipe>,
    next_pipe: u64,
    stream_config: StreamConfig,
    retained_streams: usize,
    cache_capacity: usize,
    /// The encoded `retry` field that 2025-11-25 streams start with.
    retry_frame: Bytes,
    bug: Option<Bug>,
    /// What the bugs keep: empty while `bug` is `None`.
    pub bugs: BugState,
    /// The stateless request stream opened last (read only under
    /// [`Bug::SharedResponseStream`]).
    latest_stateless: Option<(SessionId, StreamNo)>,
}

impl State {
    pub(crate) fn new(config: &ServerConfig) -> Result<Self, EntropyError> {
        let mut retry_frame = BytesMut::new();
        Frame {
            retry: Some(config.retry.0),
            ..Frame::default()
        }
        .encode(&mut retry_frame)
        .expect("a frame with only a retry field has no text to refuse");
        Ok(Self {
            store: SessionStore::new(config.session, config.entropy)?,
            ledger: Ledger::new(),
            sessions: BTreeMap::new(),
            pipes: BTreeMap::new(),
            next_pipe: 0,
            stream_config: config.stream,
            retained_streams: config.retained_streams,
            cache_capacity: config.tools.cache_capacity,
            retry_frame: retry_frame.freeze(),
            bug: config.bug,
            bugs: BugState::default(),
            latest_stateless: None,
        })
    }

    // Sessions.

    /// Creates a session speaking `version`; returns its id and its end signal (for its
    /// tasks).
    pub(crate) fn create_session(
        &mut self,
        version: ProtocolVersion,
        now: Millis,
    ) -> Result<(SessionId, watch::Receiver<()>), SessionError> {
        let created = self.store.create_session(now);
        // Creating may have ended expired sessions, or evicted the idlest.
        self.reconcile();
        let id = created?;
        let (ended, signal) = watch::channel(());
        self.sessions.insert(
            id,
            Session {
                version,
                listeners: BTreeSet::new(),
                monitors: 0,
                cache: Lru::new(self.cache_capacity),
                routes: BTreeMap::new(),
                standalone: None,
                pipes: BTreeSet::new(),
                ended,
                log_level: None,
                listening: None,
            },
        );
        Ok((id, signal))
    }

    /// The id clients know the new session `id` by: `id` itself, or under
    /// [`Bug::GuessableSessionIds`] the next value of a counter, written as a session id.
    pub(crate) fn public_id(&mut self, id: &SessionId) -> SessionId {
        if self.bug != Some(Bug::GuessableSessionIds) {
            return *id;
        }
        self.bugs.last_alias += 1;
        let counter = format!(
            "{:0width$x}",
            self.bugs.last_alias,
            width = SessionId::TEXT_LEN
        );
        let public = SessionId::parse(&counter).expect("a counter in 48 lowercase hex digits");
        self.bugs.aliases.insert(public, *id);
        public
    }

    /// The session a client's id names (live or not): the same id, or under
    /// [`Bug::GuessableSessionIds`] the session it was given to (`None` if none was).
    pub(crate) fn resolve(&self, named: SessionId) -> Option<SessionId> {
        if self.bug == Some(Bug::GuessableSessionIds) {
            self.bugs.aliases.get(&named).copied()
        } else {
            Some(named)
        }
    }

    /// The live session `id`, marked active at `now`; `None` if it never existed or has ended
    /// (a session idle past its timeout ends here), or was deleted under
    /// [`Bug::StateAfterDelete`].
    pub(crate) fn touch(&mut self, id: &SessionId, now: Millis) -> Option<&mut Session> {
        if self.bugs.deleted.contains(id) {
            return None;
        }
        if !self.store.touch(id, now) {
            self.reconcile();
            return None;
        }
        self.sessions.get_mut(id)
    }

    /// The live session `id`, untouched.
    pub(crate) fn session(&mut self, id: &SessionId) -> Option<&mut Session> {
        self.sessions.get_mut(id)
    }

    /// The live session `id`, untouched, beside what the bugs keep (borrowed apart).
    pub(crate) fn session_and_bugs(
        &mut self,
        id: &SessionId,
    ) -> Option<(&mut Session, &mut BugState)> {
        let session = self.sessions.get_mut(id)?;
        Some((session, &mut self.bugs))
    }

    /// A `monitor` of session `id` has sent its last event: it is no longer counted (in its
    /// session, or among those that outlived theirs under [`Bug::IntervalLeak`]).
    pub(crate) fn end_monitor(&mut self, id: &SessionId) {
        match self.sessions.get_mut(id) {
            Some(session) => session.monitors = session.monitors.saturating_sub(1),
            None => self.bugs.monitors = self.bugs.monitors.saturating_sub(1),
        }
    }

    /// The signal that resolves when session `id` ends.
    pub(crate) fn ended_signal(&self, id: &SessionId) -> Option<watch::Receiver<()>> {
        self.sessions
            .get(id)
            .map(|session| session.ended.subscribe())
    }

    pub(crate) fn expires_at(&self, id: &SessionId) -> Option<Millis> {
        self.store.expires_at(id)
    }

    /// Ends every session idle at `now`.
    pub(crate) fn expire_idle(&mut self, now: Millis) {
        self.store.expire_idle(now);
        self.reconcile();
    }

    /// Ends session `id` (DELETE); false if it was not live.
    pub(crate) fn end_session(&mut self, id: &SessionId, now: Millis) -> bool {
        let ended = self.store.end_session(id, now).is_ok();
        self.reconcile();
        ended
    }

    /// [`Bug::StateAfterDelete`]'s DELETE: the live session `id` is forgotten by [`touch`]
    /// (its id gets 404 from now) but kept whole; returns its end signal, for the task that
    /// keeps it from idling out with [`keep_hidden`]. It ends with [`end_all`].
    ///
    /// [`touch`]: State::touch
    /// [`keep_hidden`]: State::keep_hidden
    /// [`end_all`]: State::end_all
    pub(crate) fn hide_session(&mut self, id: &SessionId) -> Option<watch::Receiver<()>> {
        let ended = self.ended_signal(id)?;
        self.bugs.deleted.insert(*id);
        Some(ended)
    }

    /// Marks the session `id` that [`State::hide_session`] hid active at `now`; false once
    /// it has ended.
    pub(crate) fn keep_hidden(&mut self, id: &SessionId, now: Millis) -> bool {
        let live = self.store.touch(id, now);
        self.reconcile();
        live
    }

    /// Ends every session (those [`Bug::StateAfterDelete`] hid included).
    pub(crate) fn end_all(&mut self, now: Millis) {
        let ids: Vec<SessionId> = self.sessions.keys().copied().collect();
        for id in &ids {
            // A session that expired meanwhile is ended by the store all the same.
            let _ = self.store.end_session(id, now);
        }
        self.reconcile();
    }

    /// Releases the server's part of every session the store has ended (deleted, expired or
    /// evicted): its connections are aborted (the writer went away), and dropping the session
    /// drops its end signal, which ends its tasks (except the monitors that
    /// [`Bug::IntervalLeak`] keeps running: they stay counted).
    fn reconcile(&mut self) {
        if self.store.session_count() == self.sessions.len() {
            return;
        }
        let ended: Vec<SessionId> = self
            .sessions
            .keys()
            .filter(|id| self.store.expires_at(id).is_none())
            .copied()
            .collect();
        for id in ended {
            let Some(mut session) = self.sessions.remove(&id) else {
                continue;
            };
            self.bugs.deleted.remove(&id);
            self.bugs.wedged.remove(&id);
            if self.bug == Some(Bug::IntervalLeak) {
                self.bugs.monitors += session.monitors;
            }
            for pipe in &session.pipes {
                if let Some(mut pipe) = self.pipes.remove(pipe) {
                    pipe.bounded.abort(&mut self.ledger);
                    pipe.wake_reader();
                }
            }
            for route in session.routes.values_mut() {
                route.wake_writers();
            }
        }
        let sessions = &self.sessions;
        self.bugs.aliases.retain(|_, id| sessions.contains_key(id));
    }

    /// [`Bug::StuckAfterAbortedUpload`]: leaves the call lock of live session `id` taken.
    pub(crate) fn wedge(&mut self, id: &SessionId) {
        if self.sessions.contains_key(id) {
            self.bugs.wedged.insert(*id);
        }
    }

    /// [`Bug::StuckAfterAbortedUpload`]: whether a failed upload left the call lock of
    /// session `id` taken.
    pub(crate) fn wedged(&self, id: &SessionId) -> bool {
        self.bugs.wedged.contains(id)
    }

    // Streams.

    /// Opens a request's response stream, closing the session's oldest retained stream first
    /// if it is at its stream limit.
    pub(crate) fn open_request_stream(
        &mut self,
        id: &SessionId,
        now: Millis,
    ) -> Result<StreamNo, SessionError> {
        self.make_room(id, now);
        let stream = self.open_stream(id, StreamKind::Request, now)?;
        if self.is_stateless(id) {
            self.latest_stateless = Some((*id, stream));
        }
        Ok(stream)
    }

    /// Whether `id` is the session of one stateless (2026-07-28) request.
    pub(crate) fn is_stateless(&self, id: &SessionId) -> bool {
        self.sessions
            .get(id)
            .is_some_and(|session| session.version.is_stateless())
    }

    /// Ends the session of a stateless request whose response stream went (closed, dropped
    /// or read to its end): the request is cancelled, its tasks end with the session. Under
    /// [`Bug::NoCancelOnClose`] the request runs on; its session ends when it finishes.
    fn cancel_stateless(&mut self, id: &SessionId, now: Millis) {
        if !self.is_stateless(id) {
            return;
        }
        if self.bug == Some(Bug::NoCancelOnClose) {
            let finished = self
                .sessions
                .get(id)
                .is_some_and(|session| session.routes.values().all(|route| route.done));
            if !finished {
                return;
            }
        }
        self.end_session(id, now);
    }

    /// Offers `change` to every listener that opted in to it, tagged with its subscription
    /// id; a listener with no room for it (a slow reader) misses it rather than hold up
    /// the request that made the change. Under [`Bug::ListenIgnoresFilter`] every listener
    /// gets every change.
    pub(crate) fn broadcast(&mut self, change: Change<'_>, now: Millis) {
        let everything = self.bug == Some(Bug::ListenIgnoresFilter);
        let listeners: Vec<(SessionId, StreamNo, String)> = self
            .sessions
            .iter()
            .filter_map(|(id, session)| {
                let listening = session.listening.as_ref()?;
                let wanted = everything
                    || match change {
                        Change::ResourceList => listening.resources_list_changed,
                        Change::Resource(uri) => listening.uris.iter().any(|u| u == uri),
                    };
                wanted.then(|| {
                    (
                        *id,
                        listening.stream,
                        notice(change, &listening.subscription),
                    )
                })
            })
            .collect();
        for (id, stream, data) in listeners {
            let _ = self.emit(&id, Destination::Stream(stream), &data, now, Waker::noop());
        }
    }

    /// The session's standalone stream (opened on first use), for a new connection; refused
    /// while it has a live connection.
    pub(crate) fn standalone_stream(
        &mut self,
        id: &SessionId,
        now: Millis,
    ) -> Result<StreamNo, SessionError> {
        let session = self.sessions.get(id).ok_or(SessionError::UnknownSession)?;
        match session.standalone {
            Some(stream) => match session.routes.get(&stream) {
                Some(route) if route.pipe.is_some() => Err(SessionError::StandaloneStreamOpen),
                _ => Ok(stream),
            },
            None => {
                self.make_room(id, now);
                self.open_stream(id, StreamKind::Standalone, now)
            }
        }
    }

    /// The logged frames strictly after `last_event_id`, and their stream, for a new
    /// connection; refused as the model refuses, or while that stream has a live connection.
    pub(crate) fn resume(
        &mut self,
        id: &SessionId,
        last_event_id: &str,
        now: Millis,
    ) -> Result<(StreamNo, Vec<Bytes>), Refusal> {
        let replay = self.store.resume(id, last_event_id, now).map(|replay| {
            let stream = replay.stream();
            (stream, replay.map(|event| event.frame().clone()).collect())
        });
        let (stream, frames) = match replay {
            Ok(replay) => replay,
            Err(error) => {
                self.reconcile();
                return Err(error.into());
            }
        };
        match self.route(id, stream) {
            // The fault's replay comes from another session's stream: served as it is.
            None if self.stream_config.fault == Some(Fault::ResumeIgnoresSession) => {
                Ok((stream, frames))
            }
            None => Err(Refusal::StreamEnded),
            Some(route) if route.pipe.is_some() => Err(Refusal::StreamConnected),
            Some(_) => Ok((stream, frames)),
        }
    }

    /// Attaches a new connection to `stream`: `replay` first, then (from 2025-11-25) a
    /// priming event (a fresh id, empty data) and the `retry` field, then what producers send.
    pub(crate) fn connect(
        &mut self,
        id: &SessionId,
        stream: StreamNo,
        replay: Vec<Bytes>,
        now: Millis,
    ) -> Result<Connected, Refusal> {
        let pipe = PipeId(self.next_pipe);
        let session = self.sessions.get_mut(id).ok_or(Refusal::SessionUnknown)?;
        let route = session
            .routes
            .get_mut(&stream)
            .ok_or(Refusal::StreamEnded)?;
        if route.pipe.is_some() {
            return Err(Refusal::StreamConnected);
        }
        self.next_pipe += 1;
        route.pipe = Some(pipe);
        route.backlog = replay.into();
        session.pipes.insert(pipe);
        if session.version.primes_streams() {
            if let Ok(priming) = self.store.append(id, stream, "", now) {
                route.backlog.push_back(sent_frame(self.bug, priming, ""));
            }
            route.backlog.push_back(self.retry_frame.clone());
        }
        let (closed, closed_signal) = oneshot::channel();
        self.pipes.insert(
            pipe,
            Pipe {
                session: *id,
                stream,
                bounded: BoundedStream::open(self.stream_config, &mut self.ledger, now),
                reader: None,
                closed: Some(closed),
                abandoned: false,
            },
        );
        self.flush(id, stream, now);
        let first_deadline = self
            .pipes
            .get(&pipe)
            .and_then(|pipe| pipe.bounded.next_deadline());
        Ok(Connected {
            pipe,
            first_deadline,
            closed: closed_signal,
        })
    }

    /// The request on `stream` has sent its response: its connection finishes once the
    /// backlog is delivered; without a connection the stream is retained for resumption.
    pub(crate) fn finish_request(&mut self, id: &SessionId, stream: StreamNo, now: Millis) {
        let Some(route) = self.route_mut(id, stream) else {
            return;
        };
        route.done = true;
        if route.pipe.is_some() {
            self.flush(id, stream, now);
        } else {
            self.enforce_retention(id, now);
            self.cancel_stateless(id, now);
        }
    }

    /// [`Bug::SharedResponseStream`]: where a stateless session's message goes instead of
    /// its own stream: the stateless request stream opened last, while it is open.
    fn shared_stream(&self, id: &SessionId) -> Option<(SessionId, StreamNo)> {
        if self.bug != Some(Bug::SharedResponseStream) || !self.is_stateless(id) {
            return None;
        }
        let (latest, stream) = self.latest_stateless?;
        (latest != *id && self.route(&latest, stream)?.pipe.is_some()).then_some((latest, stream))
    }

    // Producers.

    /// A producer's event carrying `data` (untrusted text, encoded by the model's safe
    /// encoder): appended to the stream's log with a fresh id and offered to its connection.
    /// While earlier frames still wait for room, the producer waits (`Pending`, woken when the
    /// backlog drains), so at most one frame waits beyond the high-water mark.
    pub(crate) fn emit(
        &mut self,
        id: &SessionId,
        target: Destination,
        data: &str,
        now: Millis,
        waker: &Waker,
    ) -> Poll<Result<(), Gone>> {
        let (id, target) = match self.shared_stream(id) {
            Some((other, stream)) => (other, Destination::Stream(stream)),
            None => (*id, target),
        };
        let id = &id;
        let Some(session) = self.sessions.get_mut(id) else {
            return Poll::Ready(Err(Gone));
        };
        let stateless = session.version.is_stateless();
        let stream = match (target, session.standalone) {
            (Destination::Stream(stream), _) | (Destination::Standalone, Some(stream)) => stream,
            (Destination::Standalone, None) => return Poll::Ready(Ok(())),
        };
        let Some(route) = session.routes.get_mut(&stream) else {
            return Poll::Ready(Err(Gone));
        };
        if !route.backlog.is_empty() {
            route.wait(waker);
            return Poll::Pending;
        }
        if stateless {
            // No log and no ids: a stateless stream cannot be resumed.
            if route.pipe.is_some() {
                route.backlog.push_back(stateless_frame(self.bug, data));
                self.flush(id, stream, now);
            }
            return Poll::Ready(Ok(()));
        }
        let appended = match self.store.append(id, stream, data, now) {
            Ok(appended) => appended,
            Err(_) => {
                self.reconcile();
                return Poll::Ready(Err(Gone));
            }
        };
        if route.pipe.is_some() {
            route
                .backlog
                .push_back(sent_frame(self.bug, appended, data));
            self.flush(id, stream, now);
        }
        Poll::Ready(Ok(()))
    }

    // Connections.

    /// Reads for the body of `pipe`: bytes, `Pending` (the waker is kept), or `None` at the
    /// end, when the connection is forgotten.
    pub(crate) fn read(&mut self, pipe: PipeId, now: Millis, waker: &Waker) -> Poll<Option<Bytes>> {
        let Some(connection) = self.pipes.get_mut(&pipe) else {
            return Poll::Ready(None);
        };
        // The reader is polling now: nothing below needs to wake it.
        connection.reader = None;
        let (id, stream) = (connection.session, connection.stream);
        self.flush_attached(&id, stream, pipe, now);
        let Some(connection) = self.pipes.get_mut(&pipe) else {
            return Poll::Ready(None);
        };
        let size = connection.bounded.held_bytes().clamp(MIN_READ, MAX_READ);
        let mut buffer = BytesMut::zeroed(size);
        match connection.bounded.read(&mut self.ledger, now, &mut buffer) {
            Read::Data(read) => {
                buffer.truncate(read);
                // The read made room: frames waiting for it move in.
                self.flush_attached(&id, stream, pipe, now);
                self.settle(pipe, now);
                Poll::Ready(Some(buffer.freeze()))
            }
            Read::Pending => {
                connection.reader = Some(waker.clone());
                self.settle(pipe, now);
                Poll::Pending
            }
            Read::End(_) => {
                self.forget(pipe, now);
                Poll::Ready(None)
            }
        }
    }

    /// Applies the deadlines of `pipe` at `now`, as its timer fires; returns the next deadline
    /// (`None` once the connection is closed or forgotten, [`NEVER`] once it is abandoned).
    pub(crate) fn tick(&mut self, pipe: PipeId, now: Millis) -> Option<Millis> {
        let connection = self.pipes.get_mut(&pipe)?;
        if connection.abandoned {
            return Some(NEVER);
        }
        let was_closed = connection.bounded.is_closed();
        connection.bounded.tick(&mut self.ledger, now);
        if !was_closed && connection.bounded.is_closed() {
            connection.wake_reader();
        }
        let next = connection.bounded.next_deadline();
        self.settle(pipe, now);
        next
    }

    /// The body of `pipe` is gone (dropped, or read to the end): a stream still open is
    /// cancelled (the reader went away), and the connection is forgotten. The request itself
    /// goes on: its events keep going to the log, for resumption.
    pub(crate) fn forget(&mut self, pipe: PipeId, now: Millis) {
        let Some(connection) = self.pipes.get_mut(&pipe) else {
            return;
        };
        connection.bounded.cancel(&mut self.ledger);
        let id = connection.session;
        self.settle(pipe, now);
        self.pipes.remove(&pipe);
        if let Some(session) = self.sessions.get_mut(&id) {
            session.pipes.remove(&pipe);
        }
        self.cancel_stateless(&id, now);
    }

    /// [`Bug::NoCancelCleanup`]'s answer to a dropped body: the connection of `pipe` is kept
    /// as it is, still attached to its stream (producers fill it to the high-water mark, then
    /// wait), its deadlines no longer applied (its timer waits for the connection to go);
    /// it goes only when its session ends.
    pub(crate) fn abandon(&mut self, pipe: PipeId) {
        if let Some(connection) = self.pipes.get_mut(&pipe) {
            connection.abandoned = true;
            connection.reader = None;
        }
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let stateless_requests = self
            .sessions
            .values()
            .filter(|session| session.version.is_stateless())
            .count();
        let mut snapshot = Snapshot {
            sessions: self.sessions.len() - stateless_requests,
            stateless_requests,
            streams: self.store.stream_count(),
            logged_events: self.store.logged_events(),
            connections: self.pipes.len(),
            session_ledger: self.store.ledger().into(),
            stream_ledger: (&self.ledger).into(),
            ..Snapshot::default()
        };
        for pipe in self.pipes.values() {
            let held = pipe.bounded.held_bytes();
            snapshot.open_connections += usize::from(!pipe.bounded.is_closed());
            snapshot.held_bytes += held;
            snapshot.max_held_bytes = snapshot.max_held_bytes.max(held);
        }
        snapshot.listeners = self.bugs.listeners.len();
        snapshot.monitors = self.bugs.monitors;
        snapshot.cache_entries = self.bugs.cache.len();
        for session in self.sessions.values() {
            snapshot.listeners += session.listeners.len();
            snapshot.monitors += session.monitors;
            snapshot.cache_entries += session.cache.len();
            snapshot.backlog_frames += session
                .routes
                .values()
                .map(|route| route.backlog.len())
                .sum::<usize>();
        }
        snapshot
    }

    // Internals.

    /// Whether `stream` is a stream of session `id`.
    pub(crate) fn has_stream(&self, id: &SessionId, stream: StreamNo) -> bool {
        self.route(id, stream).is_some()
    }

    fn route(&self, id: &SessionId, stream: StreamNo) -> Option<&Route> {
        self.sessions.get(id)?.routes.get(&stream)
    }

    fn route_mut(&mut self, id: &SessionId, stream: StreamNo) -> Option<&mut Route> {
        self.sessions.get_mut(id)?.routes.get_mut(&stream)
    }

    fn open_stream(
        &mut self,
        id: &SessionId,
        kind: StreamKind,
        now: Millis,
    ) -> Result<StreamNo, SessionError> {
        let opened = self.store.open_stream(id, kind, now);
        self.reconcile();
        let stream = opened?;
        let session = self
            .sessions
            .get_mut(id)
            .ok_or(SessionError::UnknownSession)?;
        session.routes.insert(stream, Route::new(kind));
        if kind == StreamKind::Standalone {
            session.standalone = Some(stream);
        }
        Ok(stream)
    }

    /// Closes the oldest retained stream if the session is at its stream limit.
    fn make_room(&mut self, id: &SessionId, now: Millis) {
        let limit = self.store.config().max_streams;
        let Some(session) = self.sessions.get(id) else {
            return;
        };
        if session.routes.len() < limit {
            return;
        }
        let oldest = session
            .routes
            .iter()
            .find(|(_, route)| route.is_retained())
            .map(|(&stream, _)| stream);
        if let Some(stream) = oldest {
            self.close_stream(id, stream, now);
        }
    }

    /// Closes the oldest retained streams beyond the retention limit.
    fn enforce_retention(&mut self, id: &SessionId, now: Millis) {
        loop {
            let Some(session) = self.sessions.get(id) else {
                return;
            };
            let mut retained = session
                .routes
                .iter()
                .filter(|(_, route)| route.is_retained())
                .map(|(&stream, _)| stream);
            let Some(oldest) = retained.next() else {
                return;
            };
            // `oldest` and the rest: within the limit while the rest are fewer than it.
            if retained.count() < self.retained_streams {
                return;
            }
            self.close_stream(id, oldest, now);
        }
    }

    /// Closes a stream in the store and forgets its route (its log is released).
    fn close_stream(&mut self, id: &SessionId, stream: StreamNo, now: Millis) {
        if let Some(session) = self.sessions.get_mut(id) {
            session.routes.remove(&stream);
            if session.standalone == Some(stream) {
                session.standalone = None;
            }
        }
        let _ = self.store.close_stream(id, stream, now);
        self.reconcile();
    }

    /// Flushes `stream` if `pipe` is the connection attached to it.
    fn flush_attached(&mut self, id: &SessionId, stream: StreamNo, pipe: PipeId, now: Millis) {
        if self.route(id, stream).and_then(|route| route.pipe) == Some(pipe) {
            self.flush(id, stream, now);
        }
    }

    /// Moves the route's backlog into its connection while there is room, finishes the
    /// connection once a done route's backlog is empty, and settles the connection.
    fn flush(&mut self, id: &SessionId, stream: StreamNo, now: Millis) {
        let Some(route) = self
            .sessions
            .get_mut(id)
            .and_then(|session| session.routes.get_mut(&stream))
        else {
            return;
        };
        let Some(connection) = route.pipe.and_then(|pipe| self.pipes.get_mut(&pipe)) else {
            route.pipe = None;
            route.backlog.clear();
            route.wake_writers();
            return;
        };
        let was_ended = connection.bounded.end_reason().is_some();
        let mut delivered = false;
        while let Some(frame) = route.backlog.front() {
            match connection
                .bounded
                .offer(&mut self.ledger, now, frame.clone())
            {
                Ok(Offer::Accepted) => {
                    route.backlog.pop_front();
                    delivered = true;
                }
                Ok(Offer::Backpressure | Offer::CapReached) | Err(OfferError::Ended { .. }) => {
                    break
                }
                Err(OfferError::ChunkTooLarge { .. }) => {
                    // A validated configuration sends no such event; should one come, the
                    // connection cannot carry it, and ends rather than skip it.
                    connection.bounded.abort(&mut self.ledger);
                    break;
                }
            }
        }
        if route.done && route.backlog.is_empty() {
            connection.bounded.finish(&mut self.ledger, now);
        }
        if delivered || (!was_ended && connection.bounded.end_reason().is_some()) {
            connection.wake_reader();
        }
        if route.backlog.is_empty() {
            route.wake_writers();
        }
        if let Some(pipe) = route.pipe {
            self.settle(pipe, now);
        }
    }

    /// Applies what a connection's state means for its stream: a connection that takes no
    /// more offers is detached (its backlog dropped: those frames are in the log), except a
    /// finished one still delivering the response; a closed one ends its timer task; a
    /// response read to the end closes its stream, and an undelivered one is retained.
    fn settle(&mut self, pipe: PipeId, now: Millis) {
        let Some(connection) = self.pipes.get_mut(&pipe) else {
            return;
        };
        let Some(reason) = connection.bounded.end_reason() else {
            return;
        };
        let closed = connection.bounded.is_closed();
        if closed {
            connection.closed = None;
        }
        let (id, stream) = (connection.session, connection.stream);
        if closed && reason != EndReason::Finished && self.is_stateless(&id) {
            // The server closed a stateless stream (a deadline or the byte cap): its request
            // is lost, so it is cancelled.
            if let Some(route) = self.route_mut(&id, stream) {
                route.pipe = None;
                route.backlog.clear();
            }
            self.cancel_stateless(&id, now);
            return;
        }
        if reason == EndReason::Finished && !closed {
            return;
        }
        if let Some(route) = self.route_mut(&id, stream) {
            if route.pipe == Some(pipe) {
                route.pipe = None;
                route.backlog.clear();
                route.wake_writers();
            }
            if reason == EndReason::Finished && route.is_retained() {
                self.close_stream(&id, stream, now);
                return;
            }
        }
        self.enforce_retention(&id, now);
    }
}

/// The notification of `change` for the listen whose subscription id is `subscription`.
fn notice(change: Change<'_>, subscription: &serde_json::Value) -> String {
    let meta = serde_json::json!({ "io.modelcontextprotocol/subscriptionId": subscription });
    let note = match change {
        Change::ResourceList => serde_json::json!({
            "jsonrpc": "2.0",
            "method": "notifications/resources/list_changed",
            "params": { "_meta": meta },
        }),
        Change::Resource(uri) => serde_json::json!({
            "jsonrpc": "2.0",
            "method": "notifications/resources/updated",
            "params": { "_meta": meta, "uri": uri },
        }),
    };
    note.to_string()
}
