//! The trace: everything the executor observed while running one scenario against one target.
//!
//! Plain data, built by the executor and read by the oracles, which are pure functions of it.
//! Instants are [`Millis`] since the start of the run: virtual time for in-process targets
//! (so a trace is exactly reproducible), wall time for a process behind a socket. Every list is
//! bounded by the scenario's length (at most [`crate::scenario::MAX_OPS`] ops plus the
//! teardown), and every stream's kept bytes by [`STREAM_KEEP_BYTES`].

mod probe;
mod resources;

pub use probe::ProbeTrace;
pub use resources::Resources;

use serde::Serialize;

use crate::model::Millis;
use crate::scenario::{Deviation, Era, Flood, Interests, Misstep, Oversize, Version};

/// The most events kept per stream; later events are counted but not kept.
pub const STREAM_KEEP_EVENTS: usize = 4096;
/// The most body bytes decoded per stream; later bytes are counted but not decoded.
pub const STREAM_KEEP_BYTES: u64 = 8 << 20;

/// What one scenario run observed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Trace {
    /// The name of the server under test (`reference`, `fixture:NAME`, `rmcp:local`, a URL).
    pub server: String,
    /// The limits the oracles judge the target against.
    pub policy: Policy,
    /// Every session the client opened, in order of their initialize.
    pub sessions: Vec<SessionRecord>,
    /// Every request, in the order it was sent.
    pub exchanges: Vec<Exchange>,
    /// Every response body that was read as a stream (SSE or not), in the order it arrived.
    pub streams: Vec<StreamRecord>,
    /// Resource snapshots at chosen moments, in order.
    pub checkpoints: Vec<Checkpoint>,
    /// Every flood of long-lived streams ([`crate::scenario::Op::Flood`]), in order.
    pub floods: Vec<FloodRecord>,
    /// Every oversized request body ([`crate::scenario::Op::Oversize`]), in order.
    pub oversized: Vec<OversizeRecord>,
}

/// Many long-lived streams opened at once for one principal, and what the server held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FloodRecord {
    /// The scenario op.
    pub step: usize,
    /// The session that opened them (index into [`Trace::sessions`]): the principal.
    pub session: usize,
    /// What kind of stream.
    pub streams: Flood,
    /// The requests it sent, in order (indices into [`Trace::exchanges`]).
    pub exchanges: Vec<usize>,
    /// What the server held before the first request.
    pub before: Resources,
    /// What it held with every stream it accepted open and unread.
    pub held: Resources,
    /// The accepted streams still open at that reading (the others had already ended).
    pub open_when_held: usize,
}

/// A request body past the limit, and what the server's memory did while it was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OversizeRecord {
    /// Its request (index into [`Trace::exchanges`]).
    pub exchange: usize,
    /// How it was sent.
    pub body: Oversize,
    /// The limit it was made against: the policy's `max_request_bytes`.
    pub limit: u64,
    /// Its size once decoded (inflated, for a bomb).
    pub decoded_bytes: u64,
    /// Its size on the wire.
    pub wire_bytes: u64,
    /// The bytes of it the client had handed to the connection when the answer's head came
    /// (`None` without an answer): less than `wire_bytes` is a refusal before the end of the
    /// body.
    pub sent_at_answer: Option<u64>,
    /// How far the server's memory rose over its level before the request, at its highest
    /// until the answer was read (the server heap in process, the group's resident set
    /// through `VmHWM` over a socket); `None` where the target cannot watch it.
    pub memory_growth: Option<u64>,
}

/// The request-body limit a target is held to unless the user sets another (4 MiB).
pub const DEFAULT_MAX_REQUEST_BYTES: u64 = 4 << 20;

/// The streams a flood opens for one principal unless the user sets another number.
pub const DEFAULT_PROBE_STREAMS: u32 = 64;

