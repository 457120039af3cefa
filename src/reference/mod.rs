//! The reference MCP server: Streamable HTTP on top of the models, meant to be correct.
//!
//! [`ReferenceServer`] is a `tower_service::Service<http::Request<B>>` that needs no socket:
//! the fuzzing executor calls it in process, on a current-thread tokio runtime with paused
//! time, and reads each response body ([`ReferenceBody`], an `http_body::Body`) at its own pace
//! or drops it (a client abort). Any HTTP server that takes a tower service (hyper with
//! hyper-util, for one) can serve it on a loopback port as well.
//!
//! What it is made of:
//! - sessions, their streams and resumption logs from [`crate::model::SessionStore`]: session
//!   ids and the event-id key come from [`ServerConfig::entropy`], every event is written by
//!   the model's safe encoder with an id minted for its session and stream, and a resume
//!   replays only the asking session's events, of the id's stream, strictly after the id;
//! - every response stream is a [`crate::model::BoundedStream`]: byte cap (then a terminal
//!   event), high-water mark (producers wait: a stream buffers at most the mark plus one
//!   chunk, and at most one more frame, already logged, waits for room), idle timeout and
//!   maximum duration, applied by a timer task per stream even when nobody polls the body;
//! - the tools `echo`, `stream`, `fetch_cached` (a bounded per-session LRU), `subscribe`
//!   (bounded per-session listeners) and `monitor` (bounded periodic events on the standalone
//!   stream), all of whose state and tasks end with the session;
//! - [`ReferenceServer::snapshot`]: what the server holds, for the leak and cleanup oracles;
//! - [`ServerConfig::bug`]: one classic server-level [`Bug`] switched on, for the vulnerable
//!   fixtures (`None`, the default, is the correct server these docs describe; each bug is
//!   one check at the one place it is about, and whatever it keeps is released when the
//!   server's last handle is dropped at the latest).
//!
//! Statuses (the check order is in `http.rs`): a missing, empty or repeated `Mcp-Session-Id`
//! is 400, an unknown, deleted or expired session 404; a bad `MCP-Protocol-Version` 400; a
//! foreign `Origin` 403; a `Host` not allowed 403 (missing or malformed: 400); a bad `Accept`
//! 406; a second standalone GET, or a resume of a stream that has a live connection, 409.
//! A resume (`Last-Event-ID`) refused by the model maps as follows, nothing being replayed:
//! malformed, forged (mutated, invented) and another session's ids all get the same 400 and
//! message, so a refusal never confirms that an id is genuine; an id of a stream that has
//! ended (read to the end, or no longer retained) gets 400 (not 404, which would tell the
//! client its session is gone); an id whose successors were evicted from the bounded log gets
//! 409 rather than a replay with a silent gap.
//!
//! Disconnects (before 2026-07-28) do not cancel a request: its remaining events go to its
//! stream's log, and the stream is retained for resumption (at most
//! [`ServerConfig::retained_streams`] per session, oldest closed first) until the session ends.
//! A stream read to its end is closed at once.

mod body;
mod bug;
mod cache;
mod clock;
mod config;
mod decode;
mod guard;
mod methods;
mod modern;
mod refusal;
mod rpc;
mod shared;
mod snapshot;
mod state;
mod surface;
mod tasks;
mod tools;
mod version;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::sync::watch;

pub use body::ReferenceBody;
pub use bug::Bug;
pub use config::{ConfigError, ServerConfig, ToolLimits};
pub use snapshot::{LedgerTotals, Snapshot, TaskCounts};
pub use version::ProtocolVersion;

use shared::Shared;

/// The reference Streamable HTTP MCP server, as a tower service.
///
/// Cheap to clone: clones are handles to the same server. When the last handle is dropped,
/// every session ends and the server's stop signal goes, so every task of the server ends too
/// (bodies still held then read to their end).
#[derive(Debug, Clone)]
pub struct ReferenceServer {
    shared: Arc<Shared>,
    _owner: Arc<Owner>,
}

/// Ends every session when the last handle of the server goes, then drops the stop signal.
#[derive(Debug)]
struct Owner {
    shared: Arc<Shared>,
    /// Never sent on: dropped with the owner, which ends every task waiting on
    /// [`Shared::stopped`].
    _stop: watch::Sender<()>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.end_all(self.shared.now());
    }
}

impl ReferenceServer {
    /// A server with `config`; its clock starts now, so create it inside the runtime that will
    /// drive it (under `tokio::time::pause()` for determinism).
    pub fn new(config: ServerConfig) -> Result<Self, ConfigError> {
        let (stop, stopped) = watch::channel(());
        let shared = Arc::new(Shared::new(config, stopped)?);
        Ok(Self {
            _owner: Arc::new(Owner {
                shared: Arc::clone(&shared),
                _stop: stop,
            }),
            shared,
        })
    }

    /// The configuration in force (with the fault copied into the models' configs).
    pub fn config(&self) -> &ServerConfig {
        &self.shared.config
    }

    /// What the server holds now.
    pub fn snapshot(&self) -> Snapshot {
        self.shared.snapshot()
    }

    /// Ends every session now, as if each had been deleted by a correct server (a session
    /// that [`Bug::StateAfterDelete`] or [`Bug::DeletedIdAccepted`] kept after its DELETE
    /// ends too; what other bugs keep beyond sessions stays until the server is dropped).
    pub fn end_all_sessions(&self) {
        let mut state = self.shared.lock();
        state.end_all(self.shared.now());
    }
}

impl<B> tower_service::Service<http::Request<B>> for ReferenceServer
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<ReferenceBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    /// Always ready: every limit is enforced per request, with a status.
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        Box::pin(surface::handle(Arc::clone(&self.shared), request))
    }
}
