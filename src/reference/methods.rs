//! What each MCP method does, and the task that answers one request on its stream.

use std::sync::Arc;

use serde_json::{json, Value};

use super::rpc::{self, Request, RpcError};
use super::shared::Shared;
use super::state::{Destination, Gone};
use super::tasks::emit;
use super::tools;
use super::version::ProtocolVersion;
use crate::model::{SessionId, StreamNo};

/// Why a method produced no result.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The client gets this error in place of a result.
    Rpc(RpcError),
    /// The session ended: nobody is left to answer.
    Gone,
}

impl From<RpcError> for Failure {
    fn from(error: RpcError) -> Self {
        Failure::Rpc(error)
    }
}

impl From<Gone> for Failure {
    fn from(_: Gone) -> Self {
        Failure::Gone
    }
}

/// Answers `request` on `stream`: its events (if any), then its response, the stream's last
/// event. A client that went away does not stop it: the events go to the stream's log.
pub(crate) async fn answer(shared: Arc<Shared>, id: SessionId, stream: StreamNo, request: Request) {
    let outcome = match call(&shared, id, stream, &request).await {
        Ok(result) => Ok(result),
        Err(Failure::Rpc(error)) => Err(error),
        Err(Failure::Gone) => return,
    };
    let response = rpc::response(&request.id, outcome);
    if emit(&shared, id, Destination::Stream(stream), &response)
        .await
        .is_ok()
    {
        let mut state = shared.lock();
        state.finish_request(&id, stream, shared.now());
    }
}

async fn call(
    shared: &Arc<Shared>,
    id: SessionId,
    stream: StreamNo,
    request: &Request,
) -> Result<Value, Failure> {
    match request.method.as_str() {
        "initialize" => {
            let version = shared.lock().session(&id).ok_or(Gone)?.version;
            Ok(initialize_result(version))
        }
        "ping" => Ok(json!({})),
        "tools/list" => Ok(tools::list(&shared.config.tools)),
        "tools/call" => tools::call(shared, id, stream, request).await,
        _ => Err(RpcError::method_not_found().into()),
    }
}

fn initialize_result(version: ProtocolVersion) -> Value {
    json!({
        "protocolVersion": version.as_str(),
        "capabilities": { "tools": { "listChanged": false }, "logging": {} },
        "serverInfo": {
            "name": "mcp-transport-fuzz-reference",
            "version": env!("CARGO_PKG_VERSION"),
        },
    })
}