/// The limits a target is judged against: what it advertises, or what the user asserts with
/// `--max-stream-bytes` and the idle and duration options. `None` is not judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Policy {
    /// The most bytes a response stream may carry, plus `terminal_allowance`.
    pub max_stream_bytes: Option<u64>,
    /// Room past the byte cap for the one terminal event (and a priming event).
    pub terminal_allowance: u64,
    /// The most bytes a server may hold for one slow reader, plus `chunk_allowance`.
    pub high_water_bytes: Option<u64>,
    /// Room past the high-water mark: one chunk and one frame waiting for room.
    pub chunk_allowance: u64,
    /// A stream must close when nothing was read for this long.
    pub idle_timeout: Option<Millis>,
    /// A stream must close this long after it opened.
    pub max_duration: Option<Millis>,
    /// Tolerance on every deadline (timer granularity, scheduling).
    pub slack: Millis,
    /// Heap growth tolerated between a baseline and a later snapshot (warm-up, capacity).
    pub heap_tolerance: u64,
    /// Whether hardening findings (what the specification does not ask of a server) are
    /// reported; `--hardening` sets it.
    pub hardening: bool,
    /// The largest request body a server should take; an oversized request sends eight times
    /// this.
    pub max_request_bytes: u64,
    /// How many long-lived streams a flood opens for one principal.
    pub probe_streams: u32,
    /// The most concurrent streams one principal may hold, judged exactly when set; when not,
    /// a flood that is never refused while each stream costs the server is a finding.
    pub max_streams_per_principal: Option<u32>,
    /// The era the run speaks: which ops open sessions and which stateless clients.
    pub era: Era,
}

impl Default for Policy {
    /// Nothing judged but what needs no limit; 1 s of slack; 1 KiB terminal allowance;
    /// 256 KiB of heap tolerance; no hardening findings; 4 MiB request bodies (the TypeScript
    /// SDK's own limit); floods of 64 streams and no exact cap.
    fn default() -> Self {
        Self {
            max_stream_bytes: None,
            terminal_allowance: 1024,
            high_water_bytes: None,
            chunk_allowance: 0,
            idle_timeout: None,
            max_duration: None,
            slack: Millis(1_000),
            heap_tolerance: 256 << 10,
            hardening: false,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            probe_streams: DEFAULT_PROBE_STREAMS,
            max_streams_per_principal: None,
            era: Era::Both,
        }
    }
}

/// One session the client opened: an `initialize` that got a response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionRecord {
    /// The scenario's slot for it.
    pub slot: usize,
    /// The `Mcp-Session-Id` the server assigned, if any.
    pub id: Option<String>,
    /// A token unique to this session, carried in its untrusted tool arguments: found in
    /// another session's messages, it proves a cross-session leak.
    pub canary: String,
    /// The version the client asked for.
    pub requested: Version,
    /// The `protocolVersion` of the initialize result, if the server sent one.
    pub negotiated: Option<String>,
    /// A 2026-07-28 client, not a session: it discovered the server with `server/discover`,
    /// has no id and sends every request in the stateless form.
    pub stateless: bool,
    /// The server listed 2026-07-28 among the `supportedVersions` of its answer to this
    /// client's `server/discover` (a 2026-only run makes a client of a server that did not).
    pub speaks_stateless: bool,
    /// The exchange of its initialize (or its `server/discover`).
    pub exchange: usize,
    /// The exchange of a DELETE that the server accepted (2xx), if any.
    pub deleted_by: Option<usize>,
}

/// Where a generated leaf value sits in its schema's range. Numbers and strings climb from
/// small to long; the campaign learns per tool which rungs make big, long or slow responses
/// (they are part of the features it keeps inputs for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rung {
    /// A small number, or a short string of the call's own kind: quick work.
    Small,
    /// A value never used before (the growth of caches and listeners).
    Fresh,
    /// The schema's `minimum`, or a string of `minLength`.
    Minimum,
    /// One above the minimum.
    AboveMinimum,
    /// The schema's `maximum` (or `HEAVY_CEILING` without one), or a string of `maxLength`
    /// (at most `LONG_STRING`).
    Maximum,
    /// One below the maximum.
    BelowMaximum,
    /// A power of two between the bounds.
    PowerOfTwo,
    /// A string of `LONG_STRING` bytes (within `maxLength`).
    Long,
    /// An `enum` member other than the first.
    OtherMember,
}

