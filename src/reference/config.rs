//! The reference server's configuration: the models' limits, the tools' bounds, what is allowed.

use super::bug::Bug;
use crate::model::{Entropy, EntropyError, Fault, Millis, SessionConfig, StreamConfig};

/// Room for a JSON-RPC envelope and an SSE frame around the parts of a message that come from
/// the request (an event id is at most 81 bytes; the envelopes' fixed keys fit in the rest).
pub(crate) const ENVELOPE_BYTES: usize = 1024;

/// serde_json writes a control character as `\u00XX`: six bytes for one.
const JSON_ESCAPE_GROWTH: usize = 6;

/// Bounds on what the tools accept and keep per session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolLimits {
    /// Entries of each session's `fetch_cached` LRU.
    pub cache_capacity: usize,
    /// The longest `fetch_cached` key or `subscribe` topic, in bytes.
    pub max_key_bytes: usize,
    /// Distinct `subscribe` topics per session.
    pub max_listeners: usize,
    /// Monitors running at once per session.
    pub max_monitors: usize,
    /// The largest `count` of the `stream` and `monitor` tools.
    pub max_events: u64,
    /// The largest `size` of the `stream` tool (filler bytes per progress notification).
    pub max_progress_bytes: usize,
    /// The largest `delay_ms` of `stream` and `interval_ms` of `monitor`.
    pub max_delay: Millis,
    /// What each cached content, each listener and each monitor holds beyond its own few
    /// bytes, as a real server's document, closure context or buffer would: 0 in process,
    /// where the oracles read the counts; `serve` makes it 256 KiB, so that a leak of any of
    /// them shows from outside, in the process's memory.
    pub retained_bytes: usize,
}

impl Default for ToolLimits {
    /// 64 cache entries, 1 KiB keys, 16 listeners, 4 monitors, 1000 events of at most 64 KiB,
    /// delays up to 60 s, nothing retained beyond the objects themselves.
    fn default() -> Self {
        Self {
            cache_capacity: 64,
            max_key_bytes: 1024,
            max_listeners: 16,
            max_monitors: 4,
            max_events: 1000,
            max_progress_bytes: 64 << 10,
            max_delay: Millis(60_000),
            retained_bytes: 0,
        }
    }
}

/// Everything the reference server can be told.
///
/// Create the server inside the tokio runtime that will drive it: its clock starts then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The path of the one MCP endpoint.
    pub path: String,
    /// Limits of every SSE response stream.
    pub stream: StreamConfig,
    /// Limits of the session store (its idle timeout is the session expiry).
    pub session: SessionConfig,
    /// Where session ids and the event-id key come from: the OS by default;
    /// [`Entropy::Seeded`] makes a run replayable (and every id predictable: tests only).
    pub entropy: Entropy,
    /// One classic bug, switched on in the models (copied into `stream.fault` and
    /// `session.fault`, overriding them): the seam the vulnerable fixtures use. `None` is the
    /// correct server.
    pub fault: Option<Fault>,
    /// One classic bug, switched on in the server itself (see [`Bug`]): the seam of the
    /// fixtures whose bug is not in a model. `None` is the correct server.
    pub bug: Option<Bug>,
    /// Hosts (without port, IPv6 in brackets, compared case-insensitively) accepted in `Host`:
    /// the DNS-rebinding check.
    pub allowed_hosts: Vec<String>,
    /// Hosts accepted in an `Origin` (`http` or `https`, any port). A request without `Origin`
    /// is accepted.
    pub allowed_origin_hosts: Vec<String>,
    /// The largest POST body; a larger one gets 413.
    pub max_request_bytes: usize,
    /// How long a POST body may take to arrive; a slower one gets 408.
    pub request_timeout: Millis,
    /// Request streams whose client went away before the end, kept per session for
    /// resumption; the oldest beyond this are closed.
    pub retained_streams: usize,
    /// The `retry` sent at the start of each 2025-11-25 stream.
    pub retry: Millis,
    /// The limits of the built-in tools.
    pub tools: ToolLimits,
}

impl Default for ServerConfig {
    /// `/mcp`; the models' default limits; OS entropy; no fault and no bug; loopback hosts
    /// and origins (`localhost`, `127.0.0.1`, `[::1]`); 128 KiB bodies within 30 s; 8 retained
    /// streams; retry 1 s; the default tool limits.
    fn default() -> Self {
        let loopback = ["localhost", "127.0.0.1", "[::1]"]
            .map(String::from)
            .to_vec();
        Self {
            path: "/mcp".to_owned(),
            stream: StreamConfig::default(),
            session: SessionConfig::default(),
            entropy: Entropy::Os,
            fault: None,
            bug: None,
            allowed_hosts: loopback.clone(),
            allowed_origin_hosts: loopback,
            max_request_bytes: 128 << 10,
            request_timeout: Millis(30_000),
            retained_streams: 8,
            retry: Millis(1_000),
            tools: ToolLimits::default(),
        }
    }
}

/// A configuration the server cannot run with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConfigError {
    /// The endpoint path does not start with `/`; holds the path.
    #[error("the endpoint path {0:?} must start with '/'")]
    Path(String),
    /// The high-water mark allows no byte or no chunk, so no stream could carry an event.
    #[error("the high-water mark must allow at least one byte and one chunk, or no stream could ever carry an event")]
    HighWater,
    /// Sessions are allowed no stream (`session.max_streams` is 0).
    #[error("a session must allow at least one stream")]
    NoStreams,
    /// The largest message a tool can send would not fit in one chunk of a stream.
    #[error("max_chunk_bytes is {max_chunk_bytes}, but the largest message the tools can send is {needed} bytes; raise max_chunk_bytes or lower max_request_bytes or tools.max_progress_bytes")]
    ChunkTooSmall {
        /// The stream's `max_chunk_bytes`.
        max_chunk_bytes: usize,
        /// The bytes the largest tool message can take, JSON escaping included.
        needed: usize,
    },
    /// The entropy source failed while drawing the session store's key.
    #[error(transparent)]
    Entropy(#[from] EntropyError),
}

impl ServerConfig {
    /// The configuration the models run with: `fault` copied in, every limit checked.
    ///
    /// Guarantee: every message a tool sends (JSON-escaped request parts included) fits in one
    /// chunk of a stream, so an event is never refused for its size.
    pub(crate) fn validated(mut self) -> Result<Self, ConfigError> {
        if !self.path.starts_with('/') {
            return Err(ConfigError::Path(self.path));
        }
        let mark = self.stream.high_water;
        if mark.bytes() == Some(0) || mark.chunks() == Some(0) {
            return Err(ConfigError::HighWater);
        }
        if self.session.max_streams == 0 {
            return Err(ConfigError::NoStreams);
        }
        let needed = self
            .max_request_bytes
            .saturating_mul(JSON_ESCAPE_GROWTH)
            .saturating_add(self.tools.max_progress_bytes)
            .saturating_add(ENVELOPE_BYTES);
        if needed > self.stream.max_chunk_bytes {
            return Err(ConfigError::ChunkTooSmall {
                max_chunk_bytes: self.stream.max_chunk_bytes,
                needed,
            });
        }
        self.stream.fault = self.fault;
        self.session.fault = self.fault;
        Ok(self)
    }
}
