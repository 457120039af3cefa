//! The operations a scenario is made of: what a client does to a Streamable HTTP endpoint.
//!
//! Sessions and streams are named by small slot numbers, resolved by the executor against what
//! exists when the op runs (a slot names session `slot % MAX_SESSIONS`; a stream pick names the
//! `pick % n`-th open response stream). So every byte string is a valid scenario, and the
//! fuzzer reaches each bug class through the structure of its input, not through magic values.

use arbitrary::Arbitrary;

use super::era::{Deviation, Interests};
use crate::input::Untrusted;

/// The most sessions a scenario drives at once.
pub const MAX_SESSIONS: u8 = 8;

/// A session slot, `0..MAX_SESSIONS` once reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub struct Slot(u8);

impl Slot {
    /// The slot of `index` (taken modulo [`MAX_SESSIONS`]).
    pub fn of_index(index: usize) -> Slot {
        Slot((index % usize::from(MAX_SESSIONS)) as u8)
    }

    /// The byte as read, before reduction (what [`Scenario::to_bytes`](super::Scenario::to_bytes)
    /// writes back).
    pub(super) fn raw(self) -> u8 {
        self.0
    }

    /// The session index this slot names, in `0..MAX_SESSIONS`.
    pub fn index(self) -> usize {
        usize::from(self.0 % MAX_SESSIONS)
    }
}

/// Picks one of the open response streams at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub struct StreamPick(pub u8);

/// The protocol versions a client may ask for at initialize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary, serde::Serialize)]
pub enum Version {
    /// `2025-03-26`, the first revision with Streamable HTTP.
    V2025_03_26,
    /// `2025-06-18`, the first to require `MCP-Protocol-Version` after initialize.
    V2025_06_18,
    /// `2025-11-25`, the latest revision.
    V2025_11_25,
}

impl Version {
    /// The version as the protocol writes it, such as `2025-06-18`.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::V2025_03_26 => "2025-03-26",
            Version::V2025_06_18 => "2025-06-18",
            Version::V2025_11_25 => "2025-11-25",
        }
    }
}

/// How a request body is uploaded: cut into chunks whose sizes cycle through `chunks` (empty
/// means one chunk), and optionally aborted after `abort_after` chunks.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub struct Upload {
    /// Chunk sizes in bytes, used in turn; empty means the whole body in one chunk.
    pub chunks: Vec<u8>,
    /// Abort after this many chunks; None, or a count at or past the last chunk, sends it whole.
    pub abort_after: Option<u8>,
}

/// A key for `fetch_cached`: a value never used before (what makes an unbounded cache grow), or
/// one of a few repeated values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub enum CacheKey {
    /// A key never used before in the run.
    Fresh,
    /// One of four repeated keys, chosen by the byte modulo 4.
    Repeat(u8),
}

/// A tool call. `echo` text is untrusted and carries the session's canary, added by the
/// executor, so that a leak into another session is recognisable.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub enum ToolCall {
    /// `echo`: the tool returns its text.
    Echo {
        /// The untrusted text; the executor appends the session's canary.
        text: Untrusted,
    },
    /// `stream`: progress notifications, then the result, on the call's response stream.
    Stream {
        /// Progress notifications to send before the result.
        count: u8,
        /// Filler bytes per notification, taken modulo 1025.
        size: u16,
        /// Milliseconds between notifications, taken modulo the executor's largest delay.
        delay_ms: u16,
    },
    /// `fetch_cached`: a lookup in the session's bounded cache, or a fetch into it.
    FetchCached {
        /// Whether the key is new or repeated.
        key: CacheKey,
    },
    /// `subscribe`: registers a listener on a topic never used before.
    Subscribe,
    /// `monitor`: log notifications on the session's standalone stream.
    Monitor {
        /// Notifications to send, taken modulo 33.
        count: u8,
        /// Milliseconds between notifications, brought into the executor's interval range.
        interval_ms: u16,
    },
}

/// Where a resume's `Last-Event-ID` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub enum IdPick {
    /// An id this session received on the picked stream, the `event`-th one seen.
    Own {
        /// Which of the session's streams, preferring those the client no longer holds.
        stream: StreamPick,
        /// Which of that stream's events with an id, modulo their number.
        event: u8,
    },
    /// An id of another stream of the same session.
    OtherStream {
        /// Which of the session's streams, preferring those the client still holds.
        stream: StreamPick,
        /// Which of that stream's events with an id, modulo their number.
        event: u8,
    },
    /// An id that another session received.
    OtherSession {
        /// The slot of the other session whose ids are preferred.
        session: Slot,
        /// Which of the picked stream's events with an id, modulo their number.
        event: u8,
    },
    /// An id this session received, with the byte at `at` replaced by `with`.
    Mutated {
        /// Picks both the stream and the event among the session's own ids.
        event: u8,
        /// The byte to replace, modulo the id's length.
        at: u8,
        /// The new byte, mapped to a visible ASCII character (`!` to `~`).
        with: u8,
    },
    /// An id made up in the shape servers use.
    Forged {
        /// The number that replaces the last run of digits in one of the session's ids.
        seq: u16,
    },
}