/// A set of [`Rung`]s, as bits in the order of the enum.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Rungs(pub u16);

impl Rungs {
    fn of(rung: Rung) -> Self {
        Self(1 << rung as u16)
    }

    /// Adds `rung` to the set.
    pub fn add(&mut self, rung: Rung) {
        self.0 |= Self::of(rung).0;
    }

    /// Whether the client bounds the time of a call with these rungs: some leaf left the small
    /// rung, so the call may ask for any amount of work, and giving up on it at its budget is
    /// a cancel, not a liveness failure.
    pub fn budgeted(self) -> bool {
        self.0 & !(Self::of(Rung::Small).0 | Self::of(Rung::Fresh).0) != 0
    }
}

/// One request and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exchange {
    /// The scenario op that sent it; the teardown's requests have the scenario's length.
    pub step: usize,
    /// When the request was sent.
    pub sent_at: Millis,
    /// The HTTP method: `POST`, `GET` or `DELETE`.
    pub method: String,
    /// Why the executor sent it.
    pub purpose: Purpose,
    /// The JSON-RPC id of the request, if it was one (unique within the trace).
    pub rpc_id: Option<u64>,
    /// The session it was made for (index into [`Trace::sessions`]).
    pub session: Option<usize>,
    /// What was sent as `Mcp-Session-Id`.
    pub session_header: SessionHeader,
    /// The `Last-Event-ID` sent, and where it came from.
    pub last_event_id: Option<LastEventId>,
    /// How the body was uploaded.
    pub upload: UploadRecord,
    /// Whether a response head came, and when.
    pub outcome: Outcome,
    /// The response body's stream (index into [`Trace::streams`]), if a response came.
    pub stream: Option<usize>,
    /// For a call with arguments generated from a schema, the rungs its leaves took.
    pub rungs: Rungs,
    /// How long the client lets this call take, if it bounds it ([`Rungs::budgeted`]): a call
    /// still working when its budget passes is cancelled (its stream dropped, or its request
    /// given up before a head came), which is part of the scenario, not a liveness failure.
    pub budget: Option<Millis>,
    /// The names of the response's headers, lowercased, in order (empty without a response).
    pub response_headers: Vec<String>,
    /// What the request's `Mcp-Param-*` headers carried, decoded: the argument values a
    /// 2026-07-28 client copied into headers.
    pub param_values: Vec<String>,
}

/// Why a request was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Purpose {
    /// The `initialize` request that opens a session; it carries no `Mcp-Session-Id`.
    Initialize,
    /// The `notifications/initialized` notification that follows a session's initialize.
    Initialized,
    /// A `tools/list` request.
    ListTools,
    /// `tools/call` of `tool`.
    Call {
        /// The name of the tool called.
        tool: String,
    },
    /// A GET with `Last-Event-ID`, asking to resume a stream after that event.
    Resume,
    /// A GET without `Last-Event-ID`, opening the session's standalone stream.
    OpenGet,
    /// A DELETE that ends the session, from a scenario op or the teardown.
    Delete,
    /// A request that breaks one rule on purpose.
    Misstep(Misstep),
    /// A `tools/call` whose body is past the request-size limit.
    Oversized {
        /// How its body was sent.
        body: Oversize,
    },
    /// `server/discover`.
    Discover,
    /// `subscriptions/listen`, opting in to `interests`.
    Listen {
        /// The notification types asked for.
        interests: Interests,
    },
    /// A 2026-07-28 `tools/call` that departs from the correct request as `deviation` says.
    Stateless {
        /// The tool called.
        tool: String,
        /// What the request did differently.
        deviation: Deviation,
    },
}

