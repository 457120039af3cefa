//! The black-box HTTP target, in real time: against the reference served on a loopback port in
//! this process, against a raw socket that shows what goes on the wire, and against this
//! crate's own binary (`serve`) started as a `--cmd` server.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HOST};
use http::{Method, Request};
use http_body::Frame;
use http_body_util::BodyExt;
use mcp_transport_fuzz::adapter::socket::{AddressError, ProcessError};
use mcp_transport_fuzz::adapter::{
    harness_policy, HttpError, HttpTarget, Launch, RequestBody, Target, TargetError,
};
use mcp_transport_fuzz::commands::serve;
use mcp_transport_fuzz::executor::{execute, Deadlines};
use mcp_transport_fuzz::input::{Piece, Untrusted};
use mcp_transport_fuzz::oracle::judge;
use mcp_transport_fuzz::reference::ReferenceServer;
use mcp_transport_fuzz::runner::TargetSpec;
use mcp_transport_fuzz::scenario::seeds::seeds;
use mcp_transport_fuzz::scenario::{Op, Scenario, Slot, ToolCall, Upload, Version};
use mcp_transport_fuzz::trace::{Outcome, Purpose, Trace};
use serde_json::{json, Value};
use tokio::runtime::{Builder, Runtime};

/// Seeds left out of the real-time run: they wait for 10 s or more by design.
const SLOW_SEEDS: [&str; 2] = ["stall-standalone-stream", "monitor"];

/// How long anything a test waits for may take.
const PATIENCE: Duration = Duration::from_secs(5);

/// The reference (or a fixture) served on a loopback port by a runtime of its own, and the
/// current-thread, real-time runtime the client runs on.
struct Served {
    server: ReferenceServer,
    url: String,
    client: Runtime,
    /// Kept for its worker threads, which serve the connections.
    _runtime: Runtime,
}

fn served(spec: TargetSpec) -> Served {
    let runtime = Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let config = serve::config(spec).expect("servable");
    let (server, listener) = runtime.block_on(async {
        let server = ReferenceServer::new(config).expect("valid config");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        (server, listener)
    });
    let url = format!("http://{}/mcp", listener.local_addr().expect("address"));
    runtime.spawn(serve::accept(listener, server.clone()));
    Served {
        server,
        url,
        client: client_runtime(),
        _runtime: runtime,
    }
}

