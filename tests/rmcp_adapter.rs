//! rmcp (the official Rust MCP SDK) as an in-process target, driven by the executor on paused
//! time exactly as the harness drives it. The assertions pin what rmcp 3.9 does with its default
//! configuration, so a change in rmcp's behaviour shows up here first.

use mcp_transport_fuzz::adapter::{rmcp_target, RmcpVariant};
use mcp_transport_fuzz::executor::Executor;
use mcp_transport_fuzz::input::{Piece, Untrusted};
use mcp_transport_fuzz::scenario::seeds::seeds;
use mcp_transport_fuzz::scenario::{
    IdPick, Misstep, Op, Scenario, Slot, StreamPick, ToolCall, Upload, Version,
};
use mcp_transport_fuzz::trace::{
    CheckpointKind, EventRecord, Exchange, Outcome, Policy, Purpose, StreamEnd, Trace,
};
use serde_json::Value;

fn run(variant: RmcpVariant, ops: Vec<Op>) -> Trace {
    Executor::new().run(
        || rmcp_target(variant),
        &Scenario { ops },
        Policy::default(),
    )
}

fn s0() -> Slot {
    Slot::of_index(0)
}

fn init(session: Slot) -> Op {
    Op::Initialize {
        session,
        version: Version::V2025_06_18,
    }
}

fn call(session: Slot, call: ToolCall) -> Op {
    Op::Call {
        session,
        call,
        upload: Upload {
            chunks: Vec::new(),
            abort_after: None,
        },
    }
}

fn stream(count: u8, size: u16, delay_ms: u16) -> ToolCall {
    ToolCall::Stream {
        count,
        size,
        delay_ms,
    }
}

fn read(bytes: u16) -> Op {
    Op::Read {
        stream: StreamPick(0),
        bytes,
    }
}

/// The exchanges with `purpose`, in order.
fn exchanges<'t>(trace: &'t Trace, purpose: &Purpose) -> Vec<&'t Exchange> {
    trace
        .exchanges
        .iter()
        .filter(|exchange| &exchange.purpose == purpose)
        .collect()
}

fn statuses(trace: &Trace, purpose: &Purpose) -> Vec<Option<u16>> {
    exchanges(trace, purpose)
        .iter()
        .map(|exchange| exchange.outcome.status())
        .collect()
}

/// The events of the first response to a request with `purpose`.
fn events<'t>(trace: &'t Trace, purpose: &Purpose) -> &'t [EventRecord] {
    let exchange = exchanges(trace, purpose)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no {purpose:?} in {trace:#?}"));
    let stream = exchange.stream.expect("a response body");
    &trace.streams[stream].events
}

/// The JSON-RPC message an event carries, if any.
fn message(event: &EventRecord) -> Option<Value> {
    serde_json::from_str(&event.data).ok()
}

fn progress_values(events: &[EventRecord]) -> Vec<f64> {
    events
        .iter()
        .filter_map(message)
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| m["params"]["progress"].as_f64().expect("a progress value"))
        .collect()
}

fn tool_call() -> Purpose {
    Purpose::Call {
        tool: "stream".to_owned(),
    }
}

#[test]
fn variants_have_names() {
    for variant in RmcpVariant::ALL {
        assert_eq!(variant.to_string().parse::<RmcpVariant>(), Ok(variant));
    }
    assert_eq!(RmcpVariant::EventStore.to_string(), "event-store");
    assert!("remote".parse::<RmcpVariant>().is_err());
}

#[test]
fn initialize_opens_a_session_that_delete_ends() {
    for variant in RmcpVariant::SESSIONS {
        let trace = run(
            variant,
            vec![
                init(s0()),
                Op::Initialized { session: s0() },
                Op::Delete { session: s0() },
            ],
        );
        let Outcome::Responded {
            status,
            content_type,
            session_id,
            ..
        } = &trace.exchanges[0].outcome
        else {
            panic!("{variant}: no response to initialize");
        };
        assert_eq!(*status, 200, "{variant}");
        assert_eq!(content_type.as_deref(), Some("text/event-stream"));
        assert!(session_id.is_some(), "{variant}: no Mcp-Session-Id");
        assert_eq!(trace.sessions[0].negotiated.as_deref(), Some("2025-06-18"));
        assert_eq!(statuses(&trace, &Purpose::Initialized), [Some(202)]);
        assert_eq!(statuses(&trace, &Purpose::Delete), [Some(202)]);
        assert!(trace.sessions[0].deleted_by.is_some());
        let teardown = trace.checkpoints.last().expect("a teardown checkpoint");
        assert_eq!(teardown.kind, CheckpointKind::Teardown);
        assert_eq!(teardown.resources.sessions, Some(0), "{variant}");
        assert_eq!(trace.checkpoints[0].resources.sessions, Some(0));
    }
}

