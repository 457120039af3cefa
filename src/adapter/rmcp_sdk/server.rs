//! The MCP server behind the rmcp target, written with rmcp's tool macros.
//!
//! Its tools mirror the reference server's, so one scenario means the same on both:
//! - `echo {text}` returns `text` as text content;
//! - `stream {count, size, delay_ms}` sends `count` `notifications/progress` (progress `1..=count`
//!   of `count`, `message` = `size` filler bytes), each after `delay_ms`, with the request's
//!   progress token (its id when it gave none), then returns a text result;
//! - `fetch_cached {key}` answers `hit`/`miss` from a small per-session cache.
//!
//! `stream` stops when rmcp cancels its request (its `RequestContext::ct`), and its stateless
//! calls are counted while they run, so that cancellation on a closed stream can be judged.
//!
//! rmcp's `StreamableHttpService` builds one [`Server`] per session, so per-session state lives in
//! the server itself and is freed when rmcp drops it (the session ended).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::RequestContext;
use rmcp::{schemars, tool, tool_handler, tool_router, ErrorData, RoleServer, ServerHandler};
use serde::Deserialize;

/// The most progress notifications one `stream` call sends.
pub(super) const MAX_COUNT: u64 = 1000;
/// The most filler bytes in one progress notification.
pub(super) const MAX_SIZE: u64 = 64 << 10;
/// The longest delay between two progress notifications, in milliseconds.
pub(super) const MAX_DELAY_MS: u64 = 10_000;
/// The most entries one session's `fetch_cached` cache holds.
pub(super) const CACHE_CAPACITY: usize = 16;

/// The arguments of `echo`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub(super) struct EchoArgs {
    /// The text to return; a 2026-07-28 request carries it in `Mcp-Param-Text` too.
    #[schemars(extend("x-mcp-header" = "Text"))]
    pub text: String,
}

/// The arguments of `stream`; each is capped (see [`MAX_COUNT`], [`MAX_SIZE`],
/// [`MAX_DELAY_MS`]).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub(super) struct StreamArgs {
    /// How many progress notifications to send.
    #[serde(default = "default_count")]
    pub count: u64,
    /// The filler bytes in each notification's message.
    #[serde(default = "default_size")]
    pub size: u64,
    /// The milliseconds to wait before each notification.
    #[serde(default)]
    pub delay_ms: u64,
}

fn default_count() -> u64 {
    3
}

fn default_size() -> u64 {
    16
}

/// The arguments of `fetch_cached`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(crate = "rmcp::schemars")]
pub(super) struct FetchArgs {
    /// The key to look up (and remember on a miss).
    pub key: String,
}

/// One session's server.
#[derive(Debug)]
pub(crate) struct Server {
    tool_router: ToolRouter<Self>,
    cache: Mutex<Cache>,
    /// `stream` calls of stateless (2026-07-28) requests in progress, over every server.
    working: Arc<AtomicUsize>,
}

/// Counts one stateless `stream` call for as long as its handler runs (to its end, or until
/// rmcp drops it).
struct Working(Arc<AtomicUsize>);

impl Working {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count.clone())
    }
}

impl Drop for Working {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Server {
    /// The tools' router, to build once and clone into each server: rmcp makes a server per
    /// session, and per request of the stateless era, and building the router derives every
    /// tool's schema again.
    pub(super) fn routes() -> ToolRouter<Self> {
        Self::tool_router()
    }

    /// A server with the tools of `routes`, whose cache entries are counted in
    /// `cache_entries`, and its stateless `stream` calls in progress in `working` (both
    /// shared by every session).
    pub(super) fn new(
        routes: ToolRouter<Self>,
        cache_entries: Arc<AtomicUsize>,
        working: Arc<AtomicUsize>,
    ) -> Self {
        Self {
            tool_router: routes,
            cache: Mutex::new(Cache {
                keys: VecDeque::new(),
                counted: cache_entries,
            }),
            working,
        }
    }
}

#[tool_router]
impl Server {
    #[tool(description = "Returns `text` as text content.")]
    async fn echo(&self, Parameters(args): Parameters<EchoArgs>) -> String {
        args.text
    }

    #[tool(
        description = "Sends `count` progress notifications carrying `size` filler bytes, `delay_ms` apart, then its result."
    )]
    async fn stream(
        &self,
        Parameters(args): Parameters<StreamArgs>,
        context: RequestContext<RoleServer>,
    ) -> Result<String, ErrorData> {
        let count = args.count.min(MAX_COUNT);
        let delay = Duration::from_millis(args.delay_ms.min(MAX_DELAY_MS));
        let filler = "x".repeat(args.size.min(MAX_SIZE) as usize);
        let token = context
            .meta
            .get_progress_token()
            .unwrap_or_else(|| ProgressToken(context.id.clone()));
        // A request that names its version in `_meta` is stateless (2026-07-28).
        let _working = context
            .meta
            .protocol_version()
            .map(|_| Working::new(&self.working));
        for progress in 1..=count {
            if !delay.is_zero() {
                // A well-behaved tool stops when rmcp cancels its request, while it waits and
                // while it sends.
                tokio::select! {
                    () = context.ct.cancelled() => {
                        return Err(ErrorData::internal_error("cancelled", None));
                    }
                    () = tokio::time::sleep(delay) => {}
                }
            }
            let note = ProgressNotificationParam::new(token.clone(), progress as f64)
                .with_total(count as f64)
                .with_message(filler.clone());
            tokio::select! {
                () = context.ct.cancelled() => {
                    return Err(ErrorData::internal_error("cancelled", None));
                }
                sent = context.peer.notify_progress(note) => {
                    sent.map_err(|error| ErrorData::internal_error(error.to_string(), None))?;
                }
            }
        }
        Ok(format!("sent {count} progress notifications"))
    }

    #[tool(description = "Answers `hit` or `miss` for `key` from a small per-session cache.")]
    async fn fetch_cached(&self, Parameters(args): Parameters<FetchArgs>) -> String {
        let hit = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .fetch(&args.key);
        let outcome = if hit { "hit" } else { "miss" };
        format!("{outcome}: content of {}", args.key)
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Server {}

/// A session's `fetch_cached` keys, oldest first (the content is derived from the key).
///
/// Invariants: `keys.len() <= CACHE_CAPACITY`, the keys are distinct, and `counted` includes
/// exactly `keys.len()` for this cache while it lives.
#[derive(Debug)]
struct Cache {
    keys: VecDeque<String>,
    counted: Arc<AtomicUsize>,
}

impl Cache {
    /// Whether `key` was cached; remembers it if not, forgetting the oldest key when full.
    fn fetch(&mut self, key: &str) -> bool {
        if self.keys.iter().any(|kept| kept == key) {
            return true;
        }
        if self.keys.len() == CACHE_CAPACITY {
            self.keys.pop_front();
        } else {
            self.counted.fetch_add(1, Ordering::Relaxed);
        }
        self.keys.push_back(key.to_owned());
        false
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        self.counted.fetch_sub(self.keys.len(), Ordering::Relaxed);
    }
}
