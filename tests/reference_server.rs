//! The reference server driven in process, on a current-thread runtime with paused time.

use std::time::Duration;

use crate::support::*;
use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HOST, ORIGIN};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use mcp_transport_fuzz::model::{Entropy, HighWater, Millis, StreamConfig};
use mcp_transport_fuzz::reference::{ReferenceBody, ReferenceServer, ServerConfig};
use mcp_transport_fuzz::sse::{Decoder, Event, Limits, Record};
use serde_json::{json, Value};

fn server(config: ServerConfig) -> ReferenceServer {
    ReferenceServer::new(ServerConfig {
        entropy: Entropy::Seeded(7),
        ..config
    })
    .expect("valid config")
}

fn default_server() -> ReferenceServer {
    server(ServerConfig::default())
}

#[tokio::test(start_paused = true)]
async fn initialize_negotiates_each_version_with_an_unguessable_session_id() {
    let server = default_server();
    let mut ids = Vec::new();
    for version in [V03, V06, V11] {
        let message = rpc(0, "initialize", json!({ "protocolVersion": version }));
        let mut response = send(&server, with_body(request(Method::POST, None), &message)).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
        let id = response.headers()["mcp-session-id"]
            .to_str()
            .expect("ASCII")
            .to_owned();
        assert_eq!(id.len(), 48);
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        let bytes = read_all(response.body_mut()).await;
        let text = String::from_utf8(bytes.clone()).expect("UTF-8");
        let primed = text.starts_with("id: ") && text.contains("\ndata:\n\nretry: 1000\n\n");
        assert_eq!(primed, version == V11, "{text}");
        if primed {
            let records = records(&bytes);
            let Some(Record::Event(priming)) = records.first() else {
                panic!("{records:?}");
            };
            assert!(priming.data.is_empty() && !priming.last_event_id.is_empty());
            assert_eq!(records.get(1), Some(&Record::Retry { retry: 1000 }));
        }
        let events = events(&bytes);
        assert_eq!(events.len(), 1);
        let result = &json_of(&events[0])["result"];
        assert_eq!(result["protocolVersion"], version);
        assert!(!events[0].last_event_id.is_empty());
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    let (_, result) = initialize(&server, "2024-11-05").await;
    assert_eq!(
        result["protocolVersion"], V11,
        "an unsupported version gets the latest"
    );
}

#[tokio::test(start_paused = true)]
async fn tools_list_names_the_five_tools() {
    let server = default_server();
    let (session, _) = initialize(&server, V06).await;
    let mut response = post(&server, &session, &rpc(1, "tools/list", json!({}))).await;
    let events = events(&read_all(response.body_mut()).await);
    let names: Vec<String> = json_of(&events[0])["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|tool| tool["name"].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(
        names,
        ["echo", "stream", "fetch_cached", "subscribe", "monitor"]
    );
}

#[tokio::test(start_paused = true)]
async fn echo_of_sse_control_sequences_is_exactly_one_result_event() {
    let server = default_server();
    let (session, _) = initialize(&server, V06).await;
    let text = "a\n\nevent: evil\nid: 666\ndata: injected\r\n\r\nretry: 1\r:comment\0\u{2028}end";
    let mut response = post(&server, &session, &tool(9, "echo", json!({ "text": text }))).await;
    let records = records(&read_all(response.body_mut()).await);
    let [Record::Event(event)] = records.as_slice() else {
        panic!("exactly one event, no retry: {records:?}");
    };
    assert_eq!(event.event_type, "message");
    let message = json_of(event);
    assert_eq!(message["id"], 9);
    assert_eq!(message["result"]["content"][0]["text"], text);
}

#[tokio::test(start_paused = true)]
async fn stream_tool_sends_delayed_progress_then_its_result() {
    let server = default_server();
    let (session, _) = initialize(&server, V06).await;
    let start = tokio::time::Instant::now();
    let args = json!({ "count": 3, "size": 10, "delay_ms": 500 });
    let events = call_tool(&server, &session, "stream", args).await;
    assert!(start.elapsed() >= Duration::from_millis(1500));
    assert_eq!(events.len(), 4);
    for (n, event) in events[..3].iter().enumerate() {
        let note = json_of(event);
        assert_eq!(note["method"], "notifications/progress");
        assert_eq!(note["params"]["progress"], n as u64 + 1);
        assert_eq!(note["params"]["message"], "x".repeat(10));
    }
    assert_eq!(json_of(&events[3])["id"], 1);
    let mut ids: Vec<&str> = events.iter().map(|e| e.last_event_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4, "every event has its own id");
}

#[tokio::test(start_paused = true)]
async fn a_stalled_reader_holds_at_most_the_mark_plus_one_chunk() {
    let mark = 2048;
    let server = server(ServerConfig {
        stream: StreamConfig {
            high_water: HighWater::Bytes(mark),
            ..StreamConfig::default()
        },
        ..ServerConfig::default()
    });
    let (session, _) = initialize(&server, V06).await;
    let args = json!({ "count": 50, "size": 400, "delay_ms": 0 });
    let mut response = post(&server, &session, &tool(1, "stream", args)).await;
    // Nobody reads: the producer fills the stream to the mark and waits.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stalled = server.snapshot();
    assert!(stalled.max_held_bytes >= mark, "{stalled:?}");
    assert!(stalled.max_held_bytes <= mark + 1024, "{stalled:?}");
    assert!(stalled.backlog_frames <= 1, "{stalled:?}");
    assert_eq!(stalled.tasks.requests, 1, "the producer waits");
    let events = events(&read_all(response.body_mut()).await);
    assert_eq!(events.len(), 51, "everything arrives once the reader reads");
}

#[tokio::test(start_paused = true)]
async fn the_byte_cap_ends_a_stream_with_one_terminal_event() {
    let cap = 3000;
    let server = server(ServerConfig {
        stream: StreamConfig {
            byte_cap: cap,
            ..StreamConfig::default()
        },
        ..ServerConfig::default()
    });
    let (session, _) = initialize(&server, V06).await;
    let mut response = post(
        &server,
        &session,
        &tool(1, "stream", json!({ "count": 20, "size": 300 })),
    )
    .await;
    let bytes = read_all(response.body_mut()).await;
    let events = events(&bytes);
    let last = events.last().expect("events");
    assert_eq!(last.event_type, "size_limit");
    assert!(events[..events.len() - 1]
        .iter()
        .all(|e| e.event_type == "message"));
    let terminal = mcp_transport_fuzz::model::EndReason::SizeLimit
        .terminal_event()
        .len();
    assert!(bytes.len() <= cap + terminal, "{} bytes", bytes.len());
}

#[tokio::test(start_paused = true)]
async fn an_idle_stream_closes_even_if_never_polled_and_its_timer_ends() {
    let server = server(ServerConfig {
        stream: StreamConfig {
            idle_timeout: Millis(1000),
            ..StreamConfig::default()
        },
        ..ServerConfig::default()
    });
    let (session, _) = initialize(&server, V11).await;
    let mut response = send(&server, without_body(request(Method::GET, Some(&session)))).await;
    assert_eq!(response.status(), StatusCode::OK);
    settle().await;
    let open = server.snapshot();
    assert_eq!((open.open_connections, open.tasks.stream_timers), (1, 1));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let idle = server.snapshot();
    assert_eq!(idle.open_connections, 0, "{idle:?}");
    assert_eq!(idle.tasks.stream_timers, 0, "{idle:?}");
    assert!(idle.stream_ledger.is_zero(), "{idle:?}");
    let records = records(&read_all(response.body_mut()).await);
    let Some(Record::Event(last)) = records.last() else {
        panic!("{records:?}");
    };
    assert_eq!(last.event_type, "idle_timeout");
    assert_eq!(server.snapshot().connections, 0);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_body_releases_its_connection_and_the_request_goes_on() {
    let server = default_server();
    let (session, _) = initialize(&server, V06).await;
    settle().await;
    let baseline = server.snapshot();
    let args = json!({ "count": 5, "size": 10, "delay_ms": 100 });
    let mut response = post(&server, &session, &tool(1, "stream", args)).await;
    let mut decoder = Decoder::new(Limits::default());
    read_events(response.body_mut(), &mut decoder, 1).await;
    drop(response);
    let dropped = server.snapshot();
    assert_eq!((dropped.connections, dropped.open_connections), (0, 0));
    assert_eq!(dropped.stream_ledger, baseline.stream_ledger);
    assert!(dropped.stream_ledger.is_zero());
    settle().await;
    assert_eq!(server.snapshot().tasks.stream_timers, 0);
    assert_eq!(
        server.snapshot().tasks.requests,
        1,
        "a disconnect does not cancel"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let done = server.snapshot();
    assert_eq!(done.tasks, baseline.tasks);
    assert_eq!(
        done.streams, 1,
        "the undelivered stream is retained: {done:?}"
    );
    assert_eq!(
        status(
            &server,
            without_body(request(Method::DELETE, Some(&session)))
        )
        .await,
        StatusCode::OK
    );
    settle().await;
    let after = server.snapshot();
    assert!(after.is_empty(), "{after:?}");
}

/// Starts `stream` (count 4, 100 ms apart), reads the first two progress events, drops the
/// body and lets the request finish into the log; returns the two events.
async fn interrupted_stream(server: &ReferenceServer, session: &str) -> Vec<Event> {
    let args = json!({ "count": 4, "size": 8, "delay_ms": 100 });
    let mut response = post(server, session, &tool(3, "stream", args)).await;
    let mut decoder = Decoder::new(Limits::default());
    let seen = read_events(response.body_mut(), &mut decoder, 2).await;
    drop(response);
    tokio::time::sleep(Duration::from_secs(1)).await;
    seen
}

fn resume(session: &str, last_event_id: &str) -> Request<Full<Bytes>> {
    without_body(request(Method::GET, Some(session)).header("last-event-id", last_event_id))
}

#[tokio::test(start_paused = true)]
async fn resuming_own_id_replays_exactly_the_events_after_it() {
    let server = default_server();
    let (session, _) = initialize(&server, V06).await;
    let seen = interrupted_stream(&server, &session).await;
    let mut response = send(&server, resume(&session, &seen[0].last_event_id)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut decoder = Decoder::new(Limits::default());
    let replayed = read_events(response.body_mut(), &mut decoder, 4).await;
    assert_eq!(
        replayed[0], seen[1],
        "the event after the id comes first, the id's own not at all"
    );
    let progress: Vec<Value> = replayed[..3]
        .iter()
        .map(|e| json_of(e)["params"]["progress"].clone())
        .collect();
    assert_eq!(progress, [json!(2), json!(3), json!(4)]);
    assert_eq!(json_of(&replayed[3])["id"], 3, "then the response");
    let rest = events(&read_all(response.body_mut()).await);
    assert!(rest.is_empty(), "nothing more: {rest:?}");
}

#[tokio::test(start_paused = true)]
async fn foreign_forged_mutated_and_ended_ids_are_refused_and_replay_nothing() {
    let server = default_server();
    let (alice, _) = initialize(&server, V06).await;
    let (bob, _) = initialize(&server, V06).await;
    let alices = interrupted_stream(&server, &alice).await;
    let own = alices[0].last_event_id.clone();
    let mut mutated = own.clone().into_bytes();
    let last = mutated.len() - 1;
    mutated[last] = if mutated[last] == b'0' { b'1' } else { b'0' };
    let mutated = String::from_utf8(mutated).expect("ASCII");
    let forged = format!("1-1-{}-{}", "0".repeat(16), "0".repeat(32));
    let mut bodies = Vec::new();
    for (session, id) in [
        (&bob, own.as_str()),
        (&alice, &mutated),
        (&alice, &forged),
        (&alice, "garbage"),
    ] {
        let mut response = send(&server, resume(session, id)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{id}");
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        bodies.push(read_all(response.body_mut()).await);
    }
    assert!(
        bodies.windows(2).all(|pair| pair[0] == pair[1]),
        "one answer for every bad id"
    );
    // Another stream's id: a stream read to its end is closed, so its ids replay nothing.
    let done = call_tool(&server, &alice, "echo", json!({ "text": "hi" })).await;
    let mut response = send(&server, resume(&alice, &done[0].last_event_id)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(events(&read_all(response.body_mut()).await).is_empty());
    // The interrupted stream is still Alice's to resume, and only its own events come back.
    let mut response = send(&server, resume(&alice, &own)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let replayed = events(&read_all(response.body_mut()).await);
    assert_eq!(replayed.len(), 4);
    assert!(replayed
        .iter()
        .all(|event| json_of(event).get("id").is_none_or(|id| *id == 3)));
}

#[tokio::test(start_paused = true)]
async fn delete_ends_the_session_and_releases_everything() {
    let server = default_server();
    let (session, _) = initialize(&server, V11).await;
    let mut standalone = send(&server, without_body(request(Method::GET, Some(&session)))).await;
    assert_eq!(standalone.status(), StatusCode::OK);
    call_tool(&server, &session, "subscribe", json!({})).await;
    call_tool(&server, &session, "fetch_cached", json!({ "key": "k" })).await;
    let hit = call_tool(&server, &session, "fetch_cached", json!({ "key": "k" })).await;
    assert_eq!(
        json_of(&hit[0])["result"]["content"][0]["text"],
        "hit: content of k"
    );
    call_tool(
        &server,
        &session,
        "monitor",
        json!({ "count": 100, "interval_ms": 10 }),
    )
    .await;
    let mut decoder = Decoder::new(Limits::default());
    let notes = read_events(standalone.body_mut(), &mut decoder, 3).await;
    assert_eq!(json_of(&notes[0])["params"]["data"]["fetched"], "k");
    let busy = server.snapshot();
    assert_eq!(
        (busy.listeners, busy.cache_entries, busy.monitors),
        (1, 1, 1)
    );
    assert_eq!(busy.tasks.monitors, 1);
    let delete = without_body(request(Method::DELETE, Some(&session)));
    assert_eq!(status(&server, delete).await, StatusCode::OK);
    let rest = read_all(standalone.body_mut()).await;
    assert!(rest.len() < 4096, "the standalone stream ends");
    for method in [Method::POST, Method::GET, Method::DELETE] {
        let builder = request(method.clone(), Some(&session));
        let again = with_body(builder, &rpc(5, "ping", json!({})));
        assert_eq!(
            status(&server, again).await,
            StatusCode::NOT_FOUND,
            "{method}"
        );
    }
    drop(standalone);
    settle().await;
    let after = server.snapshot();
    assert!(after.is_empty(), "{after:?}");
}

#[tokio::test(start_paused = true)]
async fn an_idle_session_expires_and_releases_everything() {
    let mut config = ServerConfig::default();
    config.session.idle_timeout = Millis(5_000);
    let server = server(config);
    let (session, _) = initialize(&server, V06).await;
    call_tool(&server, &session, "fetch_cached", json!({ "key": "k" })).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    settle().await;
    assert!(server.snapshot().is_empty(), "{:?}", server.snapshot());
    let ping = post(&server, &session, &rpc(2, "ping", json!({}))).await;
    assert_eq!(ping.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(start_paused = true)]
async fn lifecycle_missteps_get_their_statuses() {
    let server = default_server();
    let (session, _) = initialize(&server, V06).await;
    let ping = rpc(2, "ping", json!({}));
    let cases: Vec<(&str, Request<Full<Bytes>>, StatusCode)> = vec![
        (
            "missing session",
            with_body(request(Method::POST, None), &ping),
            StatusCode::BAD_REQUEST,
        ),
        (
            "unknown session",
            with_body(request(Method::POST, Some(&"ab".repeat(24))), &ping),
            StatusCode::NOT_FOUND,
        ),
        (
            "bad version",
            with_body(
                request(Method::POST, Some(&session)).header("mcp-protocol-version", "1999-01-01"),
                &ping,
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            "other version",
            with_body(
                request(Method::POST, Some(&session)).header("mcp-protocol-version", V11),
                &ping,
            ),
            StatusCode::BAD_REQUEST,
        ),
        (
            "negotiated version",
            with_body(
                request(Method::POST, Some(&session)).header("mcp-protocol-version", V06),
                &ping,
            ),
            StatusCode::OK,
        ),
        (
            "foreign origin",
            with_body(
                request(Method::POST, Some(&session)).header(ORIGIN, "https://evil.example"),
                &ping,
            ),
            StatusCode::FORBIDDEN,
        ),
        (
            "loopback origin",
            with_body(
                request(Method::POST, Some(&session)).header(ORIGIN, "http://localhost:5173"),
                &ping,
            ),
            StatusCode::OK,
        ),
        (
            "notification",
            with_body(
                request(Method::POST, Some(&session)),
                &json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
            ),
            StatusCode::ACCEPTED,
        ),
        (
            "other path",
            without_body(request(Method::GET, Some(&session)).uri("/other")),
            StatusCode::NOT_FOUND,
        ),
        (
            "other method",
            without_body(request(Method::PUT, Some(&session))),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (name, request, expected) in cases {
        assert_eq!(status(&server, request).await, expected, "{name}");
    }
    // `header` appends, so these requests are built without the good headers.
    let foreign_host = Request::post("/mcp")
        .header(HOST, "evil.example:8080")
        .header(ACCEPT, "application/json, text/event-stream")
        .header(CONTENT_TYPE, "application/json")
        .header("mcp-session-id", &session);
    assert_eq!(
        status(&server, with_body(foreign_host, &ping)).await,
        StatusCode::FORBIDDEN
    );
    let only_json = Request::post("/mcp")
        .header(HOST, "localhost")
        .header(ACCEPT, "application/json")
        .header(CONTENT_TYPE, "application/json")
        .header("mcp-session-id", &session);
    assert_eq!(
        status(&server, with_body(only_json, &ping)).await,
        StatusCode::NOT_ACCEPTABLE
    );
    let get_json = Request::get("/mcp")
        .header(HOST, "localhost")
        .header(ACCEPT, "application/json")
        .header("mcp-session-id", &session);
    assert_eq!(
        status(&server, without_body(get_json)).await,
        StatusCode::NOT_ACCEPTABLE
    );
    let no_host = Request::post("/mcp")
        .header(ACCEPT, "application/json, text/event-stream")
        .header(CONTENT_TYPE, "application/json");
    assert_eq!(
        status(&server, with_body(no_host, &ping)).await,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test(start_paused = true)]
async fn malformed_json_is_a_parse_error() {
    let server = default_server();
    let request = request(Method::POST, None).body(Full::new(Bytes::from_static(b"{\"jsonrpc\":")));
    let mut response = send(&server, request.expect("request")).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = serde_json::from_slice(&read_all(response.body_mut()).await).expect("JSON");
    assert_eq!(body["error"]["code"], -32700);
    assert_eq!(body["id"], Value::Null);
}

#[tokio::test(start_paused = true)]
async fn a_second_standalone_get_conflicts() {
    let server = default_server();
    let (session, _) = initialize(&server, V06).await;
    let first = send(&server, without_body(request(Method::GET, Some(&session)))).await;
    assert_eq!(first.status(), StatusCode::OK);
    let second = send(&server, without_body(request(Method::GET, Some(&session)))).await;
    assert_eq!(second.status(), StatusCode::CONFLICT);
    drop(first);
    let third = send(&server, without_body(request(Method::GET, Some(&session)))).await;
    assert_eq!(
        third.status(),
        StatusCode::OK,
        "the stream is free again once its body is gone"
    );
}

/// Serves the server on 127.0.0.1 with hyper, one connection at a time, in real time.
async fn serve_on_loopback(server: ReferenceServer) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let service = hyper_util::service::TowerToHyperService::new(server.clone());
            let io = hyper_util::rt::TokioIo::new(socket);
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(io, service));
        }
    });
    address
}

/// Sends one raw HTTP/1.1 request (the connection closes after the response); returns the
/// whole response as text.
async fn exchange(address: std::net::SocketAddr, host: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nAccept: application/json, text/event-stream\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    socket.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut response))
        .await
        .expect("the server answers")
        .expect("read");
    String::from_utf8(response).expect("UTF-8")
}

#[tokio::test]
async fn serves_on_a_loopback_port() {
    let address = serve_on_loopback(default_server()).await;
    let initialize = rpc(0, "initialize", json!({ "protocolVersion": V06 })).to_string();
    let response = exchange(address, &address.to_string(), &initialize).await;
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response
            .to_ascii_lowercase()
            .contains("\r\nmcp-session-id: "),
        "{response}"
    );
    assert!(
        response.contains(r#""protocolVersion":"2025-06-18""#),
        "{response}"
    );
    let rebinding = exchange(address, "attacker.example", &initialize).await;
    assert!(
        rebinding.starts_with("HTTP/1.1 403 Forbidden\r\n"),
        "{rebinding}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_resume_past_the_log_is_refused_rather_than_gapped() {
    let mut config = ServerConfig::default();
    config.session.log.max_events = 2;
    let server = server(config);
    let (session, _) = initialize(&server, V06).await;
    let seen = interrupted_stream(&server, &session).await;
    let mut response = send(&server, resume(&session, &seen[0].last_event_id)).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(events(&read_all(response.body_mut()).await).is_empty());
}

/// Runs a small script against a fresh server; returns every byte it received.
async fn script(seed: u64) -> Vec<u8> {
    let config = ServerConfig {
        entropy: Entropy::Seeded(seed),
        ..ServerConfig::default()
    };
    let server = ReferenceServer::new(config).expect("valid config");
    let mut transcript = Vec::new();
    let message = rpc(0, "initialize", json!({ "protocolVersion": V11 }));
    let mut response = send(&server, with_body(request(Method::POST, None), &message)).await;
    let session = response.headers()["mcp-session-id"]
        .to_str()
        .expect("ASCII")
        .to_owned();
    transcript.extend_from_slice(session.as_bytes());
    transcript.extend(read_all(response.body_mut()).await);
    let args = json!({ "count": 3, "size": 5, "delay_ms": 7 });
    let mut response = post(&server, &session, &tool(1, "stream", args)).await;
    transcript.extend(read_all(response.body_mut()).await);
    transcript
}

#[tokio::test(start_paused = true)]
async fn the_same_seed_gives_the_same_bytes() {
    let first = script(11).await;
    assert!(first == script(11).await, "replays byte for byte");
    assert!(first != script(12).await, "another seed, other ids");
}

/// A tiny deterministic generator for the random walks (xorshift64*).
struct Walker(u64);

impl Walker {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % below.max(1)
    }

    fn pick<T>(&mut self, items: &[T]) -> Option<usize> {
        (!items.is_empty()).then(|| self.next(items.len() as u64) as usize)
    }
}

/// An id seen so far: one of `session`'s own two times in three, any other's otherwise.
fn pick_id(walker: &mut Walker, seen: &[(usize, String)], session: usize) -> Option<String> {
    let own: Vec<&String> = seen
        .iter()
        .filter(|(s, _)| *s == session)
        .map(|(_, id)| id)
        .collect();
    if walker.next(3) > 0 {
        if let Some(at) = walker.pick(&own) {
            return Some(own[at].clone());
        }
    }
    walker.pick(seen).map(|at| seen[at].1.clone())
}

/// A response body the walk holds, with what it decoded so far.
struct Held {
    session: usize,
    body: ReferenceBody,
    decoder: Decoder,
    ids: Vec<String>,
}

fn canary(session: usize) -> String {
    format!("canary-{session}-")
}

impl Held {
    /// Reads at most one frame within `wait` and checks its events: none carries another
    /// session's canary, each message is one whole JSON message, and no id repeats within the
    /// body. Returns the ids of the events read.
    async fn read_step(&mut self, wait: Duration, sessions: usize) -> Vec<String> {
        let Ok(Some(frame)) = tokio::time::timeout(wait, self.body.frame()).await else {
            return Vec::new();
        };
        let mut records = Vec::new();
        if let Ok(data) = frame.expect("infallible").into_data() {
            self.decoder
                .feed_owned(&data, &mut records)
                .expect("decodes");
        }
        let mut fresh = Vec::new();
        for record in records {
            let Record::Event(event) = record else {
                continue;
            };
            for other in (0..sessions).filter(|&other| other != self.session) {
                assert!(!event.data.contains(&canary(other)), "{event:?}");
            }
            if event.event_type == "message" && !event.data.is_empty() {
                let json = serde_json::from_str::<Value>(&event.data);
                assert!(json.is_ok(), "one whole message per event: {event:?}");
            }
            if event.event_type == "message" && !event.last_event_id.is_empty() {
                assert!(!self.ids.contains(&event.last_event_id), "{event:?} twice");
                self.ids.push(event.last_event_id.clone());
            }
            if !event.last_event_id.is_empty() {
                fresh.push(event.last_event_id);
            }
        }
        fresh
    }
}

/// Random interleavings of calls, partial reads, drops, stalls, resumes (own and foreign ids),
/// GETs and DELETEs: no event crosses sessions, no body repeats an id, the bounds hold after
/// every step, and once every session has ended nothing is left.
#[tokio::test(start_paused = true)]
async fn random_walks_keep_sessions_apart_bounded_and_clean() {
    let mark = 1024;
    let (mut resumed, mut refused, mut events_read) = (0, 0, 0);
    for seed in 1..=100u64 {
        let server = server(ServerConfig {
            stream: StreamConfig {
                high_water: HighWater::Both {
                    bytes: mark,
                    chunks: 8,
                },
                byte_cap: 16 << 10,
                idle_timeout: Millis(3_000),
                max_duration: Millis(20_000),
                ..StreamConfig::default()
            },
            retained_streams: 8,
            ..ServerConfig::default()
        });
        let mut walker = Walker(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut sessions: Vec<String> = Vec::new();
        let mut held: Vec<Held> = Vec::new();
        let mut seen: Vec<(usize, String)> = Vec::new();
        for step in 0..60 {
            let session = walker.pick(&sessions);
            let id = |s: usize| sessions[s].clone();
            let response = match (walker.next(14), session) {
                (0, _) | (_, None) => {
                    let version = [V03, V06, V11][walker.next(3) as usize];
                    sessions.push(initialize(&server, version).await.0);
                    None
                }
                (1, Some(s)) => {
                    let text = format!("{}\n\ndata: x\r{}", canary(s), walker.next(1000));
                    Some((
                        s,
                        post(
                            &server,
                            &id(s),
                            &tool(
                                canary(s) + &step.to_string(),
                                "echo",
                                json!({ "text": text }),
                            ),
                        )
                        .await,
                    ))
                }
                (2, Some(s)) => {
                    let args = json!({ "count": walker.next(20), "size": walker.next(600), "delay_ms": walker.next(50) });
                    Some((
                        s,
                        post(
                            &server,
                            &id(s),
                            &tool(canary(s) + &step.to_string(), "stream", args),
                        )
                        .await,
                    ))
                }
                (3, Some(s)) => {
                    let (name, args) = match walker.next(3) {
                        0 => ("subscribe", json!({})),
                        1 => (
                            "fetch_cached",
                            json!({ "key": canary(s) + &walker.next(3).to_string() }),
                        ),
                        _ => (
                            "monitor",
                            json!({ "count": walker.next(5), "interval_ms": walker.next(100) }),
                        ),
                    };
                    Some((
                        s,
                        post(
                            &server,
                            &id(s),
                            &tool(canary(s) + &step.to_string(), name, args),
                        )
                        .await,
                    ))
                }
                (4, Some(s)) => Some((
                    s,
                    send(&server, without_body(request(Method::GET, Some(&id(s))))).await,
                )),
                (5 | 6, Some(s)) => match pick_id(&mut walker, &seen, s) {
                    Some(last_event_id) => {
                        let response = send(&server, resume(&id(s), &last_event_id)).await;
                        if response.status() == StatusCode::OK {
                            resumed += 1;
                        } else {
                            refused += 1;
                        }
                        Some((s, response))
                    }
                    None => None,
                },
                (7, Some(s)) if walker.next(3) == 0 => {
                    let delete = without_body(request(Method::DELETE, Some(&id(s))));
                    let _ = send(&server, delete).await;
                    None
                }
                (8, _) => {
                    tokio::time::sleep(Duration::from_millis(walker.next(4000))).await;
                    None
                }
                (9, _) => {
                    if let Some(at) = walker.pick(&held) {
                        drop(held.swap_remove(at));
                    }
                    None
                }
                _ => {
                    if let Some(at) = walker.pick(&held) {
                        let wait = Duration::from_millis(walker.next(500));
                        let fresh = held[at].read_step(wait, sessions.len()).await;
                        events_read += fresh.len();
                        let session = held[at].session;
                        seen.extend(fresh.into_iter().map(|id| (session, id)));
                    }
                    None
                }
            };
            if let Some((session, response)) = response {
                if response.status() == StatusCode::OK {
                    let body = response.into_body();
                    let decoder = Decoder::new(Limits::default());
                    held.push(Held {
                        session,
                        body,
                        decoder,
                        ids: Vec::new(),
                    });
                }
            }
            let snapshot = server.snapshot();
            assert!(
                snapshot.max_held_bytes <= mark + 4096,
                "seed {seed}: {snapshot:?}"
            );
            assert!(!snapshot.session_ledger.overdrawn && !snapshot.stream_ledger.overdrawn);
        }
        drop(held);
        server.end_all_sessions();
        settle().await;
        let after = server.snapshot();
        assert!(after.is_empty(), "seed {seed}: {after:?}");
    }
    eprintln!("{events_read} events read, {resumed} resumes replayed, {refused} refused");
    assert!(events_read > 500 && resumed > 10 && refused > 10);
}