/// What a request carried as `Mcp-Session-Id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SessionHeader {
    /// No header (initialize, or a session that got no id).
    Absent,
    /// The id of a live session (index into [`Trace::sessions`]).
    Live(usize),
    /// The id of a session that was deleted (the DELETE got 2xx) or replaced in its slot.
    Ended(usize),
    /// An id no server ever gave out.
    Unknown(String),
}

/// A `Last-Event-ID` the client sent, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastEventId {
    /// The header's value, exactly as sent.
    pub value: String,
    /// Which event the value was taken from, or how it was made.
    pub source: IdSource,
}

/// Where a resume's id came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum IdSource {
    /// The `event`-th event (index into its [`StreamRecord::events`]) of `stream`, a stream of
    /// the asking session.
    Own {
        /// The stream the id was taken from (index into [`Trace::streams`]).
        stream: usize,
        /// The event whose id was sent (index into that stream's events).
        event: usize,
    },
    /// An event of another stream of the same session, the same as `Own` except in intent: the
    /// client asks for another stream's continuation.
    OtherStream {
        /// The other stream of the same session (index into [`Trace::streams`]).
        stream: usize,
        /// The event whose id was sent (index into that stream's events).
        event: usize,
    },
    /// An event another session received.
    OtherSession {
        /// The other session's stream (index into [`Trace::streams`]).
        stream: usize,
        /// The event whose id was sent (index into that stream's events).
        event: usize,
    },
    /// An id the session received, with one byte changed.
    Mutated {
        /// The stream of the id before the change (index into [`Trace::streams`]).
        stream: usize,
        /// The event whose id was changed (index into that stream's events).
        event: usize,
    },
    /// An id made up by the client.
    Forged,
}

/// How a request body was uploaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UploadRecord {
    /// Body bytes sent; an aborted upload counts only the chunks before the abort.
    pub bytes: usize,
    /// Chunks sent before the body ended or was aborted.
    pub chunks: usize,
    /// The upload was aborted before its last chunk.
    pub aborted: bool,
}

/// What became of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// A response head arrived.
    Responded {
        /// When the response head arrived.
        at: Millis,
        /// The HTTP status code.
        status: u16,
        /// The `Content-Type` response header, if it was present and valid text.
        content_type: Option<String>,
        /// The `Mcp-Session-Id` response header.
        session_id: Option<String>,
    },
    /// The target gave no response (a connection failure, a crash, a service error).
    Failed {
        /// When the request failed.
        at: Millis,
        /// The error, as the HTTP client described it.
        error: String,
    },
    /// No response head before the deadline.
    TimedOut {
        /// When the client gave up waiting.
        at: Millis,
        /// How long the client waited for the head, not an instant.
        deadline: Millis,
    },
}

impl Outcome {
    /// The response's HTTP status, or None if no response head came.
    pub fn status(&self) -> Option<u16> {
        match self {
            Outcome::Responded { status, .. } => Some(*status),
            Outcome::Failed { .. } | Outcome::TimedOut { .. } => None,
        }
    }
}

impl std::fmt::Display for Outcome {
    /// What happened, in words: `status 503`, `no response within 5000 ms`, `the connection
    /// failed: ...`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Responded { status, .. } => write!(f, "status {status}"),
            Outcome::Failed { error, .. } => write!(f, "no response: {error}"),
            Outcome::TimedOut { deadline, .. } => {
                write!(f, "no response within {} ms", deadline.0)
            }
        }
    }
}

