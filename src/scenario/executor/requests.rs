//! The requests a client sends: JSON-RPC bodies and the headers of each kind of request.

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HOST, ORIGIN};
use http::{HeaderValue, Method, Request, Uri};
use serde_json::{json, Value};

use crate::scenario::{CacheKey, Misstep, ToolCall};
use crate::target::RequestBody;

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

/// Values that make each call's arguments fresh or repeated.
#[derive(Debug, Default)]
pub(super) struct Fresh(u64);

impl Fresh {
    fn next(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

/// The tool's name and the params of a `tools/call` for `call`; the request's own id is its
/// progress token, and `canary` ends every untrusted text.
pub(super) fn call_params(
    call: &ToolCall,
    rpc_id: u64,
    canary: &str,
    fresh: &mut Fresh,
) -> (&'static str, Value) {
    let (name, arguments) = match call {
        ToolCall::Echo { text } => (
            "echo",
            json!({ "text": format!("{}{canary}", text.render()) }),
        ),
        ToolCall::Stream {
            count,
            size,
            delay_ms,
        } => (
            "stream",
            json!({ "count": count, "size": size % 1025, "delay_ms": delay_ms % 2001 }),
        ),
        ToolCall::FetchCached { key } => {
            let key = match key {
                CacheKey::Fresh => format!("fresh-{}", fresh.next()),
                CacheKey::Repeat(n) => format!("key-{}", n % 4),
            };
            ("fetch_cached", json!({ "key": key }))
        }
        ToolCall::Subscribe => (
            "subscribe",
            json!({ "topic": format!("topic-{}", fresh.next()) }),
        ),
        ToolCall::Monitor { count, interval_ms } => (
            "monitor",
            json!({ "count": count % 33, "interval_ms": 10 + interval_ms % 4991 }),
        ),
    };
    let params =
        json!({ "name": name, "arguments": arguments, "_meta": { "progressToken": rpc_id } });
    (name, params)
}