#[test]
fn echo_result_carries_the_text() {
    for variant in RmcpVariant::ALL {
        let text = ToolCall::Echo {
            text: Untrusted(vec![Piece::Text("hello rmcp".to_owned()), Piece::Lf]),
        };
        let trace = run(variant, vec![init(s0()), call(s0(), text), read(u16::MAX)]);
        let canary = &trace.sessions[0].canary;
        let echo = Purpose::Call {
            tool: "echo".to_owned(),
        };
        assert_eq!(statuses(&trace, &echo), [Some(200)]);
        let result = events(&trace, &echo)
            .iter()
            .filter_map(message)
            .find(|m| m.get("result").is_some())
            .expect("a result event");
        let text = result["result"]["content"][0]["text"]
            .as_str()
            .expect("text");
        assert_eq!(text, format!("hello rmcp\n{canary}"), "{variant}");
    }
}

#[test]
fn stream_progress_arrives_on_the_post_stream_in_virtual_time() {
    for variant in RmcpVariant::SESSIONS {
        let trace = run(
            variant,
            vec![init(s0()), call(s0(), stream(3, 8, 250)), read(u16::MAX)],
        );
        let exchange = exchanges(&trace, &tool_call())
            .into_iter()
            .next()
            .expect("the call");
        let sent = exchange.sent_at.0;
        let events = events(&trace, &tool_call());
        assert_eq!(progress_values(events), [1.0, 2.0, 3.0], "{variant}");
        let times: Vec<u64> = events
            .iter()
            .filter(|event| message(event).is_some_and(|m| m["method"] == "notifications/progress"))
            .map(|event| event.at.0 - sent)
            .collect();
        assert_eq!(times, [250, 500, 750], "{variant}: progress times");
        let last = message(events.last().expect("events")).expect("a message");
        assert_eq!(last["id"], exchange.rpc_id.expect("an rpc id"));
        assert_eq!(
            last["result"]["content"][0]["text"],
            "sent 3 progress notifications"
        );
        let first = &events[0];
        assert_eq!(
            (first.data.as_str(), first.retry.as_deref()),
            ("", Some("3000"))
        );
    }
}

/// Starts a slow `stream`, reads its first events, drops the response, waits `stall_ms`, then
/// resumes with the id of its first event (the priming event) and reads the replay.
fn drop_then_resume(variant: RmcpVariant, stall_ms: u16) -> Trace {
    run(
        variant,
        vec![
            init(s0()),
            call(s0(), stream(5, 16, 100)),
            read(200),
            Op::DropResponse {
                stream: StreamPick(0),
            },
            Op::Stall { millis: stall_ms },
            Op::Resume {
                session: s0(),
                id: IdPick::Own {
                    stream: StreamPick(0),
                    event: 0,
                },
            },
            read(u16::MAX),
        ],
    )
}

/// The `(id, progress)` of every progress event.
fn progress_ids(events: &[EventRecord]) -> Vec<(String, f64)> {
    events
        .iter()
        .filter_map(|event| {
            let m = message(event)?;
            (m["method"] == "notifications/progress").then(|| {
                (
                    event.id.clone().unwrap_or_default(),
                    m["params"]["progress"].as_f64().unwrap_or(-1.0),
                )
            })
        })
        .collect()
}

