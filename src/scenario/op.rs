//! The operations a scenario is made of: what a client does to a Streamable HTTP endpoint.
//!
//! Sessions and streams are named by small slot numbers, resolved by the executor against what
//! exists when the op runs (a slot names session `slot % MAX_SESSIONS`; a stream pick names the
//! `pick % n`-th open response stream). So every byte string is a valid scenario, and the
//! fuzzer reaches each bug class through the structure of its input, not through magic values.

use arbitrary::Arbitrary;

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
    V2025_03_26,
    V2025_06_18,
    V2025_11_25,
}

impl Version {
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
    pub chunks: Vec<u8>,
    pub abort_after: Option<u8>,
}

/// A key for `fetch_cached`: a value never used before (what makes an unbounded cache grow), or
/// one of a few repeated values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub enum CacheKey {
    Fresh,
    Repeat(u8),
}

/// A tool call. `echo` text is untrusted and carries the session's canary, added by the
/// executor, so that a leak into another session is recognisable.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub enum ToolCall {
    Echo { text: Untrusted },
    Stream { count: u8, size: u16, delay_ms: u16 },
    FetchCached { key: CacheKey },
    Subscribe,
    Monitor { count: u8, interval_ms: u16 },
}

/// Where a resume's `Last-Event-ID` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary)]
pub enum IdPick {
    /// An id this session received on the picked stream, the `event`-th one seen.
    Own { stream: StreamPick, event: u8 },
    /// An id of another stream of the same session.
    OtherStream { stream: StreamPick, event: u8 },
    /// An id that another session received.
    OtherSession { session: Slot, event: u8 },
    /// An id this session received, with the byte at `at` replaced by `with`.
    Mutated { event: u8, at: u8, with: u8 },
    /// An id made up in the shape servers use.
    Forged { seq: u16 },
}

/// A request that breaks one lifecycle or header rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary, serde::Serialize)]
pub enum Misstep {
    MissingSessionId,
    UnknownSessionId,
    BadProtocolVersion,
    ForeignOrigin,
    ForeignHost,
    BadAccept,
}

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub enum Op {
    /// POST initialize, opening the session in `session` (replacing whatever was there).
    Initialize { session: Slot, version: Version },
    /// POST notifications/initialized.
    Initialized { session: Slot },
    /// POST tools/list.
    ListTools { session: Slot },
    /// POST tools/call, its body uploaded as `upload` says.
    Call {
        session: Slot,
        call: ToolCall,
        upload: Upload,
    },
    /// Read up to `bytes` bytes from the picked response stream.
    Read { stream: StreamPick, bytes: u16 },
    /// Let time pass without reading anything.
    Stall { millis: u16 },
    /// Drop the picked response stream: a client abort.
    DropResponse { stream: StreamPick },
    /// GET with `Last-Event-ID`.
    Resume { session: Slot, id: IdPick },
    /// GET the standalone server-to-client stream.
    OpenGet { session: Slot },
    /// DELETE the session.
    Delete { session: Slot },
    /// A request that breaks one rule, in the context of `session`.
    Misstep { session: Slot, misstep: Misstep },
}
