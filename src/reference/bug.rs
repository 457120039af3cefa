//! Server-level bugs: the seam of the vulnerable fixtures that are not a model [`Fault`].
//!
//! Each [`Bug`] is switched on by one check at the one place it is about; what a bug keeps
//! beyond its session lives in [`BugState`], which stays empty (all zero) while no bug is on.
//! Whatever a bug keeps is still released when the server's last handle is dropped, so a
//! fixture never outlives its server.
//!
//! [`Fault`]: crate::model::Fault

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Bytes, BytesMut};

use crate::model::{Appended, SessionId};

/// One classic server-level bug, switched on in [`ServerConfig::bug`]; `None` is the correct
/// server.
///
/// [`ServerConfig::bug`]: super::ServerConfig::bug
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bug {
    /// A tool result's text is written raw into its event's data (`data: TEXT`, the text's
    /// line breaks and all), as servers that stream tool output as SSE text do: untrusted
    /// text can inject events, fields and ids.
    RawToolText,
    /// Events are written with a per-stream counter as their SSE id (`id: 1`, `id: 2`, ...,
    /// restarting at 1 on every stream), so two streams of one session share ids; a resume
    /// from such an id is refused as malformed (400).
    DuplicateEventIds,
    /// Dropping an SSE response body (a client abort) does not release its connection: its
    /// entry, buffers and deadline timer stay held, its deadlines are no longer applied, and
    /// its stream stays attached (a new GET or resume of it gets 409), until its session
    /// ends. Symptom: `connections`, `open_connections`, `held_bytes`, `stream_ledger` and
    /// `tasks.stream_timers` stay up after the drop.
    NoCancelCleanup,
    /// A POST body that fails mid-upload leaves its session's call lock taken (the guard is
    /// forgotten on the error path): the upload gets its 400 as usual, but every later
    /// `tools/call` of the session waits for the lock forever, with no response head.
    /// Symptom: `liveness/no-response`, in process and over a socket alike.
    StuckAfterAbortedUpload,
    /// A POST body that fails mid-upload gets its 400 as usual, but the partial body is kept
    /// by a task parked until the session named in its `Mcp-Session-Id` ends (until the
    /// server is dropped if it names none). Symptom: `uploads` and `tasks.requests` stay up.
    NoAbortCleanup,
    /// `fetch_cached` stores into one server-global map keyed on its argument, never evicted
    /// and not freed when sessions end. Symptom: `cache_entries` grows past the per-session
    /// capacity and stays after every session has ended; another session's key is a hit.
    UnboundedCache,
    /// Every `subscribe` call pushes a new listener onto a server-global list (no dedupe, no
    /// bound), never removed when its session ends. Symptom: `listeners` grows with every
    /// call and stays after every session has ended.
    ListenerAccumulation,
    /// `monitor` tasks are not stopped when their session ends: they tick on at their
    /// interval (at least 1 ms; their events go nowhere), each holding a closure that captures
    /// a scratch buffer, until the server's last handle is dropped. Symptom: `monitors` and
    /// `tasks.monitors` stay up after their session has ended.
    IntervalLeak,
    /// DELETE answers 200 and the id gets 404 from then on, but the session is kept whole
    /// (streams, logs, connections, listeners, cache, monitors and tasks, and it no longer
    /// expires) until the server is dropped. Symptom: every count stays up after the DELETE.
    StateAfterDelete,
    /// DELETE answers 200 but does nothing: the session and its id keep working.
    DeletedIdAccepted,
    /// Session ids come from a counter (`000…001`, `000…002`, ...): still 48 lowercase hex
    /// digits, only predictable. Symptom: the next session's id can be guessed.
    GuessableSessionIds,
    /// The `Origin` header is not validated: a foreign Origin is served rather than refused
    /// with 403.
    NoOriginCheck,
    /// An unknown, deleted or expired session id gets 400 instead of 404, so a client is not
    /// told to start a new session.
    WrongStatusUnknownSession,
    /// A POST body is read whole, whatever its `Content-Length` announces and however long it
    /// runs, and only then measured against `max_request_bytes` (413): every oversized body
    /// is held in memory before it is refused.
    NoBodyLimit,
    /// A `gzip` or `deflate` body is inflated whole before its size is checked (413): a
    /// compression bomb inflates in memory, however far past `max_request_bytes` it goes.
    InflateUnbounded,
    /// 2026-07-28: stateless requests share one transport, as in the TypeScript SDK's advisory
    /// on shared stateless transports: every message of a stateless request goes to the most
    /// recently opened stateless response stream still open, whoever's request it is.
    SharedResponseStream,
    /// 2026-07-28: closing a stateless request's response stream does not cancel it: its
    /// work runs on to its end (its messages going nowhere).
    NoCancelOnClose,
    /// 2026-07-28: `subscriptions/listen` sends every notification type to every listener,
    /// whatever it opted in to.
    ListenIgnoresFilter,
    /// 2026-07-28: `Mcp-Method`, `Mcp-Name` and `Mcp-Param-*` are not checked against the
    /// body: missing or mismatched headers are served.
    NoHeaderChecks,
    /// 2026-07-28: a stateless request's stale `Mcp-Session-Id` is echoed in its response.
    LegacySessionEcho,
    /// 2026-07-28: `monitor` sends its log notifications whether or not the request set a
    /// `logLevel`.
    LogsWithoutLevel,
}

