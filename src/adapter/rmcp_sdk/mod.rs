//! rmcp, the official Rust MCP SDK, as an in-process target: a small server written with its
//! tool macros ([`server`]), served by its `StreamableHttpService` (a tower service, no socket)
//! with its `LocalSessionManager`, with or without an event store ([`event_store`]), or with
//! its legacy session mode off (stateless 2026-07-28 only). Every variant serves 2026-07-28
//! requests statelessly; the first two serve the 2025 session era beside it.
//!
//! rmcp runs with its default `StreamableHttpServerConfig` but for SSE keep-alive, which is off
//! (its timer mixes the wall clock into tokio's paused one): `Host` must be `localhost`,
//! `127.0.0.1` or `::1` (else 403), `Origin` is not checked (its allow-list is empty), every
//! stream starts with a 3 s `retry` priming event, and the path is ignored (the target serves
//! [`ENDPOINT`]).
//!
//! Determinism: rmcp's session ids are random UUIDs with no way to choose them, so two runs of
//! one scenario differ in their session ids; everything else in the trace is the same (the
//! event store numbers its ids, and rmcp's other random ids never leave the process).

mod event_store;
mod server;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use http::Uri;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

use self::event_store::MemoryEventStore;
use self::server::Server;
use super::{InProcess, Resources, Target, ENDPOINT};

/// How rmcp keeps sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RmcpVariant {
    /// `LocalSessionManager` alone: resumption from its per-stream caches (16 messages).
    Local,
    /// `LocalSessionManager` with a bounded in-memory event store: resumption from the store.
    EventStore,
    /// Stateless only (`legacy_session_mode` off): every request is served as 2026-07-28
    /// serves it, with no session and no resumption.
    Stateless,
}

impl RmcpVariant {
    /// Every variant, in the order of their names.
    pub const ALL: [RmcpVariant; 3] = [
        RmcpVariant::Local,
        RmcpVariant::EventStore,
        RmcpVariant::Stateless,
    ];

    /// The variants that serve the 2025 session era.
    pub const SESSIONS: [RmcpVariant; 2] = [RmcpVariant::Local, RmcpVariant::EventStore];

    /// The variant's name: `local`, `event-store` or `stateless`.
    pub fn name(self) -> &'static str {
        match self {
            RmcpVariant::Local => "local",
            RmcpVariant::EventStore => "event-store",
            RmcpVariant::Stateless => "stateless",
        }
    }
}

impl fmt::Display for RmcpVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not one of [`RmcpVariant::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown rmcp variant `{0}` (expected `local`, `event-store` or `stateless`)")]
pub struct UnknownVariant(String);

impl FromStr for RmcpVariant {
    type Err = UnknownVariant;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|variant| variant.name() == name)
            .ok_or_else(|| UnknownVariant(name.to_owned()))
    }
}

/// rmcp in `variant`, as the tower service the in-process target drives and `serve` serves:
/// the same server, session manager and configuration either way, so a finding made in process
/// can be tried over a real socket. Also returns what reads its resources (see
/// [`rmcp_target`]).
pub(crate) fn rmcp_service(
    variant: RmcpVariant,
) -> (
    StreamableHttpService<Server, LocalSessionManager>,
    impl Fn() -> Resources + Send + Sync + 'static,
) {
    let store = Arc::new(MemoryEventStore::default());
    let manager = match variant {
        RmcpVariant::Local | RmcpVariant::Stateless => LocalSessionManager::default(),
        RmcpVariant::EventStore => LocalSessionManager::default().with_event_store(store.clone()),
    };
    let manager = Arc::new(manager);
    let cache_entries = Arc::new(AtomicUsize::new(0));
    let working = Arc::new(AtomicUsize::new(0));
    // sse-stream's keep-alive re-arms its tokio timer from `std::time::Instant::now()`,
    // which paused time leaves behind: after the first ping it would fire on every poll.
    let config = StreamableHttpServerConfig::default()
        .with_sse_keep_alive(None)
        .with_legacy_session_mode(variant != RmcpVariant::Stateless);
    let service = StreamableHttpService::new(
        {
            let (cache_entries, working) = (cache_entries.clone(), working.clone());
            let routes = Server::routes();
            move || {
                Ok(Server::new(
                    routes.clone(),
                    cache_entries.clone(),
                    working.clone(),
                ))
            }
        },
        manager.clone(),
        config,
    );
    let resources = move || Resources {
        sessions: manager
            .sessions
            .try_read()
            .ok()
            .map(|sessions| sessions.len()),
        logged_events: (variant == RmcpVariant::EventStore).then(|| store.events()),
        cache_entries: Some(cache_entries.load(Ordering::Relaxed)),
        stateless_requests: Some(working.load(Ordering::Relaxed)),
        ..Resources::default()
    };
    (service, resources)
}

/// rmcp in `variant`, named `rmcp:VARIANT`, as an in-process target. Create it inside the
/// runtime that will drive it.
///
/// Its resources report what rmcp lets us see: `sessions` (the session manager's map, `None` in
/// the instant it is locked), `cache_entries` (the `fetch_cached` caches of live sessions) and,
/// with the event store, `logged_events`. rmcp's streams, per-stream caches and tasks are out
/// of sight (`None`); the executor adds the runtime's tasks and the heap.
pub fn rmcp_target(variant: RmcpVariant) -> impl Target {
    let (service, resources) = rmcp_service(variant);
    InProcess::new(
        format!("rmcp:{variant}"),
        Uri::from_static(ENDPOINT),
        service,
        resources,
    )
}