/// A request that breaks one lifecycle or header rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary, serde::Serialize)]
pub enum Misstep {
    /// No `Mcp-Session-Id` header, on a request that needs one.
    MissingSessionId,
    /// An `Mcp-Session-Id` that no server ever gave out.
    UnknownSessionId,
    /// `MCP-Protocol-Version: 1999-01-01`, a version no server supports.
    BadProtocolVersion,
    /// `Origin: http://evil.example`, a cross-origin request (DNS rebinding).
    ForeignOrigin,
    /// `Host: evil.example`, a host the server does not serve.
    ForeignHost,
    /// `Accept: text/plain`, which accepts neither JSON nor an event stream.
    BadAccept,
}

/// The long-lived streams a flood opens: for one principal (here, one session), or, as the
/// control, one for each of as many principals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flood {
    /// Slow `stream` tool calls, each a response stream that lasts while its tool works.
    Calls,
    /// GET requests for the session's standalone stream.
    Gets,
    /// Slow `stream` tool calls, each in a session of its own opened for it (initialize,
    /// initialized, the call): as many principals as streams, the control of [`Flood::Calls`].
    SpreadCalls,
}

/// How a request body larger than the policy's `max_request_bytes` is sent: a `tools/call`
/// whose text argument makes it, once inflated, eight times the limit and at least 8 MiB (a
/// bomb: at least the smaller of 8 MiB and 512 times the limit, so that its compressed bytes
/// stay under the limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Oversize {
    /// With a `Content-Length` that announces its size, in 64 KiB chunks.
    Sized,
    /// Chunked (no `Content-Length`), in 64 KiB chunks.
    Chunked,
    /// Chunked, as one giant chunk.
    OneChunk,
    /// `Content-Encoding: gzip`, a small body that inflates past the limit (a compression bomb).
    Gzip,
    /// `Content-Encoding: deflate` (zlib), the same bomb.
    Deflate,
}

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub enum Op {
    /// POST initialize, opening the session in `session` (replacing whatever was there).
    Initialize {
        /// The slot the new session takes.
        session: Slot,
        /// The protocol version the client asks for.
        version: Version,
    },
    /// POST notifications/initialized.
    Initialized {
        /// The session that sends it.
        session: Slot,
    },
    /// POST tools/list.
    ListTools {
        /// The session that asks.
        session: Slot,
    },
    /// POST tools/call, its body uploaded as `upload` says.
    Call {
        /// The session that calls.
        session: Slot,
        /// The tool called, and what its arguments are made from.
        call: ToolCall,
        /// How the request body is uploaded.
        upload: Upload,
    },
    /// Read up to `bytes` bytes from the picked response stream.
    Read {
        /// The stream read.
        stream: StreamPick,
        /// The most bytes to read; 0 reads 1.
        bytes: u16,
    },
    /// Let time pass without reading anything.
    Stall {
        /// How long to wait, in milliseconds, at most the executor's longest stall.
        millis: u16,
    },
    /// Drop the picked response stream: a client abort.
    DropResponse {
        /// The stream dropped.
        stream: StreamPick,
    },
    /// GET with `Last-Event-ID`.
    Resume {
        /// The session that resumes.
        session: Slot,
        /// Where the `Last-Event-ID` comes from.
        id: IdPick,
    },
    /// GET the standalone server-to-client stream.
    OpenGet {
        /// The session whose standalone stream is opened.
        session: Slot,
    },
    /// DELETE the session.
    Delete {
        /// The session deleted.
        session: Slot,
    },
    /// A request that breaks one rule, in the context of `session`.
    Misstep {
        /// The session whose headers the request carries, except the one the misstep breaks.
        session: Slot,
        /// The rule the request breaks.
        misstep: Misstep,
    },
    /// Opens the policy's `probe_streams` long-lived streams for one session at once (or, as
    /// the control, one for each of as many new sessions), each left unread, then drops them
    /// all: a principal that holds many connections.
    Flood {
        /// The session that opens them.
        session: Slot,
        /// What kind of stream.
        streams: Flood,
    },
    /// POSTs a `tools/call` body eight times the policy's `max_request_bytes` (at least 8 MiB),
    /// made as it is sent (the client never holds the inflated bytes of a bomb), then reads the answer.
    Oversize {
        /// The session whose headers the request carries.
        session: Slot,
        /// How the body is sent.
        body: Oversize,
    },
    /// `server/discover` (2026-07-28): the slot becomes a stateless client when the server
    /// speaks that revision; otherwise (and in a 2025-only run) it opens a 2025-11-25 session.
    Discover {
        /// The slot the client takes.
        client: Slot,
    },
    /// `subscriptions/listen` (2026-07-28) from the slot's stateless client, opting in to
    /// `interests`; its stream is held open and read at the scenario's pace. Skipped when the
    /// slot holds no stateless client.
    Listen {
        /// The client that listens.
        client: Slot,
        /// The notification types it asks for.
        interests: Interests,
    },
    /// A 2026-07-28 `tools/call` from the slot's stateless client, departing from the correct
    /// request as `deviation` says; kept open like [`Op::Call`]. Skipped when the slot holds
    /// no stateless client.
    Stateless {
        /// The client that calls.
        client: Slot,
        /// The tool called, and what its arguments are made from.
        call: ToolCall,
        /// What the request does differently.
        deviation: Deviation,
    },
}