impl Bug {
    /// Every bug, in declaration order.
    pub const ALL: [Bug; 21] = [
        Bug::RawToolText,
        Bug::DuplicateEventIds,
        Bug::NoCancelCleanup,
        Bug::StuckAfterAbortedUpload,
        Bug::NoAbortCleanup,
        Bug::UnboundedCache,
        Bug::ListenerAccumulation,
        Bug::IntervalLeak,
        Bug::StateAfterDelete,
        Bug::DeletedIdAccepted,
        Bug::GuessableSessionIds,
        Bug::NoOriginCheck,
        Bug::WrongStatusUnknownSession,
        Bug::NoBodyLimit,
        Bug::InflateUnbounded,
        Bug::SharedResponseStream,
        Bug::NoCancelOnClose,
        Bug::ListenIgnoresFilter,
        Bug::NoHeaderChecks,
        Bug::LegacySessionEcho,
        Bug::LogsWithoutLevel,
    ];
}

/// What the bugs keep in the server's state, beside the sessions. Every field stays empty
/// (zero) while no bug is on, and everything is freed with the state, when the server's last
/// handle and its last body and task are gone.
#[derive(Debug, Default)]
pub(crate) struct BugState {
    /// [`Bug::UnboundedCache`]: every `fetch_cached` key with its content.
    pub cache: BTreeMap<String, String>,
    /// [`Bug::ListenerAccumulation`]: one listener per `subscribe` call.
    pub listeners: Vec<Listener>,
    /// [`Bug::IntervalLeak`]: monitors still running whose session has ended.
    pub monitors: usize,
    /// [`Bug::StateAfterDelete`]: sessions deleted but still held (each is a live session
    /// of the store, pinned so that it never expires).
    pub deleted: BTreeSet<SessionId>,
    /// [`Bug::GuessableSessionIds`]: the counter id each live session is known by, to the
    /// store's id of the session.
    pub aliases: BTreeMap<SessionId, SessionId>,
    /// [`Bug::GuessableSessionIds`]: the last counter value given out.
    pub last_alias: u64,
    /// [`Bug::StuckAfterAbortedUpload`]: the live sessions whose call lock a failed upload
    /// left taken.
    pub wedged: BTreeSet<SessionId>,
}

/// A listener on the global list of [`Bug::ListenerAccumulation`].
#[derive(Debug)]
pub(crate) struct Listener {
    /// The session that subscribed.
    pub session: SessionId,
    /// What it listens for.
    pub topic: String,
    /// What its callback captured ([`super::ToolLimits::retained_bytes`]): held, never read,
    /// as a leaked closure's context is.
    pub _context: Box<[u8]>,
}

impl BugState {
    /// Whether `session` has a listener for `topic` on the global list.
    pub(crate) fn listens(&self, session: &SessionId, topic: &str) -> bool {
        self.listeners
            .iter()
            .any(|listener| listener.session == *session && listener.topic == topic)
    }
}

/// The bytes sent for an event just appended: the store's frame, or under
/// [`Bug::DuplicateEventIds`] the same frame with its id replaced by the event's 1-based
/// position in its stream. The log keeps the store's frame either way.
/// Under [`Bug::RawToolText`], a tool result's text is written raw instead: `data: ` and the
/// text as it is, line breaks and all.
pub(crate) fn sent_frame(bug: Option<Bug>, appended: Appended, data: &str) -> Bytes {
    if bug == Some(Bug::RawToolText) {
        return raw_text_frame(&appended.id, data).unwrap_or(appended.frame);
    }
    if bug != Some(Bug::DuplicateEventIds) {
        return appended.frame;
    }
    let id_line = format!("id: {}\n", appended.id);
    let Some(rest) = appended.frame.strip_prefix(id_line.as_bytes()) else {
        return appended.frame;
    };
    let mut frame = BytesMut::with_capacity(rest.len() + 24);
    frame.extend_from_slice(format!("id: {}\n", appended.seq + 1).as_bytes());
    frame.extend_from_slice(rest);
    frame.freeze()
}

/// `id: ID`, then `data: TEXT` with the first text content of a tool result written raw, then
/// the blank line: what a server that streams tool output as SSE text, without the encoder,
/// sends. `None` for any other message.
fn raw_text_frame(id: &str, data: &str) -> Option<Bytes> {
    let message: serde_json::Value = serde_json::from_str(data).ok()?;
    let text = message.pointer("/result/content/0/text")?.as_str()?;
    Some(Bytes::from(format!("id: {id}\ndata: {text}\n\n")))
}

/// The frame of a stateless stream's event: its data alone (no id, no log), through the safe
/// encoder, or under [`Bug::RawToolText`] with a tool result's text raw.
pub(crate) fn stateless_frame(bug: Option<Bug>, data: &str) -> Bytes {
    if bug == Some(Bug::RawToolText) {
        if let Some(frame) = raw_text(data) {
            return frame;
        }
    }
    let mut frame = BytesMut::with_capacity(data.len() + 16);
    crate::sse::Frame::data(data)
        .encode(&mut frame)
        .expect("a data-only frame always encodes");
    frame.freeze()
}

fn raw_text(data: &str) -> Option<Bytes> {
    let message: serde_json::Value = serde_json::from_str(data).ok()?;
    let text = message.pointer("/result/content/0/text")?.as_str()?;
    Some(Bytes::from(format!("data: {text}\n\n")))
}
