//! The two eras of Streamable HTTP and what a 2026-07-28 request may do differently.
//!
//! The 2025 revisions (2025-03-26, 2025-06-18, 2025-11-25) open a session with `initialize`;
//! the 2026-07-28 revision has no sessions: every request carries its protocol version and
//! client capabilities in `_meta`, names its method (and tool) in headers, and a client finds
//! out what a server speaks with `server/discover`. A scenario slot holds either a 2025
//! session or a 2026 client; which one is decided by the op that fills it and by the run's
//! [`Era`].

use arbitrary::Arbitrary;

/// The protocol revision of the 2026 era, as written on the wire.
pub const STATELESS_VERSION: &str = "2026-07-28";

/// Which era a run speaks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Era {
    /// Sessions only: `server/discover` and every 2026-only op fall back to `initialize` or
    /// are skipped.
    #[serde(rename = "2025")]
    Sessions,
    /// Stateless only: every `initialize` becomes `server/discover`.
    #[serde(rename = "2026")]
    Stateless,
    /// As the scenario says: `initialize` opens a session, `server/discover` a stateless
    /// client (a session instead when the server does not speak 2026-07-28).
    #[default]
    Both,
}

impl Era {
    /// The era written as on the command line: `2025`, `2026` or `both`.
    pub fn parse(text: &str) -> Option<Era> {
        match text {
            "2025" => Some(Era::Sessions),
            "2026" => Some(Era::Stateless),
            "both" => Some(Era::Both),
            _ => None,
        }
    }
}

/// The notification types a `subscriptions/listen` opts in to, one bit each: tool, prompt
/// and resource list changes, then updates of the four repeated `fetch_cached` keys' URIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary, serde::Serialize)]
pub struct Interests(pub u8);

impl Interests {
    /// `notifications/tools/list_changed`.
    pub fn tools_list_changed(self) -> bool {
        self.0 & 1 != 0
    }

    /// `notifications/prompts/list_changed`.
    pub fn prompts_list_changed(self) -> bool {
        self.0 & 2 != 0
    }

    /// `notifications/resources/list_changed`.
    pub fn resources_list_changed(self) -> bool {
        self.0 & 4 != 0
    }

    /// The repeated cache keys (`0..4`) whose resource URI the listen subscribes to.
    pub fn resource_keys(self) -> impl Iterator<Item = u8> {
        (0..4).filter(move |key| self.0 & (16 << key) != 0)
    }
}

/// How a 2026-07-28 `tools/call` departs from the plain correct request: an optional field
/// the revision allows, or one rule of `_meta` or of the headers broken, or a legacy header
/// left over from the session era.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Arbitrary, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Deviation {
    /// None: the request as the revision writes it.
    None,
    /// `_meta` asks for log messages at the level the byte picks (correct).
    LogLevel(u8),
    /// `_meta` without `clientInfo` (correct: it is optional).
    NoClientInfo,
    /// `_meta` without `protocolVersion`: 400, invalid params.
    NoMetaVersion,
    /// `_meta` without `clientCapabilities`: 400, invalid params.
    NoCapabilities,
    /// `1999-01-01` in both `_meta` and the header: 400, `UnsupportedProtocolVersion`.
    UnsupportedVersion,
    /// The header says `2025-11-25` while `_meta` says 2026-07-28: 400, `HeaderMismatch`.
    VersionMismatch,
    /// No `MCP-Protocol-Version` header.
    NoVersionHeader,
    /// No `Mcp-Method` header: 400, `HeaderMismatch`.
    NoMethodHeader,
    /// `Mcp-Method: tools/list` on a `tools/call`: 400, `HeaderMismatch`.
    WrongMethodHeader,
    /// No `Mcp-Name` header: 400, `HeaderMismatch`.
    NoNameHeader,
    /// `Mcp-Name` naming another tool: 400, `HeaderMismatch`.
    WrongNameHeader,
    /// No `Mcp-Param-*` header for an argument the tool marks `x-mcp-header`: 400,
    /// `HeaderMismatch` (when the call has such an argument).
    NoParamHeader,
    /// An `Mcp-Param-*` header whose value is not the argument's: 400, `HeaderMismatch`.
    WrongParamHeader,
    /// A stale `Mcp-Session-Id` (the last session id seen, or one never given out): ignored.
    StaleSessionId,
    /// A stale `Last-Event-ID` (the last event id seen, or a forged one): ignored.
    StaleLastEventId,
}

impl Deviation {
    /// The log level [`Deviation::LogLevel`] asks for.
    pub fn log_level(self) -> Option<&'static str> {
        const LEVELS: [&str; 8] = [
            "debug",
            "info",
            "notice",
            "warning",
            "error",
            "critical",
            "alert",
            "emergency",
        ];
        match self {
            Deviation::LogLevel(level) => Some(LEVELS[usize::from(level % 8)]),
            _ => None,
        }
    }

    /// Whether the revision requires a server to refuse the request (a broken `_meta` or
    /// header rule).
    pub fn must_refuse(self) -> bool {
        matches!(
            self,
            Deviation::NoMetaVersion
                | Deviation::NoCapabilities
                | Deviation::UnsupportedVersion
                | Deviation::VersionMismatch
                | Deviation::NoMethodHeader
                | Deviation::WrongMethodHeader
                | Deviation::NoNameHeader
                | Deviation::WrongNameHeader
                | Deviation::NoParamHeader
                | Deviation::WrongParamHeader
        )
    }
}