/// One response body, as the client read it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StreamRecord {
    /// The exchange it answers.
    pub exchange: usize,
    /// The session of that exchange.
    pub session: Option<usize>,
    /// Whether it was announced as `text/event-stream`.
    pub sse: bool,
    /// When the response head arrived.
    pub opened_at: Millis,
    /// Body bytes received.
    pub bytes: u64,
    /// Its SSE events, decoded by the reference decoder as their bytes arrived (at most
    /// [`STREAM_KEEP_EVENTS`]).
    pub events: Vec<EventRecord>,
    /// The body of a non-SSE response (at most [`STREAM_KEEP_BYTES`], lossy UTF-8).
    pub text: String,
    /// The decoder refused the stream (a line or event over its limits).
    pub decode_error: Option<String>,
    /// What the client did and saw, in order.
    pub observations: Vec<Observation>,
    /// How it ended, if it did.
    pub end: Option<StreamEnd>,
}

/// One SSE event block as written: the fields exactly as they came.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EventRecord {
    /// When the chunk that completed it arrived.
    pub at: Millis,
    /// The `id` field of this block (the last one, if several), if it had one.
    pub id: Option<String>,
    /// The `event` field of this block, if it had one.
    pub event_type: Option<String>,
    /// The `data` lines joined by LF.
    pub data: String,
    /// The number of `data` lines.
    pub data_lines: usize,
    /// A `retry` field, as written.
    pub retry: Option<String>,
    /// Fields of other names, as `name:value`.
    pub other_fields: Vec<String>,
    /// Comment lines.
    pub comments: Vec<String>,
}

/// One thing the client did to, or saw on, a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Observation {
    /// The client started reading, wanting `want` bytes.
    ReadStart {
        /// When the read began.
        at: Millis,
        /// Bytes the client wanted; `u64::MAX` to read until the body ends.
        want: u64,
    },
    /// `bytes` arrived.
    Data {
        /// When the frame arrived.
        at: Millis,
        /// The frame's length in bytes.
        bytes: u64,
    },
    /// The client stopped reading: it had what it wanted, or nothing came for a while.
    ReadStop {
        /// When the read stopped.
        at: Millis,
        /// True if it stopped because nothing came in time (quiet period or deadline); false once
        /// `want` bytes came.
        waited: bool,
    },
}

/// How a stream ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum StreamEnd {
    /// The body ended.
    Finished {
        /// When the end of the body was read.
        at: Millis,
    },
    /// The body failed.
    Failed {
        /// When the body's error was read.
        at: Millis,
        /// The body's error, as the HTTP client described it.
        error: String,
    },
    /// The client dropped it (a client abort).
    Dropped {
        /// When the client dropped the body.
        at: Millis,
    },
    /// Still open when the teardown gave up draining it.
    Abandoned {
        /// When the teardown gave up.
        at: Millis,
    },
}

impl StreamEnd {
    /// When the stream ended, whichever way it did.
    pub fn at(&self) -> Millis {
        match self {
            StreamEnd::Finished { at }
            | StreamEnd::Failed { at, .. }
            | StreamEnd::Dropped { at }
            | StreamEnd::Abandoned { at } => *at,
        }
    }
}

/// A resource snapshot at a chosen moment, with what the client held then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    /// The scenario op it was taken in, counted as for [`Exchange::step`].
    pub step: usize,
    /// When it was taken.
    pub at: Millis,
    /// Why it was taken.
    pub kind: CheckpointKind,
    /// Response bodies the client holds open.
    pub open_bodies: usize,
    /// Of them, the bodies of stateless (2026-07-28) clients' requests.
    pub open_stateless: usize,
    /// Sessions the client holds (initialized and not deleted).
    pub live_sessions: usize,
    /// What the target and the executor could see at that moment.
    pub resources: Resources,
}

/// Why a snapshot was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum CheckpointKind {
    /// Before the first op.
    Baseline,
    /// After a stall, before anything else is read.
    AfterStall,
    /// After a response was dropped and the target had time to react.
    AfterDrop,
    /// After a request whose upload was aborted, once the target had time to react.
    AfterAbortedUpload,
    /// After every session was deleted and every body drained or dropped.
    Teardown,
}
