//! JSON-RPC 2.0 messages: what a POST body holds, and the messages the server writes.

use bytes::Bytes;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::refusal::{code, Refusal};

/// One JSON-RPC message from the client.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Message {
    Request(Request),
    /// A notification: the server only acknowledges them.
    Notification,
    /// A response to a server request (this server sends none, so it only acknowledges them).
    Response,
}

/// A JSON-RPC request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Request {
    /// A string or a number, echoed back as given.
    pub id: Value,
    pub method: String,
    /// The `params` object (empty when absent).
    pub params: Map<String, Value>,
}

/// A JSON-RPC error, sent in place of a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct RpcError {
    pub code: i64,
    pub message: String,
}

impl RpcError {
    pub(super) fn invalid_params(message: impl Into<String>) -> Self {
        Self {
            code: code::INVALID_PARAMS,
            message: message.into(),
        }
    }

    pub(super) fn method_not_found() -> Self {
        Self {
            code: code::METHOD_NOT_FOUND,
            message: "method not found".to_owned(),
        }
    }
}

/// Reads one message. A batch (a JSON array) is refused: this server takes one message per
/// POST, as every supported revision but 2025-03-26 requires.
pub(crate) fn parse(body: &[u8]) -> Result<Message, Refusal> {
    let value: Value = serde_json::from_slice(body).map_err(|_| Refusal::Parse)?;
    let mut object = match value {
        Value::Object(object) => object,
        Value::Array(_) => return Err(Refusal::InvalidMessage("batches are not supported")),
        _ => return Err(Refusal::InvalidMessage("a message must be a JSON object")),
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(Refusal::InvalidMessage("`jsonrpc` must be \"2.0\""));
    }
    let id = object.remove("id");
    let Some(method) = object.remove("method") else {
        let is_response = object.contains_key("result") != object.contains_key("error");
        return match id {
            Some(id) if is_response && valid_id(&id) => Ok(Message::Response),
            _ => Err(Refusal::InvalidMessage(
                "not a request, notification or response",
            )),
        };
    };
    let Value::String(method) = method else {
        return Err(Refusal::InvalidMessage("`method` must be a string"));
    };
    let params = match object.remove("params") {
        None => Map::new(),
        Some(Value::Object(params)) => params,
        Some(_) => return Err(Refusal::InvalidMessage("`params` must be an object")),
    };
    match id {
        None => Ok(Message::Notification),
        Some(id) if valid_id(&id) => Ok(Message::Request(Request { id, method, params })),
        Some(_) => Err(Refusal::InvalidMessage("`id` must be a string or a number")),
    }
}

/// MCP ids are strings or numbers, never null.
fn valid_id(id: &Value) -> bool {
    matches!(id, Value::String(_) | Value::Number(_))
}

/// The response to a request: `jsonrpc`, `id`, then exactly one of `result` and `error`.
#[derive(Debug, Serialize)]
pub(crate) struct Response<'a> {
    jsonrpc: &'static str,
    id: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<RpcError>,
}

/// The response to request `id`.
pub(crate) fn response(id: &Value, outcome: Result<Value, RpcError>) -> Response<'_> {
    let (result, error) = match outcome {
        Ok(result) => (Some(result), None),
        Err(error) => (None, Some(error)),
    };
    Response {
        jsonrpc: "2.0",
        id,
        result,
        error,
    }
}

/// A notification, serialised straight from its typed `params` (no JSON value is built).
#[derive(Debug, Serialize)]
pub(crate) struct Notification<P> {
    jsonrpc: &'static str,
    method: &'static str,
    params: P,
}

pub(crate) fn notification<P: Serialize>(method: &'static str, params: P) -> Notification<P> {
    Notification {
        jsonrpc: "2.0",
        method,
        params,
    }
}

/// The body of a refused request: a JSON-RPC error with a null id.
pub(crate) fn refusal_body(refusal: &Refusal) -> Bytes {
    let mut error = json!({ "code": refusal.rpc_code(), "message": refusal.to_string() });
    if let Some(data) = refusal.data() {
        error["data"] = data;
    }
    let value = json!({ "jsonrpc": "2.0", "id": null, "error": error });
    Bytes::from(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_messages() {
        let request = parse(br#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#);
        assert!(
            matches!(request, Ok(Message::Request(Request { ref method, .. })) if method == "ping")
        );
        let note = parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        assert_eq!(note, Ok(Message::Notification));
        let answer = parse(br#"{"jsonrpc":"2.0","id":"a","result":{}}"#);
        assert_eq!(answer, Ok(Message::Response));
    }

    #[test]
    fn refuses_what_is_not_one_message() {
        assert_eq!(parse(b"{"), Err(Refusal::Parse));
        for body in [
            &br#"[{"jsonrpc":"2.0","method":"ping","id":1}]"#[..],
            br#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
            br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":3}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}"#,
            br#"{"jsonrpc":"2.0","id":1,"result":{},"error":{}}"#,
        ] {
            assert!(
                matches!(parse(body), Err(Refusal::InvalidMessage(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
