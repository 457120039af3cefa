//! Adapters: what the executor drives, each behind the one small [`Target`] trait.
//!
//! A [`Target`] speaks HTTP semantics over chunk streams that the executor controls: the
//! request body is an [`http_body_util::channel::Channel`] the executor feeds chunk by chunk
//! (or aborts mid-upload), and the response body is read at the executor's pace or dropped
//! (a client abort). A target also reports what it holds ([`Resources`]), for the leak and
//! cleanup oracles. Adapters know nothing of oracles:
//! - [`InProcess`] wraps any `tower_service::Service` with no socket in between;
//! - [`reference_target`] is the reference server (and, with a fault or bug in its
//!   configuration, a fixture) as an `InProcess`;
//! - [`rmcp_target`] is rmcp, the official Rust SDK, as an `InProcess`;
//! - [`socket`] is any server behind a socket ([`HttpTarget`]), optionally started and
//!   watched as a process group ([`ServerProcess`]).

mod in_process;
mod reference;
mod rmcp_sdk;
pub mod socket;

pub use in_process::InProcess;
pub use reference::{
    harness_config, harness_policy, policy_of, reference_target, resources_of, ENDPOINT,
    HARNESS_SEED,
};
pub(crate) use rmcp_sdk::rmcp_service;
pub use rmcp_sdk::{rmcp_target, RmcpVariant};
pub use socket::{HttpError, HttpTarget, Launch, ServerGroup, ServerProcess};

use crate::trace::Resources;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::{Request, Response};

/// The error type of every body in the harness.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A request body the executor feeds: [`http_body_util::channel::Sender::send_data`] for each
/// chunk, [`http_body_util::channel::Sender::abort`] (or dropping the sender before the last
/// chunk) for an aborted upload.
pub type RequestBody = http_body_util::channel::Channel<Bytes, BoxError>;

/// A response body, whatever the target's own body type.
pub type ResponseBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// A request in flight. It owns everything it needs, so several can be in flight at once.
pub type Call = Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, TargetError>>>>;

/// Why a target gave no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// The connection failed or was closed before a response head arrived.
    #[error("connection failed: {0}")]
    Connection(String),
    /// The target itself failed (an in-process service returned an error).
    #[error("the target failed: {0}")]
    Service(String),
}

/// A server under test, as the executor sees it.
pub trait Target {
    /// A short name for reports: `reference`, `fixture:NAME`, `rmcp:VARIANT`, a URL.
    fn name(&self) -> &str;

    /// The MCP endpoint's URL; the executor sends `Host` from its authority.
    fn endpoint(&self) -> &http::Uri;

    /// Sends `request`; the response head arrives when the returned future completes. The
    /// future does not borrow the target, so requests may overlap.
    fn call(&mut self, request: Request<RequestBody>) -> Call;

    /// What the target holds now, as far as it can tell (the executor adds the heap and the
    /// runtime's task count for in-process targets).
    fn resources(&self) -> Resources;

    /// Restarts the high-water mark of the memory the server holds at its level now, and
    /// returns that level in bytes; `None` when the target cannot watch it.
    fn restart_memory_peak(&mut self) -> Option<u64> {
        None
    }

    /// The most memory, in bytes, the server held since [`Target::restart_memory_peak`].
    fn memory_peak(&self) -> Option<u64> {
        None
    }

    /// Whether the target runs on the executor's paused, virtual clock (in process) or in real
    /// time (a process behind a socket), which sets the executor's deadlines.
    fn in_process(&self) -> bool;
}
