//! The exact heap of a Node server, through its V8 inspector on a loopback port.
//!
//! RSS of a collected heap moves in steps that have nothing to do with what is live (V8 lets
//! garbage pile up before a full collection). Node's inspector can force a collection and then
//! say what is live: `HeapProfiler.collectGarbage`, then `process.memoryUsage()` evaluated in
//! the server, whose `heapUsed + external` counts the JavaScript heap and the memory of
//! buffers. The inspector lists its WebSocket endpoint at `http://127.0.0.1:PORT/json/list`.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

/// How long one reading may take: a full collection of a large heap takes a while.
const READING: Duration = Duration::from_secs(10);

/// The live bytes of the Node server whose inspector listens on 127.0.0.1:`port`, after a
/// forced collection; `None` if the inspector cannot be reached or does not answer.
pub async fn live_heap_after_gc(port: u16) -> Option<u64> {
    timeout(READING, reading(port)).await.ok().flatten()
}

async fn reading(port: u16) -> Option<u64> {
    let url = debugger_url(port).await?;
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str()).await.ok()?;
    let expression =
        "(() => { const m = process.memoryUsage(); return m.heapUsed + m.external; })()";
    let requests = [
        json!({ "id": 1, "method": "HeapProfiler.collectGarbage" }),
        json!({ "id": 2, "method": "Runtime.evaluate",
                "params": { "expression": expression, "returnByValue": true } }),
    ];
    let mut live = None;
    for request in requests {
        let id = request["id"].clone();
        socket.send(Message::text(request.to_string())).await.ok()?;
        // Events (console output, ...) may come before the answer.
        let answer = loop {
            let Message::Text(text) = socket.next().await?.ok()? else {
                continue;
            };
            let message: Value = serde_json::from_str(&text).ok()?;
            if message["id"] == id {
                break message;
            }
        };
        live = answer
            .pointer("/result/result/value")
            .and_then(Value::as_u64);
    }
    let _ = socket.close(None).await;
    live
}

/// The WebSocket URL of the first target the inspector lists.
async fn debugger_url(port: u16) -> Option<String> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    let task = tokio::spawn(connection);
    let request = http::Request::get("/json/list")
        .header(http::header::HOST, format!("127.0.0.1:{port}"))
        .body(Empty::<bytes::Bytes>::new())
        .ok()?;
    let response = sender.send_request(request).await.ok()?;
    let body = response.into_body().collect().await.ok()?.to_bytes();
    task.abort();
    let targets: Value = serde_json::from_slice(&body).ok()?;
    targets
        .get(0)?
        .get("webSocketDebuggerUrl")?
        .as_str()
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_inspector_is_no_reading() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        assert_eq!(runtime.block_on(live_heap_after_gc(port)), None);
    }
}