#[test]
fn event_store_replays_everything_after_an_own_id() {
    let trace = drop_then_resume(RmcpVariant::EventStore, 1_000);
    let resume = exchanges(&trace, &Purpose::Resume)
        .into_iter()
        .next()
        .expect("a resume");
    let asked = resume.last_event_id.as_ref().expect("an id").value.clone();
    assert_eq!(resume.outcome.status(), Some(200));
    let original = events(&trace, &tool_call());
    assert_eq!(original[0].id.as_deref(), Some(asked.as_str()));
    let replay = events(&trace, &Purpose::Resume);
    // Every progress event and the result, with the ids they were stored under, after `asked`.
    assert_eq!(progress_values(replay), [1.0, 2.0, 3.0, 4.0, 5.0]);
    let last = message(replay.last().expect("a replay")).expect("a message");
    assert!(last.get("result").is_some(), "{last}");
    let stream_of = |id: &str| id.split('-').next().map(str::to_owned);
    assert!(replay
        .iter()
        .all(|event| stream_of(event.id.as_deref().unwrap_or("")) == stream_of(&asked)));
    let fields = |event: &EventRecord| (event.id.clone(), event.data.clone());
    let replayed: Vec<_> = replay.iter().map(fields).collect();
    for seen in &original[1..] {
        assert!(
            replayed.contains(&fields(seen)),
            "{seen:?} was read before the drop but not replayed"
        );
    }
    // The call's 7 events (priming, 5 progress, result) stay after the session ended: rmcp
    // never tells the store that a session ended.
    let teardown = trace.checkpoints.last().expect("a teardown checkpoint");
    assert_eq!(trace.checkpoints[0].resources.logged_events, Some(0));
    assert_eq!(teardown.resources.logged_events, Some(7));
}

#[test]
fn event_store_replay_ends_at_what_was_stored() {
    // Resumed before the call finished: the replay holds what was stored then and ends.
    let trace = drop_then_resume(RmcpVariant::EventStore, 0);
    let replay = events(&trace, &Purpose::Resume);
    let progress = progress_values(replay);
    assert!(progress.len() < 5, "{progress:?}");
    assert!(replay
        .iter()
        .filter_map(message)
        .all(|m| m.get("result").is_none()));
    let stream = exchanges(&trace, &Purpose::Resume)
        .into_iter()
        .next()
        .and_then(|e| e.stream)
        .expect("a body");
    assert!(matches!(
        trace.streams[stream].end,
        Some(StreamEnd::Finished { .. })
    ));
}

#[test]
fn local_resume_continues_a_live_stream_and_forgets_a_finished_one() {
    let live = drop_then_resume(RmcpVariant::Local, 0);
    let replay = events(&live, &Purpose::Resume);
    assert_eq!(progress_values(replay), [1.0, 2.0, 3.0, 4.0, 5.0]);
    let asked = exchanges(&live, &Purpose::Resume)[0]
        .last_event_id
        .clone()
        .expect("an id");
    let request = |id: &str| id.split_once('/').map(|(_, request)| request.to_owned());
    assert!(progress_ids(replay)
        .iter()
        .all(|(id, _)| request(id) == request(&asked.value)));
    let last = message(replay.last().expect("a replay")).expect("a message");
    assert!(last.get("result").is_some(), "{last}");

    let finished = drop_then_resume(RmcpVariant::Local, 1_000);
    assert_eq!(statuses(&finished, &Purpose::Resume), [Some(200)]);
    assert!(events(&finished, &Purpose::Resume).is_empty());
}

#[test]
fn resume_with_foreign_or_garbage_ids() {
    let s1 = Slot::of_index(1);
    let other = IdPick::OtherSession {
        session: s0(),
        event: 1,
    };
    let forged = IdPick::Forged { seq: 7 };
    let mutated = IdPick::Mutated {
        event: 0,
        at: 0,
        with: 0,
    };
    for variant in RmcpVariant::SESSIONS {
        for (asking, pick) in [(s1, other), (s0(), forged), (s0(), mutated)] {
            let ops = vec![
                init(s0()),
                init(s1),
                call(s0(), stream(3, 8, 100)),
                read(u16::MAX),
                Op::Resume {
                    session: asking,
                    id: pick,
                },
                read(u16::MAX),
            ];
            let trace = run(variant, ops);
            assert_eq!(
                statuses(&trace, &Purpose::Resume),
                [Some(200)],
                "{variant} {pick:?}"
            );
            let replay = events(&trace, &Purpose::Resume);
            // Only the event store replays anything: another session's events after the id (two
            // progress notifications and the result), as rmcp never tells it who asks.
            let expected = match (variant, pick) {
                (RmcpVariant::EventStore, IdPick::OtherSession { .. }) => 3,
                _ => 0,
            };
            assert_eq!(replay.len(), expected, "{variant} {pick:?}: {replay:?}");
        }
    }
}

