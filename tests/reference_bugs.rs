//! The server-level bugs of the reference server: each shows its symptom through the HTTP
//! surface and the snapshot, the correct server does not on the same requests, and whatever
//! the bug, no task of the server outlives it.

use std::time::Duration;

use bytes::Bytes;
use http::header::ORIGIN;
use http::{Method, Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::StreamBody;
use mcp_transport_fuzz::model::Entropy;
use mcp_transport_fuzz::reference::{Bug, ReferenceBody, ReferenceServer, ServerConfig};
use mcp_transport_fuzz::sse::Event;
use serde_json::{json, Value};

use crate::support::*;

/// The reference server with `bug` (seeded, so every run is the same).
fn server(bug: Option<Bug>) -> ReferenceServer {
    ReferenceServer::new(ServerConfig {
        entropy: Entropy::Seeded(7),
        bug,
        ..ServerConfig::default()
    })
    .expect("valid config")
}

/// The correct server, then the one with `bug`: each test runs its requests against both.
fn correct_then(bug: Bug) -> [Option<Bug>; 2] {
    [None, Some(bug)]
}

type Failing = StreamBody<futures_util::stream::Iter<std::vec::IntoIter<Chunk>>>;
type Chunk = Result<Frame<Bytes>, std::io::Error>;

/// A POST whose body sends the start of a message, then fails (the client went away).
fn failing_upload(session: Option<&str>) -> Request<Failing> {
    let chunks: Vec<Chunk> = vec![
        Ok(Frame::data(Bytes::from_static(
            b"{\"jsonrpc\":\"2.0\",\"id\":1,",
        ))),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "the client went away",
        )),
    ];
    request(Method::POST, session)
        .body(StreamBody::new(futures_util::stream::iter(chunks)))
        .expect("request")
}

fn ping() -> Value {
    rpc(2, "ping", json!({}))
}

/// The text of a tool's result, its stream's last event.
fn result_text(events: &[Event]) -> String {
    let last = events.last().expect("a result");
    json_of(last)["result"]["content"][0]["text"]
        .as_str()
        .expect("text")
        .to_owned()
}

/// Tasks alive on this runtime (the test itself is not one).
fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

