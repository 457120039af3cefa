//! What the integration tests share: an in-process client for the reference server (requests
//! as a well-behaved client sends them, bodies read on the paused clock, events decoded by the
//! reference decoder).

use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HOST};
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_transport_fuzz::reference::{ReferenceBody, ReferenceServer};
use mcp_transport_fuzz::sse::{decode_chunks, Decoder, Event, Limits, Record};
use serde_json::{json, Value};
use tower::ServiceExt;

/// Protocol revisions the tests name.
pub const V03: &str = "2025-03-26";
pub const V06: &str = "2025-06-18";
pub const V11: &str = "2025-11-25";

/// Long enough for anything a test waits for; short enough that a hang fails fast (the clock
/// is paused, so this costs no real time).
pub const PATIENCE: Duration = Duration::from_secs(3600);

/// A request as a well-behaved client on loopback sends it.
pub fn request(method: Method, session: Option<&str>) -> http::request::Builder {
    let mut builder = Request::builder()
        .method(method.clone())
        .uri("/mcp")
        .header(HOST, "127.0.0.1:8080");
    builder = match method {
        Method::POST => builder
            .header(ACCEPT, "application/json, text/event-stream")
            .header(CONTENT_TYPE, "application/json"),
        Method::GET => builder.header(ACCEPT, "text/event-stream"),
        _ => builder,
    };
    if let Some(session) = session {
        builder = builder.header("mcp-session-id", session);
    }
    builder
}

pub fn with_body(builder: http::request::Builder, body: &Value) -> Request<Full<Bytes>> {
    builder
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request")
}

pub fn without_body(builder: http::request::Builder) -> Request<Full<Bytes>> {
    builder.body(Full::new(Bytes::new())).expect("request")
}

/// Sends `request` with any body; the reference server never fails a request.
pub async fn send<B>(server: &ReferenceServer, request: Request<B>) -> Response<ReferenceBody>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match server.clone().oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

pub async fn status(server: &ReferenceServer, request: Request<Full<Bytes>>) -> StatusCode {
    send(server, request).await.status()
}

pub fn rpc(id: u64, method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params })
}

pub fn tool(id: impl Into<Value>, name: &str, arguments: Value) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id.into(),
        "method": "tools/call",
        "params": { "name": name, "arguments": arguments },
    })
}

pub async fn post(
    server: &ReferenceServer,
    session: &str,
    message: &Value,
) -> Response<ReferenceBody> {
    send(
        server,
        with_body(request(Method::POST, Some(session)), message),
    )
    .await
}

pub async fn delete(server: &ReferenceServer, session: &str) -> StatusCode {
    status(server, without_body(request(Method::DELETE, Some(session)))).await
}

/// Reads the whole body (it must end).
pub async fn read_all(body: &mut ReferenceBody) -> Vec<u8> {
    let mut bytes = Vec::new();
    tokio::time::timeout(PATIENCE, async {
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.expect("infallible").into_data() {
                bytes.extend_from_slice(&data);
            }
        }
    })
    .await
    .expect("the body ends");
    bytes
}

/// Reads frames until `decoder` has seen `events` events with data; returns them.
pub async fn read_events(
    body: &mut ReferenceBody,
    decoder: &mut Decoder,
    events: usize,
) -> Vec<Event> {
    let mut records = Vec::new();
    let mut seen = Vec::new();
    while seen.len() < events {
        let frame = tokio::time::timeout(PATIENCE, body.frame())
            .await
            .expect("an event comes")
            .expect("the body goes on")
            .expect("infallible");
        if let Ok(data) = frame.into_data() {
            decoder.feed_owned(&data, &mut records).expect("decodes");
        }
        for record in records.drain(..) {
            match record {
                Record::Event(event) if !event.data.is_empty() => seen.push(event),
                Record::Event(_) | Record::Retry { .. } => {}
            }
        }
    }
    seen
}

/// A fresh decoder with the default limits.
pub fn decoder() -> Decoder {
    Decoder::new(Limits::default())
}

pub fn records(bytes: &[u8]) -> Vec<Record> {
    decode_chunks([bytes], Limits::default()).expect("decodes")
}

/// The events with data: the 2025-11-25 priming event (an id, empty data) left out.
pub fn events(bytes: &[u8]) -> Vec<Event> {
    records(bytes)
        .into_iter()
        .filter_map(|record| match record {
            Record::Event(event) if !event.data.is_empty() => Some(event),
            Record::Event(_) | Record::Retry { .. } => None,
        })
        .collect()
}

/// Every event of a whole body, the 2025-11-25 priming event included.
pub fn all_events(bytes: &[u8]) -> Vec<Event> {
    records(bytes)
        .into_iter()
        .filter_map(|record| match record {
            Record::Event(event) => Some(event),
            Record::Retry { .. } => None,
        })
        .collect()
}

pub fn json_of(event: &Event) -> Value {
    serde_json::from_str(&event.data).expect("JSON data")
}

/// Initializes a session; returns its id and the initialize result.
pub async fn initialize(server: &ReferenceServer, version: &str) -> (String, Value) {
    let message = rpc(
        0,
        "initialize",
        json!({ "protocolVersion": version, "capabilities": {}, "clientInfo": { "name": "t", "version": "0" } }),
    );
    let mut response = send(server, with_body(request(Method::POST, None), &message)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .expect("visible ASCII")
        .to_owned();
    let events = events(&read_all(response.body_mut()).await);
    assert_eq!(events.len(), 1, "{events:?}");
    (session, json_of(&events[0])["result"].clone())
}

/// Calls a tool (request id 1) and reads its whole stream.
pub async fn call_tool_body(
    server: &ReferenceServer,
    session: &str,
    name: &str,
    args: Value,
) -> Vec<u8> {
    let mut response = post(server, session, &tool(1, name, args)).await;
    assert_eq!(response.status(), StatusCode::OK);
    read_all(response.body_mut()).await
}

/// Calls a tool and reads its whole stream; returns the events with data.
pub async fn call_tool(
    server: &ReferenceServer,
    session: &str,
    name: &str,
    args: Value,
) -> Vec<Event> {
    events(&call_tool_body(server, session, name, args).await)
}

/// Lets every task that can run, run (without moving the clock).
pub async fn settle() {
    for _ in 0..16 {
        tokio::task::yield_now().await;
    }
}

/// Calls a tool and reads its whole stream; returns every event, the priming one included.
pub async fn call_tool_all(
    server: &ReferenceServer,
    session: &str,
    name: &str,
    args: Value,
) -> Vec<Event> {
    all_events(&call_tool_body(server, session, name, args).await)
}