#[test]
fn missteps_and_standalone_get() {
    let expected = [
        (Misstep::MissingSessionId, 400),
        (Misstep::UnknownSessionId, 404),
        (Misstep::BadProtocolVersion, 400),
        // rmcp's default configuration checks no Origin (its allow-list is empty).
        (Misstep::ForeignOrigin, 200),
        (Misstep::ForeignHost, 403),
        (Misstep::BadAccept, 406),
    ];
    for variant in RmcpVariant::SESSIONS {
        let mut ops = vec![init(s0()), Op::OpenGet { session: s0() }];
        ops.extend(expected.iter().map(|&(misstep, _)| Op::Misstep {
            session: s0(),
            misstep,
        }));
        let trace = run(variant, ops);
        for (misstep, status) in expected {
            assert_eq!(
                statuses(&trace, &Purpose::Misstep(misstep)),
                [Some(status)],
                "{variant} {misstep:?}"
            );
        }
        assert_eq!(statuses(&trace, &Purpose::OpenGet), [Some(200)]);
        let get = events(&trace, &Purpose::OpenGet);
        assert_eq!(get[0].retry.as_deref(), Some("3000"), "{variant}: {get:?}");
    }
}

#[test]
fn requests_after_delete_get_404() {
    for variant in RmcpVariant::SESSIONS {
        let trace = run(
            variant,
            vec![
                init(s0()),
                Op::Delete { session: s0() },
                call(s0(), stream(1, 1, 0)),
                Op::OpenGet { session: s0() },
                Op::Delete { session: s0() },
            ],
        );
        assert_eq!(statuses(&trace, &tool_call()), [Some(404)], "{variant}");
        assert_eq!(
            statuses(&trace, &Purpose::OpenGet),
            [Some(404)],
            "{variant}"
        );
        // rmcp answers a DELETE of a session it does not know with 202.
        assert_eq!(
            statuses(&trace, &Purpose::Delete),
            [Some(202), Some(202)],
            "{variant}"
        );
    }
}

/// `trace` as JSON with each session id replaced by its index and the heap left out: what two
/// runs of one scenario must agree on, as rmcp's session ids are random UUIDs.
fn comparable(trace: &Trace) -> String {
    let mut json = serde_json::to_string(trace).expect("a trace serialises");
    for (index, session) in trace.sessions.iter().enumerate() {
        if let Some(id) = &session.id {
            json = json.replace(id.as_str(), &format!("session-{index}"));
        }
    }
    let mut value: Value = serde_json::from_str(&json).expect("valid JSON");
    if let Some(checkpoints) = value["checkpoints"].as_array_mut() {
        for checkpoint in checkpoints {
            checkpoint["resources"]["heap"] = Value::Null;
        }
    }
    value.to_string()
}

#[test]
fn the_same_scenario_gives_the_same_trace_but_for_session_ids() {
    let mut executor = Executor::new();
    for variant in RmcpVariant::ALL {
        for (name, scenario) in seeds() {
            let first = executor.run(|| rmcp_target(variant), &scenario, Policy::default());
            let second = executor.run(|| rmcp_target(variant), &scenario, Policy::default());
            assert_eq!(comparable(&first), comparable(&second), "{variant} {name}");
            // Stateless clients have no id.
            let ids: Vec<_> = first
                .sessions
                .iter()
                .filter_map(|s| s.id.as_ref())
                .collect();
            let again: Vec<_> = second
                .sessions
                .iter()
                .filter_map(|s| s.id.as_ref())
                .collect();
            assert!(
                ids.is_empty() || ids != again,
                "{variant} {name}: ids repeat across runs"
            );
        }
    }
}
