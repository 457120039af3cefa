//! The requests a client sends: JSON-RPC bodies and the headers of each kind of request.

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HOST, ORIGIN};
use http::{HeaderValue, Method, Request, Uri};
use serde_json::{json, Value};

use crate::adapter::RequestBody;
use crate::scenario::Misstep;

pub(super) const MCP_SESSION_ID: &str = "mcp-session-id";
pub(super) const MCP_PROTOCOL_VERSION: &str = "mcp-protocol-version";
pub(super) const LAST_EVENT_ID: &str = "last-event-id";

/// What every POST accepts.
const POST_ACCEPT: &str = "application/json, text/event-stream";

/// An id no server gave out: 48 lowercase hex characters, the shape of the reference's ids.
pub(super) const UNKNOWN_SESSION_ID: &str = "00112233445566778899aabbccddeeff0011223344556677";

/// The headers of one request, before it is built.
#[derive(Debug, Clone, Default)]
pub(super) struct Headers {
    pub session_id: Option<String>,
    pub protocol_version: Option<String>,
    pub last_event_id: Option<String>,
    pub misstep: Option<Misstep>,
}

/// Builds a request to `endpoint` with `headers`, breaking the misstep's rule if there is one.
pub(super) fn build(
    endpoint: &Uri,
    method: Method,
    headers: &Headers,
    body: RequestBody,
) -> Request<RequestBody> {
    let mut request = Request::new(body);
    *request.method_mut() = method.clone();
    *request.uri_mut() = endpoint.clone();
    let map = request.headers_mut();
    let authority = endpoint.authority().map_or("127.0.0.1", |a| a.as_str());
    let mut insert = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            map.insert(name, value);
        }
    };
    insert(HOST.as_str(), authority);
    if method == Method::POST {
        insert(ACCEPT.as_str(), POST_ACCEPT);
        insert(CONTENT_TYPE.as_str(), "application/json");
    } else if method == Method::GET {
        insert(ACCEPT.as_str(), "text/event-stream");
    }
    let session_id = match headers.misstep {
        Some(Misstep::MissingSessionId) => None,
        Some(Misstep::UnknownSessionId) => Some(UNKNOWN_SESSION_ID),
        _ => headers.session_id.as_deref(),
    };
    if let Some(id) = session_id {
        insert(MCP_SESSION_ID, id);
    }
    match headers.misstep {
        Some(Misstep::BadProtocolVersion) => insert(MCP_PROTOCOL_VERSION, "1999-01-01"),
        _ => {
            if let Some(version) = &headers.protocol_version {
                insert(MCP_PROTOCOL_VERSION, version);
            }
        }
    }
    if let Some(id) = &headers.last_event_id {
        insert(LAST_EVENT_ID, id);
    }
    match headers.misstep {
        Some(Misstep::ForeignOrigin) => insert(ORIGIN.as_str(), "http://evil.example"),
        Some(Misstep::ForeignHost) => insert(HOST.as_str(), "evil.example"),
        Some(Misstep::BadAccept) => insert(ACCEPT.as_str(), "text/plain"),
        _ => {}
    }
    request
}

/// A JSON-RPC request body.
pub(super) fn rpc_request(id: u64, method: &str, params: Value) -> Bytes {
    Bytes::from(
        json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }).to_string(),
    )
}

/// A JSON-RPC notification body.
pub(super) fn rpc_notification(method: &str) -> Bytes {
    Bytes::from(json!({ "jsonrpc": "2.0", "method": method }).to_string())
}

/// The params of `initialize` asking for `version`.
pub(super) fn initialize_params(version: &str) -> Value {
    json!({
        "protocolVersion": version,
        "capabilities": {},
        "clientInfo": { "name": "mcp-transport-fuzz", "version": env!("CARGO_PKG_VERSION") },
    })
}

/// The params of a `tools/call` of `tool` with `arguments`; the request's own id is its
/// progress token.
pub(super) fn call_params(tool: &str, arguments: Value, rpc_id: u64) -> Value {
    json!({ "name": tool, "arguments": arguments, "_meta": { "progressToken": rpc_id } })
}

/// The resource URI of the repeated `fetch_cached` key `key` (`0..4`), as a server that
/// publishes its cache as resources names it.
pub(super) fn cache_uri(key: u8) -> String {
    format!("cache:///key-{key}")
}
