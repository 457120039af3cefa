//! The protocol versions the reference server speaks.

use std::fmt;

/// A Streamable HTTP protocol revision this server supports: one of [`ProtocolVersion::ALL`],
/// negotiated at initialize, or 2026-07-28, named by each stateless request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProtocolVersion {
    /// `2025-03-26`, the first revision with Streamable HTTP.
    V2025_03_26,
    /// `2025-06-18`, which adds the `MCP-Protocol-Version` request header.
    V2025_06_18,
    /// `2025-11-25`, whose new SSE streams start with a priming event and a `retry`.
    V2025_11_25,
    /// `2026-07-28`, stateless: never negotiated at initialize, named in each request.
    V2026_07_28,
}

impl ProtocolVersion {
    /// Every version initialize negotiates, oldest first.
    pub const ALL: [ProtocolVersion; 3] = [
        ProtocolVersion::V2025_03_26,
        ProtocolVersion::V2025_06_18,
        ProtocolVersion::V2025_11_25,
    ];

    /// Every version this server speaks, newest first, as `server/discover` lists them.
    pub const SUPPORTED: [&'static str; 4] =
        ["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"];

    /// What the server offers when the client asks for a version it does not support.
    pub const LATEST: ProtocolVersion = ProtocolVersion::V2025_11_25;

    /// Reads a version string exactly as the specification writes it.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|version| version.as_str() == text)
    }

    /// The version as the specification writes it, such as `2025-06-18`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::V2025_03_26 => "2025-03-26",
            ProtocolVersion::V2025_06_18 => "2025-06-18",
            ProtocolVersion::V2025_11_25 => "2025-11-25",
            ProtocolVersion::V2026_07_28 => "2026-07-28",
        }
    }

    /// Whether each new SSE stream starts with a priming event (an id and empty data) and a
    /// `retry` field (from 2025-11-25).
    pub fn primes_streams(self) -> bool {
        self == ProtocolVersion::V2025_11_25
    }

    /// Whether requests of this version are served statelessly (2026-07-28): no session, no
    /// event ids, and closing a response stream cancels its request.
    pub fn is_stateless(self) -> bool {
        self == ProtocolVersion::V2026_07_28
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