/// Drops `server` and waits (on the paused clock) until no task is alive; returns how many
/// still were after a minute.
async fn drop_and_drain(server: ReferenceServer) -> usize {
    drop(server);
    for _ in 0..600 {
        settle().await;
        if alive_tasks() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    alive_tasks()
}

#[tokio::test(start_paused = true)]
async fn duplicate_event_ids_repeat_across_a_sessions_streams() {
    for bug in correct_then(Bug::DuplicateEventIds) {
        let server = server(bug);
        let session = initialize(&server, V11).await.0;
        let count = json!({ "count": 2, "size": 1 });
        let first = call_tool_all(&server, &session, "stream", count.clone()).await;
        let second = call_tool_all(&server, &session, "stream", count).await;
        let ids = |events: &[Event]| -> Vec<String> {
            events.iter().map(|e| e.last_event_id.clone()).collect()
        };
        let (first, second) = (ids(&first), ids(&second));
        assert_eq!(
            (first.len(), second.len()),
            (4, 4),
            "priming, 2 progress, result"
        );
        let shared = first.iter().filter(|id| second.contains(id)).count();
        if bug.is_some() {
            assert_eq!(first, ["1", "2", "3", "4"]);
            assert_eq!(second, first, "both streams count from 1");
            let resume = request(Method::GET, Some(&session)).header("last-event-id", "2");
            assert_eq!(
                status(&server, without_body(resume)).await,
                StatusCode::BAD_REQUEST
            );
        } else {
            assert_eq!(shared, 0, "{first:?} {second:?}");
            let mut all = [first, second].concat();
            all.sort();
            all.dedup();
            assert_eq!(all.len(), 8, "every id once");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn no_cancel_cleanup_keeps_a_dropped_body_until_its_session_ends() {
    for bug in correct_then(Bug::NoCancelCleanup) {
        let leaks = bug.is_some();
        let server = server(bug);
        let session = initialize(&server, V06).await.0;
        let args = json!({ "count": 5, "size": 100, "delay_ms": 100 });
        let mut response = post(&server, &session, &tool(1, "stream", args)).await;
        read_events(response.body_mut(), &mut decoder(), 1).await;
        drop(response);
        // The request goes on; under the bug its events pile up in the dropped connection.
        tokio::time::sleep(Duration::from_secs(1)).await;
        for _ in 0..2 {
            let held = server.snapshot();
            assert_eq!(held.connections, usize::from(leaks), "{held:?}");
            assert_eq!(held.open_connections, usize::from(leaks), "{held:?}");
            assert_eq!(held.held_bytes > 0, leaks, "{held:?}");
            assert_eq!(held.tasks.stream_timers, usize::from(leaks), "{held:?}");
            assert_eq!(!held.stream_ledger.is_zero(), leaks, "{held:?}");
            // Past the idle timeout (30 s): the abandoned connection's deadlines are not
            // applied either.
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        // A dropped standalone GET keeps its stream attached: the next GET conflicts.
        let first = send(&server, without_body(request(Method::GET, Some(&session)))).await;
        assert_eq!(first.status(), StatusCode::OK);
        drop(first);
        let again = send(&server, without_body(request(Method::GET, Some(&session)))).await;
        let expected = if leaks {
            StatusCode::CONFLICT
        } else {
            StatusCode::OK
        };
        assert_eq!(again.status(), expected);
        drop(again);
        // The session's end releases everything, the bug's leftovers included.
        assert_eq!(delete(&server, &session).await, StatusCode::OK);
        settle().await;
        let after = server.snapshot();
        assert!(after.is_empty(), "{after:?}");
        assert_eq!(drop_and_drain(server).await, 0);
    }
}

#[tokio::test(start_paused = true)]
async fn no_abort_cleanup_keeps_a_failed_upload_and_its_task() {
    for bug in correct_then(Bug::NoAbortCleanup) {
        let leaks = bug.is_some();
        let server = server(bug);
        let session = initialize(&server, V06).await.0;
        settle().await;
        assert_eq!(server.snapshot().uploads, 0);
        let response = send(&server, failing_upload(Some(&session))).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let response = send(&server, failing_upload(None)).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        tokio::time::sleep(Duration::from_secs(60)).await;
        let kept = server.snapshot();
        assert_eq!(kept.uploads, if leaks { 2 } else { 0 }, "{kept:?}");
        assert_eq!(kept.tasks.requests, kept.uploads, "{kept:?}");
        // The upload naming the session goes with it; the other one stays.
        assert_eq!(delete(&server, &session).await, StatusCode::OK);
        settle().await;
        let after = server.snapshot();
        assert_eq!(after.uploads, usize::from(leaks), "{after:?}");
        assert_eq!(after.tasks.requests, usize::from(leaks), "{after:?}");
        server.end_all_sessions();
        settle().await;
        assert_eq!(server.snapshot().uploads, usize::from(leaks));
        // ... until the server is dropped.
        assert_eq!(drop_and_drain(server).await, 0);
    }
}

#[tokio::test(start_paused = true)]
async fn unbounded_cache_grows_past_capacity_and_outlives_sessions() {
    for bug in correct_then(Bug::UnboundedCache) {
        let leaks = bug.is_some();
        let server = server(bug);
        let capacity = server.config().tools.cache_capacity;
        let alice = initialize(&server, V06).await.0;
        let bob = initialize(&server, V06).await.0;
        for key in 0..capacity + 36 {
            let args = json!({ "key": format!("k{key}") });
            call_tool_all(&server, &alice, "fetch_cached", args).await;
        }
        let full = server.snapshot();
        let expected = if leaks { capacity + 36 } else { capacity };
        assert_eq!(full.cache_entries, expected, "{full:?}");
        // Bob's first fetch of a key Alice fetched.
        let key = format!("k{}", capacity + 1);
        let bobs = call_tool_all(&server, &bob, "fetch_cached", json!({ "key": key })).await;
        let outcome = if leaks { "hit" } else { "miss" };
        assert_eq!(result_text(&bobs), format!("{outcome}: content of {key}"));
        for session in [&alice, &bob] {
            assert_eq!(delete(&server, session).await, StatusCode::OK);
        }
        settle().await;
        let after = server.snapshot();
        assert_eq!(after.sessions, 0);
        assert_eq!(after.cache_entries, if leaks { expected } else { 0 });
        assert_eq!(drop_and_drain(server).await, 0);
    }
}

#[tokio::test(start_paused = true)]
async fn listener_accumulation_adds_one_per_subscribe_and_keeps_them() {
    for bug in correct_then(Bug::ListenerAccumulation) {
        let leaks = bug.is_some();
        let server = server(bug);
        let session = initialize(&server, V06).await.0;
        let mut standalone =
            send(&server, without_body(request(Method::GET, Some(&session)))).await;
        for _ in 0..20 {
            call_tool_all(&server, &session, "subscribe", json!({ "topic": "*" })).await;
        }
        let subscribed = server.snapshot();
        assert_eq!(subscribed.listeners, if leaks { 20 } else { 1 });
        // The listeners still listen.
        call_tool_all(&server, &session, "fetch_cached", json!({ "key": "k" })).await;
        let note = read_events(standalone.body_mut(), &mut decoder(), 1).await;
        assert_eq!(json_of(&note[0])["params"]["data"]["fetched"], "k");
        drop(standalone);
        assert_eq!(delete(&server, &session).await, StatusCode::OK);
        settle().await;
        let after = server.snapshot();
        assert_eq!(after.sessions, 0);
        assert_eq!(after.listeners, if leaks { 20 } else { 0 }, "{after:?}");
        assert_eq!(drop_and_drain(server).await, 0);
    }
}

#[tokio::test(start_paused = true)]
async fn interval_leak_keeps_monitors_ticking_after_their_session() {
    for bug in correct_then(Bug::IntervalLeak) {
        let leaks = bug.is_some();
        let server = server(bug);
        let session = initialize(&server, V06).await.0;
        let args = json!({ "count": 1000, "interval_ms": 100 });
        call_tool_all(&server, &session, "monitor", args).await;
        // A monitor that finishes while its session lives is released either way.
        let short = json!({ "count": 2, "interval_ms": 10 });
        call_tool_all(&server, &session, "monitor", short).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
        let running = server.snapshot();
        assert_eq!((running.monitors, running.tasks.monitors), (1, 1));
        assert_eq!(delete(&server, &session).await, StatusCode::OK);
        for _ in 0..2 {
            settle().await;
            let after = server.snapshot();
            assert_eq!(after.sessions, 0);
            let left = usize::from(leaks);
            assert_eq!((after.monitors, after.tasks.monitors), (left, left));
            // Ticks come and go: the monitor still runs (past its 1000 ticks, too).
            tokio::time::sleep(Duration::from_secs(200)).await;
        }
        assert_eq!(drop_and_drain(server).await, 0);
    }
}

#[tokio::test(start_paused = true)]
async fn state_after_delete_keeps_the_whole_session_behind_a_404() {
    for bug in correct_then(Bug::StateAfterDelete) {
        let leaks = bug.is_some();
        let server = server(bug);
        let session = initialize(&server, V06).await.0;
        let standalone = send(&server, without_body(request(Method::GET, Some(&session)))).await;
        assert_eq!(standalone.status(), StatusCode::OK);
        drop(standalone);
        call_tool_all(&server, &session, "subscribe", json!({})).await;
        call_tool_all(&server, &session, "fetch_cached", json!({ "key": "k" })).await;
        let args = json!({ "count": 1000, "interval_ms": 2000 });
        call_tool_all(&server, &session, "monitor", args).await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let before = server.snapshot();
        assert_eq!((before.sessions, before.streams), (1, 1), "{before:?}");
        assert_eq!(
            before.logged_events, 2,
            "the fetch and a tick, in the standalone log"
        );
        assert_eq!(delete(&server, &session).await, StatusCode::OK);
        for method in [Method::POST, Method::GET, Method::DELETE] {
            let again = with_body(request(method.clone(), Some(&session)), &ping());
            let status = status(&server, again).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method}");
        }
        settle().await;
        let after = server.snapshot();
        if leaks {
            // Past the session idle timeout (10 min): the hidden session does not expire.
            tokio::time::sleep(Duration::from_secs(1200)).await;
            let later = server.snapshot();
            for snapshot in [after, later] {
                assert_eq!(
                    (snapshot.sessions, snapshot.streams),
                    (1, 1),
                    "{snapshot:?}"
                );
                assert!(snapshot.logged_events >= 2, "{snapshot:?}");
                let tools = (
                    snapshot.listeners,
                    snapshot.cache_entries,
                    snapshot.monitors,
                );
                assert_eq!(tools, (1, 1, 1), "{snapshot:?}");
                assert_eq!(snapshot.tasks.monitors, 1, "{snapshot:?}");
                assert!(snapshot.tasks.session_timers >= 1, "{snapshot:?}");
                assert!(!snapshot.session_ledger.is_zero(), "{snapshot:?}");
            }
            let still = with_body(request(Method::POST, Some(&session)), &ping());
            assert_eq!(status(&server, still).await, StatusCode::NOT_FOUND);
        } else {
            assert!(after.is_empty(), "{after:?}");
        }
        assert_eq!(drop_and_drain(server).await, 0);
    }
}

#[tokio::test(start_paused = true)]
async fn deleted_id_accepted_keeps_the_session_working() {
    for bug in correct_then(Bug::DeletedIdAccepted) {
        let leaks = bug.is_some();
        let server = server(bug);
        let session = initialize(&server, V06).await.0;
        assert_eq!(delete(&server, &session).await, StatusCode::OK);
        let pinged = post(&server, &session, &ping()).await;
        let expected = if leaks {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(pinged.status(), expected);
        drop(pinged);
        let echoed = post(&server, &session, &tool(1, "echo", json!({ "text": "hi" }))).await;
        assert_eq!(echoed.status(), expected);
        drop(echoed);
        settle().await;
        assert_eq!(server.snapshot().sessions, usize::from(leaks));
        assert_eq!(drop_and_drain(server).await, 0);
    }
}

#[tokio::test(start_paused = true)]
async fn guessable_session_ids_count_up() {
    let counter = |n: u64| format!("{n:048x}");
    for bug in correct_then(Bug::GuessableSessionIds) {
        let leaks = bug.is_some();
        let server = server(bug);
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(initialize(&server, V06).await.0);
        }
        for id in &ids {
            assert_eq!(id.len(), 48);
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        }
        let counted: Vec<String> = (1..=3).map(counter).collect();
        assert_eq!(ids == counted, leaks, "{ids:?}");
        // The next id, guessed before it is given out: unknown now, the next session's then.
        let guess = counter(4);
        let early = post(&server, &guess, &ping()).await;
        assert_eq!(early.status(), StatusCode::NOT_FOUND);
        let fourth = initialize(&server, V06).await.0;
        assert_eq!(fourth == guess, leaks);
        let guessed = post(&server, &guess, &ping()).await;
        let expected = if leaks {
            StatusCode::OK
        } else {
            StatusCode::NOT_FOUND
        };
        assert_eq!(guessed.status(), expected);
        // Event ids still work: an interrupted stream resumes from one.
        let args = json!({ "count": 3, "size": 8, "delay_ms": 100 });
        let mut response = post(&server, &fourth, &tool(1, "stream", args)).await;
        let seen = read_events(response.body_mut(), &mut decoder(), 1).await;
        drop(response);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let resume =
            request(Method::GET, Some(&fourth)).header("last-event-id", &seen[0].last_event_id);
        let mut resumed = send(&server, without_body(resume)).await;
        assert_eq!(resumed.status(), StatusCode::OK);
        let replayed = all_events(&read_all(resumed.body_mut()).await);
        assert_eq!(replayed.len(), 3, "two progress events and the result");
        // A DELETE through the counter id ends the session.
        assert_eq!(delete(&server, &fourth).await, StatusCode::OK);
        let gone = post(&server, &fourth, &ping()).await;
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
        assert_eq!(drop_and_drain(server).await, 0);
    }
}

#[tokio::test(start_paused = true)]
async fn no_origin_check_serves_a_foreign_origin() {
    for bug in correct_then(Bug::NoOriginCheck) {
        let leaks = bug.is_some();
        let server = server(bug);
        let session = initialize(&server, V06).await.0;
        let expected = if leaks {
            StatusCode::OK
        } else {
            StatusCode::FORBIDDEN
        };
        let message = rpc(0, "initialize", json!({ "protocolVersion": V06 }));
        let foreign = request(Method::POST, None).header(ORIGIN, "https://evil.example");
        assert_eq!(
            status(&server, with_body(foreign, &message)).await,
            expected
        );
        let foreign = request(Method::POST, Some(&session)).header(ORIGIN, "null");
        assert_eq!(status(&server, with_body(foreign, &ping())).await, expected);
        let loopback = request(Method::POST, Some(&session)).header(ORIGIN, "http://localhost");
        assert_eq!(
            status(&server, with_body(loopback, &ping())).await,
            StatusCode::OK
        );
        server.end_all_sessions();
        assert_eq!(drop_and_drain(server).await, 0);
    }
}

#[tokio::test(start_paused = true)]
async fn wrong_status_unknown_session_answers_400() {
    for bug in correct_then(Bug::WrongStatusUnknownSession) {
        let leaks = bug.is_some();
        let server = server(bug);
        let expected = if leaks {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::NOT_FOUND
        };
        let never = "ab".repeat(24);
        assert_eq!(post(&server, &never, &ping()).await.status(), expected);
        assert_eq!(post(&server, "NOT-AN-ID", &ping()).await.status(), expected);
        let deleted = initialize(&server, V06).await.0;
        assert_eq!(delete(&server, &deleted).await, StatusCode::OK);
        assert_eq!(post(&server, &deleted, &ping()).await.status(), expected);
        assert_eq!(delete(&server, &deleted).await, expected);
        let expired = initialize(&server, V06).await.0;
        tokio::time::sleep(Duration::from_secs(11 * 60)).await;
        let get = without_body(request(Method::GET, Some(&expired)));
        assert_eq!(status(&server, get).await, expected);
        // A missing id is 400 either way.
        let missing = with_body(request(Method::POST, None), &ping());
        assert_eq!(status(&server, missing).await, StatusCode::BAD_REQUEST);
        assert_eq!(drop_and_drain(server).await, 0);
    }
}

/// Everything a client can make the server hold, in one session: an interrupted stream, a
/// dropped and a held standalone stream, listeners, cache entries, a monitor and a failed
/// upload. Returns the bodies it holds.
async fn exercise(server: &ReferenceServer, session: &str) -> Vec<Response<ReferenceBody>> {
    let mut held = Vec::new();
    call_tool_all(server, session, "echo", json!({ "text": "hi" })).await;
    let args = json!({ "count": 5, "size": 100, "delay_ms": 50 });
    let mut stream = post(server, session, &tool(1, "stream", args)).await;
    read_events(stream.body_mut(), &mut decoder(), 1).await;
    drop(stream);
    let args = json!({ "count": 5, "size": 100, "delay_ms": 50 });
    held.push(post(server, session, &tool(1, "stream", args)).await);
    let standalone = send(server, without_body(request(Method::GET, Some(session)))).await;
    drop(standalone);
    held.push(send(server, without_body(request(Method::GET, Some(session)))).await);
    for topic in ["*", "*", "k"] {
        call_tool_all(server, session, "subscribe", json!({ "topic": topic })).await;
    }
    for key in ["k", "l", "k"] {
        call_tool_all(server, session, "fetch_cached", json!({ "key": key })).await;
    }
    let args = json!({ "count": 1000, "interval_ms": 10 });
    call_tool_all(server, session, "monitor", args).await;
    let failed = send(server, failing_upload(Some(session))).await;
    assert_eq!(failed.status(), StatusCode::BAD_REQUEST);
    held
}

#[tokio::test(start_paused = true)]
async fn no_task_outlives_the_server_whatever_the_bug() {
    let bugs = std::iter::once(None).chain(Bug::ALL.into_iter().map(Some));
    for bug in bugs {
        let server = server(bug);
        let sessions = [
            initialize(&server, V11).await.0,
            initialize(&server, V06).await.0,
        ];
        let mut held = Vec::new();
        for session in &sessions {
            held.extend(exercise(&server, session).await);
        }
        let failed = send(&server, failing_upload(None)).await;
        assert_eq!(failed.status(), StatusCode::BAD_REQUEST);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(alive_tasks() > 0, "{bug:?}");
        for session in &sessions {
            assert_eq!(delete(&server, session).await, StatusCode::OK, "{bug:?}");
        }
        drop(held);
        settle().await;
        if bug.is_none() {
            let after = server.snapshot();
            assert!(after.is_empty(), "{after:?}");
        }
        assert_eq!(drop_and_drain(server).await, 0, "{bug:?}");
    }
}