fn client_runtime() -> Runtime {
    Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Waits (polling, at most [`PATIENCE`]) until `done` holds, running `client` meanwhile (where
/// the target's connection tasks run: a dropped body's connection closes when they run);
/// says whether it did.
fn eventually(client: &Runtime, mut done: impl FnMut() -> bool) -> bool {
    client.block_on(async {
        let until = Instant::now() + PATIENCE;
        while Instant::now() < until {
            if done() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        done()
    })
}

fn run(served: &Served, target: &mut HttpTarget, scenario: &Scenario) -> Trace {
    served.client.block_on(execute(
        target,
        scenario,
        harness_policy(),
        Deadlines::real_time(),
    ))
}

fn seed(name: &str) -> Scenario {
    seeds()
        .into_iter()
        .find(|(seed, _)| *seed == name)
        .unwrap_or_else(|| panic!("no seed {name}"))
        .1
}

/// Every initialize got 200 and a session id, every server/discover 200.
fn assert_initialized(name: &str, trace: &Trace) {
    let mut initializes = 0;
    for exchange in &trace.exchanges {
        if exchange.purpose == Purpose::Discover {
            initializes += 1;
            assert_eq!(exchange.outcome.status(), Some(200), "{name}: discover");
            continue;
        }
        if exchange.purpose != Purpose::Initialize {
            continue;
        }
        initializes += 1;
        match &exchange.outcome {
            Outcome::Responded {
                status: 200,
                session_id: Some(_),
                ..
            } => {}
            other => panic!("{name}: initialize got {other:?}"),
        }
    }
    assert!(initializes > 0, "{name}: no initialize or discover");
}

/// The `tools/call` streams of `trace`, as the JSON of their events' data.
fn call_results(trace: &Trace) -> Vec<Vec<Value>> {
    trace
        .exchanges
        .iter()
        .filter(|exchange| matches!(exchange.purpose, Purpose::Call { .. }))
        .filter_map(|exchange| exchange.stream)
        .map(|stream| {
            trace.streams[stream]
                .events
                .iter()
                .filter(|event| !event.data.is_empty())
                .map(|event| serde_json::from_str(&event.data).expect("JSON data"))
                .collect()
        })
        .collect()
}

fn status_of(trace: &Trace, purpose: &Purpose) -> Option<u16> {
    trace
        .exchanges
        .iter()
        .find(|exchange| &exchange.purpose == purpose)
        .and_then(|exchange| exchange.outcome.status())
}

#[test]
fn the_seeds_run_over_http_against_the_served_reference() {
    let served = served(TargetSpec::Reference);
    let mut target = HttpTarget::new(&served.url, false).expect("loopback");
    let mut unexpected = Vec::new();
    for (name, scenario) in seeds() {
        if SLOW_SEEDS.contains(&name) {
            continue;
        }
        let started = Instant::now();
        let trace = run(&served, &mut target, &scenario);
        let took = started.elapsed();
        assert_initialized(name, &trace);
        for finding in judge(&trace) {
            unexpected.push(format!(
                "{name}: [{}/{}] {}",
                finding.oracle, finding.kind, finding.summary
            ));
        }
        println!("{name}: {} exchanges in {took:?}", trace.exchanges.len());
        match name {
            "two-echo-streams" | "echo-then-delete" => {
                let results = call_results(&trace);
                assert!(!results.is_empty(), "{name}: no call");
                for events in results {
                    let canary = &trace.sessions[0].canary;
                    assert!(
                        events
                            .iter()
                            .any(|event| event["result"].to_string().contains(canary.as_str())),
                        "{name}: the echo stream has no echo: {events:?}"
                    );
                }
            }
            "abort-upload" => {
                let call = trace
                    .exchanges
                    .iter()
                    .find(|exchange| exchange.upload.aborted)
                    .expect("the aborted call");
                assert!(
                    matches!(&call.outcome, Outcome::Failed { error, .. } if error.contains("aborted")),
                    "the aborted upload failed at once: {:?}",
                    call.outcome
                );
                assert!(took < Duration::from_secs(3), "no hang: {took:?}");
                assert!(
                    eventually(&served.client, || served.server.snapshot().uploads == 0),
                    "the server let the upload go"
                );
            }
            "large-fast-stream" => {
                let bytes = trace.streams.iter().map(|stream| stream.bytes).max();
                assert!(
                    bytes > Some(100 << 10),
                    "the stream (128 KiB under the reference's cap) was read over the socket: {bytes:?}"
                );
            }
            _ => {}
        }
        if name == "echo-then-delete" {
            assert_eq!(status_of(&trace, &Purpose::Delete), Some(200), "DELETE");
        }
    }
    assert!(
        unexpected.is_empty(),
        "findings on the reference:\n{}",
        unexpected.join("\n")
    );
    assert!(
        eventually(&served.client, || {
            let snapshot = served.server.snapshot();
            snapshot.connections == 0 && snapshot.sessions == 0 && snapshot.uploads == 0
        }),
        "everything was let go: {:?}",
        served.server.snapshot()
    );
    println!("{} connections opened", target.connections_opened());
}

#[test]
fn a_chunked_upload_is_accepted() {
    let served = served(TargetSpec::Reference);
    let mut target = HttpTarget::new(&served.url, false).expect("loopback");
    let s0 = Slot::of_index(0);
    let text = "chunked upload, one byte then seven then three";
    let scenario = Scenario {
        ops: vec![
            Op::Initialize {
                session: s0,
                version: Version::V2025_06_18,
            },
            Op::Call {
                session: s0,
                call: ToolCall::Echo {
                    text: Untrusted(vec![Piece::Text(text.to_owned())]),
                },
                upload: Upload {
                    chunks: vec![1, 7, 3],
                    abort_after: None,
                },
            },
        ],
    };
    let trace = run(&served, &mut target, &scenario);
    let call = trace
        .exchanges
        .iter()
        .find(|exchange| matches!(exchange.purpose, Purpose::Call { .. }))
        .expect("the call");
    assert!(call.upload.chunks > 3, "{:?}", call.upload);
    assert_eq!(call.outcome.status(), Some(200));
    let results = call_results(&trace);
    assert!(
        results[0]
            .iter()
            .any(|event| event["result"].to_string().contains(text)),
        "{results:?}"
    );
}

/// A request as a client on loopback sends it, with `body` as its only chunk (none if empty).
fn request(url: &str, method: Method, session: Option<&str>, body: &str) -> Request<RequestBody> {
    let (mut sender, channel) = RequestBody::new(1);
    if !body.is_empty() {
        assert!(sender
            .try_send(Frame::data(Bytes::from(body.to_owned())))
            .is_ok());
    }
    let uri: http::Uri = url.parse().expect("URL");
    let mut builder = Request::builder()
        .method(method.clone())
        .uri(url)
        .header(HOST, uri.authority().expect("authority").as_str())
        .header("mcp-protocol-version", "2025-06-18");
    builder = if method == Method::GET {
        builder.header(ACCEPT, "text/event-stream")
    } else {
        builder
            .header(ACCEPT, "application/json, text/event-stream")
            .header(CONTENT_TYPE, "application/json")
    };
    if let Some(session) = session {
        builder = builder.header("mcp-session-id", session);
    }
    builder.body(channel).expect("request")
}

fn rpc(id: u64, method: &str, params: Value) -> String {
    json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }).to_string()
}

/// Sends `request` and reads the whole response; returns its status, session id and body.
async fn exchange(
    target: &mut HttpTarget,
    request: Request<RequestBody>,
) -> (u16, Option<String>, Bytes) {
    let response = tokio::time::timeout(PATIENCE, target.call(request))
        .await
        .expect("a response in time")
        .expect("a response");
    let status = response.status().as_u16();
    let session = response
        .headers()
        .get("mcp-session-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = tokio::time::timeout(PATIENCE, response.into_body().collect())
        .await
        .expect("the body ends in time")
        .expect("the body")
        .to_bytes();
    (status, session, body)
}

async fn initialize(target: &mut HttpTarget, url: &str) -> String {
    let params = json!({ "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "t", "version": "0" } });
    let (status, session, _) = exchange(
        target,
        request(url, Method::POST, None, &rpc(0, "initialize", params)),
    )
    .await;
    assert_eq!(status, 200);
    session.expect("a session id")
}

#[test]
fn dropping_a_body_closes_its_connection_at_once() {
    let served = served(TargetSpec::Reference);
    let mut target = HttpTarget::new(&served.url, false).expect("loopback");
    let url = served.url.clone();
    let snapshot = || served.server.snapshot();
    let session = served.client.block_on(initialize(&mut target, &url));
    // A standalone stream the server writes nothing on: only the closed socket tells it.
    let standalone = served
        .client
        .block_on(target.call(request(&url, Method::GET, Some(&session), "")))
        .expect("a response");
    assert_eq!(standalone.status(), 200);
    assert!(
        eventually(&served.client, || snapshot().connections == 1),
        "{:?}",
        snapshot()
    );
    drop(standalone);
    assert!(
        eventually(&served.client, || snapshot().connections == 0),
        "the dropped standalone stream: {:?}",
        snapshot()
    );
    // A slow request stream, read a little, then dropped.
    let args =
        json!({ "name": "stream", "arguments": { "count": 50, "size": 16, "delay_ms": 200 } });
    let mut slow = served
        .client
        .block_on(target.call(request(
            &url,
            Method::POST,
            Some(&session),
            &rpc(1, "tools/call", args),
        )))
        .expect("a response");
    assert_eq!(slow.status(), 200);
    served.client.block_on(async {
        tokio::time::timeout(PATIENCE, slow.body_mut().frame())
            .await
            .expect("a frame in time")
            .expect("a frame")
            .expect("data");
    });
    drop(slow);
    assert!(
        eventually(&served.client, || snapshot().connections == 0),
        "the dropped request stream: {:?}",
        snapshot()
    );
    assert_eq!(snapshot().sessions, 1, "the session lives on");
    let (status, _, _) = served.client.block_on(exchange(
        &mut target,
        request(&url, Method::DELETE, Some(&session), ""),
    ));
    assert_eq!(status, 200);
}

/// One request as the raw socket saw it: its head (lowercase) and its body bytes.
type Seen = (String, Vec<u8>);

/// Serves one connection on a raw socket: reads requests (chunked bodies to their last chunk),
/// answers each `200 ok`, and returns what it saw when the client closes.
fn raw_server() -> (SocketAddr, thread::JoinHandle<Vec<Seen>>) {
    let listener = StdListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    let handle = thread::spawn(move || {
        let (socket, _) = listener.accept().expect("accept");
        socket.set_read_timeout(Some(PATIENCE)).expect("timeout");
        let mut writer = socket.try_clone().expect("clone");
        let mut reader = BufReader::new(socket);
        let mut seen = Vec::new();
        loop {
            let mut head = String::new();
            while !head.ends_with("\r\n\r\n") {
                match reader.read_line(&mut head) {
                    Ok(0) | Err(_) => return seen,
                    Ok(_) => {}
                }
            }
            let head = head.to_ascii_lowercase();
            let mut body = Vec::new();
            if head.contains("transfer-encoding: chunked") {
                while !body.ends_with(b"\r\n0\r\n\r\n") && !body.starts_with(b"0\r\n\r\n") {
                    let mut line = Vec::new();
                    match reader.read_until(b'\n', &mut line) {
                        Ok(0) | Err(_) => {
                            seen.push((head, body));
                            return seen;
                        }
                        Ok(_) => body.extend_from_slice(&line),
                    }
                }
            }
            seen.push((head, body));
            if writer
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .is_err()
            {
                return seen;
            }
        }
    });
    (address, handle)
}

fn chunks(chunks: &[&'static str], abort: bool) -> RequestBody {
    let (mut sender, body) = RequestBody::new(chunks.len() + 1);
    for chunk in chunks {
        assert!(sender
            .try_send(Frame::data(Bytes::from_static(chunk.as_bytes())))
            .is_ok());
    }
    if abort {
        sender.abort("the test aborted the upload".into());
    }
    body
}

#[test]
fn uploads_go_out_chunk_by_chunk_and_an_abort_closes_the_connection() {
    let (address, server) = raw_server();
    let url = format!("http://{address}/mcp");
    let mut target = HttpTarget::new(&url, false).expect("loopback");
    let client = client_runtime();
    let send = |target: &mut HttpTarget, method: Method, body: RequestBody| {
        let mut request = Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = url.parse().expect("URL");
        client.block_on(async {
            let response = tokio::time::timeout(PATIENCE, target.call(request))
                .await
                .expect("in time")?;
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| TargetError::Connection(e.to_string()))?;
            Ok::<_, TargetError>(body.to_bytes())
        })
    };
    assert_eq!(
        send(
            &mut target,
            Method::POST,
            chunks(&["{\"a\"", ":", "1}"], false)
        ),
        Ok(Bytes::from("ok"))
    );
    assert_eq!(
        send(&mut target, Method::GET, chunks(&[], false)),
        Ok(Bytes::from("ok"))
    );
    assert_eq!(
        send(&mut target, Method::DELETE, chunks(&[], false)),
        Ok(Bytes::from("ok"))
    );
    let aborted = send(&mut target, Method::POST, chunks(&["ab"], true));
    assert!(
        matches!(&aborted, Err(TargetError::Connection(error)) if error.contains("the test aborted the upload") && !error.contains('\n')),
        "{aborted:?}"
    );
    let seen = server.join().expect("the raw server");
    assert_eq!(target.connections_opened(), 1, "one kept-alive connection");
    assert_eq!(seen.len(), 4, "{seen:?}");
    let (post, body) = &seen[0];
    assert!(
        post.starts_with("post /mcp http/1.1\r\n"),
        "origin-form: {post}"
    );
    assert!(post.contains(&format!("host: {address}\r\n")), "{post}");
    assert!(
        post.contains("transfer-encoding: chunked") && !post.contains("content-length"),
        "{post}"
    );
    assert_eq!(
        body.as_slice(),
        b"4\r\n{\"a\"\r\n1\r\n:\r\n2\r\n1}\r\n0\r\n\r\n",
        "one HTTP chunk per frame"
    );
    for (head, body) in &seen[1..3] {
        assert!(
            !head.contains("transfer-encoding") && !head.contains("content-length"),
            "no body: {head}"
        );
        assert!(body.is_empty());
    }
    let (_, cut) = &seen[3];
    assert_eq!(
        cut.as_slice(),
        b"2\r\nab\r\n",
        "the body stops where the upload was aborted"
    );
}

#[test]
fn only_loopback_urls_are_allowed() {
    for url in [
        "http://10.1.2.3:8080/mcp",
        "http://example.com/mcp",
        "http://[2001:db8::1]/mcp",
    ] {
        let refused = HttpTarget::new(url, false).expect_err(url);
        assert!(
            matches!(refused, AddressError::Remote { .. }),
            "{url}: {refused}"
        );
        assert!(refused.to_string().contains("loopback"), "{refused}");
    }
    assert!(HttpTarget::new("https://127.0.0.1/mcp", false).is_err());
    for url in [
        "http://127.0.0.1:1/mcp",
        "http://localhost:1/mcp",
        "http://[::1]:1/mcp",
    ] {
        let target = HttpTarget::new(url, false).expect(url);
        assert!(!target.in_process());
        assert_eq!(target.resources(), Default::default());
    }
    assert!(
        HttpTarget::new("http://10.1.2.3:8080/mcp", true).is_ok(),
        "unless allowed"
    );
}

#[test]
fn a_refused_connection_is_a_one_line_connection_error() {
    let port = free_port();
    let mut target =
        HttpTarget::new(&format!("http://127.0.0.1:{port}/mcp"), false).expect("loopback");
    let url = target.endpoint().to_string();
    let failed = client_runtime()
        .block_on(target.call(request(&url, Method::GET, None, "")))
        .expect_err("nothing listens");
    assert!(
        matches!(&failed, TargetError::Connection(line) if line.contains("refused") && !line.contains('\n')),
        "{failed:?}"
    );
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn log_path(name: &str) -> PathBuf {
    let path =
        std::env::temp_dir().join(format!("socket_adapter-{}-{name}.log", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// This crate's binary serving the reference on `port`, as a `--cmd` server would be given.
fn serve_command() -> String {
    format!(
        "'{}' serve --port \"$PORT\"",
        env!("CARGO_BIN_EXE_mcp-transport-fuzz")
    )
}

fn kill(pid: u32) {
    let pid = libc::pid_t::try_from(pid).expect("a pid");
    // SAFETY: kill(2) takes integers only.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
}

#[test]
fn a_launched_server_is_measured_restarted_after_a_crash_and_stopped() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let launch = Launch {
        port: Some(port),
        start_deadline: PATIENCE,
        ..Launch::new(serve_command(), log_path("serve"))
    };
    let started = Instant::now();
    let mut target = HttpTarget::launch(&url, false, launch.clone()).expect("the server starts");
    println!("started in {:?}", started.elapsed());
    let client = client_runtime();
    let scenario = seed("echo-then-delete");
    let run = |target: &mut HttpTarget| {
        client.block_on(execute(
            target,
            &scenario,
            harness_policy(),
            Deadlines::real_time(),
        ))
    };
    let trace = run(&mut target);
    assert_initialized("first run", &trace);
    assert_eq!(status_of(&trace, &Purpose::Delete), Some(200));
    let resources = target.resources();
    println!("the served reference holds {resources:?}");
    assert!(
        resources.rss_bytes.is_some_and(|rss| rss > 1 << 20),
        "{resources:?}"
    );
    assert!(
        resources.open_fds.is_some_and(|fds| fds >= 3),
        "{resources:?}"
    );
    assert!(target.take_crashes().is_empty());
    assert!(
        matches!(
            HttpTarget::launch(&url, false, launch),
            Err(HttpError::Process(ProcessError::Busy { .. }))
        ),
        "a second server on the same port is refused before it starts"
    );

    let process = target.process().expect("a process");
    let first = process.pid().expect("a pid");
    for pid in process.pids() {
        kill(pid);
    }
    let mut crashes = Vec::new();
    assert!(
        eventually(&client, || {
            crashes.extend(target.take_crashes());
            !crashes.is_empty()
        }),
        "the crash is found"
    );
    println!("{crashes:?}");
    assert_eq!(crashes.len(), 1);
    assert!(crashes[0].contains("signal: 9"), "{}", crashes[0]);
    let second = target
        .process()
        .and_then(|process| process.pid())
        .expect("restarted");
    assert_ne!(first, second);
    let trace = run(&mut target);
    assert_initialized("after the restart", &trace);
    assert!(target.take_crashes().is_empty());

    let pids = target.process().expect("a process").pids();
    assert!(!pids.is_empty());
    drop(target);
    for pid in pids {
        // Gone, or a zombie (a server under a shell is reaped by init, which may not reap).
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest.trim_start());
        assert!(
            stat.is_empty() || state.starts_with('Z'),
            "{pid} was killed: {stat}"
        );
    }
    assert!(
        StdListener::bind(("127.0.0.1", port)).is_ok(),
        "the port is free again"
    );
}

#[test]
fn a_server_that_exits_or_never_listens_is_a_clear_error() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let launch = |command: &str, deadline| Launch {
        port: Some(port),
        start_deadline: deadline,
        ..Launch::new(command, log_path("fails"))
    };
    let started = Instant::now();
    let exited = HttpTarget::launch(
        &url,
        false,
        launch("echo \"no server on $PORT\" >&2; exit 3", PATIENCE),
    )
    .expect_err("it exits");
    println!("{exited}");
    assert!(started.elapsed() < Duration::from_secs(2), "no hang");
    assert!(
        matches!(exited, HttpError::Process(ProcessError::Exited { .. })),
        "{exited:?}"
    );
    let line = exited.to_string();
    assert!(
        line.contains("exit status: 3") && line.contains(&format!("no server on {port}")),
        "{line}"
    );
    assert!(!line.contains('\n'), "{line}");

    let started = Instant::now();
    let silent = HttpTarget::launch(
        &url,
        false,
        launch("echo starting; exec sleep 30", Duration::from_millis(300)),
    )
    .expect_err("it never listens");
    println!("{silent}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the deadline holds"
    );
    assert!(
        matches!(silent, HttpError::Process(ProcessError::NotReady { .. })),
        "{silent:?}"
    );
    assert!(silent.to_string().contains("starting"), "{silent}");
    // Both servers wrote to one log: each error quotes its own server's lines only.
    assert!(!silent.to_string().contains("no server on"), "{silent}");
}

#[test]
fn requests_per_second_over_keep_alive() {
    const REQUESTS: u64 = 2_000;
    let served = served(TargetSpec::Reference);
    let mut target = HttpTarget::new(&served.url, false).expect("loopback");
    let url = served.url.clone();
    let took = served.client.block_on(async {
        let session = initialize(&mut target, &url).await;
        let started = Instant::now();
        for id in 1..=REQUESTS {
            let body = rpc(id, "tools/list", json!({}));
            let (status, _, body) = exchange(
                &mut target,
                request(&url, Method::POST, Some(&session), &body),
            )
            .await;
            assert_eq!(status, 200, "{body:?}");
        }
        started.elapsed()
    });
    let opened = target.connections_opened();
    println!(
        "socket_adapter: {REQUESTS} tools/list over keep-alive in {took:?}: {:.0} requests/s, {opened} connection(s)",
        REQUESTS as f64 / took.as_secs_f64()
    );
    assert!(opened <= 2, "the connection is kept alive: {opened} opened");
}

#[test]
fn the_binary_prints_where_it_listens() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mcp-transport-fuzz"))
        .args([
            "serve",
            "--target",
            "fixture:guessable-session-ids",
            "--port",
            "0",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    let read = thread::spawn(move || {
        let _ = BufReader::new(stdout).read_line(&mut line);
        line
    });
    let deadline = Instant::now() + PATIENCE;
    while !read.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    let line = read.join().expect("the reader");
    assert!(
        line.starts_with("listening on http://127.0.0.1:") && line.trim_end().ends_with("/mcp"),
        "{line:?}"
    );
}
