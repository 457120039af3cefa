//! What each MCP method does, and the task that answers one request on its stream.

use std::sync::Arc;

use serde_json::{json, Value};

use super::rpc::{self, Request, RpcError};
use super::shared::Shared;
use super::state::{Destination, Gone, Listening};
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
    let stateless = shared.lock().is_stateless(&id);
    let outcome = match outcome {
        // 2026-07-28 results say whether they are complete.
        Ok(Value::Object(mut result)) if stateless => {
            result.insert("resultType".to_owned(), json!("complete"));
            Ok(Value::Object(result))
        }
        outcome => outcome,
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
        "server/discover" => Ok(discover_result()),
        "subscriptions/listen" => listen(shared, id, stream, request).await,
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

/// The methods a stateless request may call; any other gets 404 before a stream opens.
pub(crate) const STATELESS_METHODS: [&str; 4] = [
    "server/discover",
    "subscriptions/listen",
    "tools/list",
    "tools/call",
];

fn discover_result() -> Value {
    json!({
        "supportedVersions": ProtocolVersion::SUPPORTED,
        "capabilities": {
            "tools": { "listChanged": false },
            "logging": {},
            "resources": { "subscribe": true, "listChanged": true },
        },
        "ttlMs": 0,
        "cacheScope": "public",
        "_meta": { "io.modelcontextprotocol/serverInfo": {
            "name": "mcp-transport-fuzz-reference",
            "version": env!("CARGO_PKG_VERSION"),
        }},
    })
}

/// `subscriptions/listen`: acknowledges first, with the subset of the filter this server
/// honours (resource list changes and resource updates; it never changes its tools or
/// prompts), tagged with the subscription id (the request's id); then the stream carries the
/// changes asked for until the client closes it, which ends the request's session.
async fn listen(
    shared: &Arc<Shared>,
    id: SessionId,
    stream: StreamNo,
    request: &Request,
) -> Result<Value, Failure> {
    let filter = request
        .params
        .get("notifications")
        .and_then(Value::as_object)
        .ok_or_else(|| RpcError::invalid_params("`notifications` must be an object"))?;
    let resources_list_changed = filter.get("resourcesListChanged") == Some(&json!(true));
    let uris: Vec<String> = filter
        .get("resourceSubscriptions")
        .and_then(Value::as_array)
        .map(|uris| {
            uris.iter()
                .filter_map(|uri| Some(uri.as_str()?.to_owned()))
                .take(shared.config.tools.max_listeners)
                .collect()
        })
        .unwrap_or_default();
    let mut honoured = serde_json::Map::new();
    if resources_list_changed {
        honoured.insert("resourcesListChanged".to_owned(), json!(true));
    }
    if !uris.is_empty() {
        honoured.insert("resourceSubscriptions".to_owned(), json!(uris));
    }
    let ack = json!({
        "jsonrpc": "2.0",
        "method": "notifications/subscriptions/acknowledged",
        "params": {
            "_meta": { "io.modelcontextprotocol/subscriptionId": request.id },
            "notifications": honoured,
        },
    });
    emit(shared, id, Destination::Stream(stream), &ack).await?;
    shared.lock().session(&id).ok_or(Gone)?.listening = Some(Listening {
        stream,
        subscription: request.id.clone(),
        resources_list_changed,
        uris,
    });
    std::future::pending().await
}
