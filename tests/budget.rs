//! A call off the small rung of the argument ladder is bounded by the client: still working
//! when its budget passes, it is cancelled (its stream dropped), which `liveness` does not
//! report; the same slow stream without a budget is `request-stream-never-ended`.

use std::time::Duration;

use mcp_transport_fuzz::adapter::{harness_config, harness_policy, reference_target};
use mcp_transport_fuzz::executor::{execute_with_tools, Deadlines, ToolCatalog};
use mcp_transport_fuzz::oracle::judge;
use mcp_transport_fuzz::scenario::{Op, Scenario, Slot, ToolCall, Upload, Version};
use mcp_transport_fuzz::trace::{Purpose, StreamEnd, Trace};
use serde_json::json;

/// The reference's `stream` tool as a schema; with `amount`, a property the server ignores,
/// which the ladder fills (and so may make the call budgeted).
fn catalog(amount: bool) -> ToolCatalog {
    let mut properties = json!({
        "count": { "type": "integer" },
        "size": { "type": "integer" },
        "delay_ms": { "type": "integer" },
    });
    if amount {
        properties["amount"] = json!({ "type": "integer" });
    }
    ToolCatalog::from_tools_list(&json!({ "result": { "tools": [
        { "name": "stream", "inputSchema": { "type": "object", "properties": properties } }
    ] } }))
    .expect("a catalog")
}

/// A session whose one call streams 200 events `delay_ms` apart, never read by an op.
fn slow_call(delay_ms: u16) -> Scenario {
    let session = Slot::of_index(0);
    Scenario {
        ops: vec![
            Op::Initialize {
                session,
                version: Version::V2025_06_18,
            },
            Op::Initialized { session },
            Op::Call {
                session,
                call: ToolCall::Stream {
                    count: 200,
                    size: 8,
                    delay_ms,
                },
                upload: Upload {
                    chunks: Vec::new(),
                    abort_after: None,
                },
            },
        ],
    }
}

fn run(scenario: &Scenario, tools: &ToolCatalog) -> Trace {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut target = reference_target("budget", harness_config()).expect("a valid config");
        let policy = harness_policy();
        let deadlines = Deadlines {
            drain: Duration::from_secs(1),
            budget: Duration::from_millis(500),
            ..Deadlines::virtual_time(&policy)
        };
        execute_with_tools(&mut target, scenario, policy, deadlines, tools).await
    })
}

fn the_call(trace: &Trace) -> usize {
    trace
        .exchanges
        .iter()
        .position(|e| matches!(e.purpose, Purpose::Call { .. }))
        .expect("the call was sent")
}

#[test]
fn a_budgeted_call_still_working_is_cancelled_not_reported() {
    let with_amount = catalog(true);
    let (scenario, trace) = (10..200)
        .map(|delay| {
            let scenario = slow_call(delay);
            let trace = run(&scenario, &with_amount);
            (scenario, trace)
        })
        .find(|(_, trace)| trace.exchanges[the_call(trace)].budget.is_some())
        .expect("some call of the sweep leaves the small rung");
    let call = &trace.exchanges[the_call(&trace)];
    let stream = &trace.streams[call.stream.expect("a response")];
    assert!(
        matches!(stream.end, Some(StreamEnd::Dropped { at }) if at.0 <= 600),
        "cancelled at its budget: {:?}",
        stream.end
    );
    let liveness: Vec<_> = judge(&trace)
        .into_iter()
        .filter(|f| f.oracle.to_string() == "liveness")
        .collect();
    assert!(liveness.is_empty(), "{liveness:?}");

    // The same slow stream without a budget: abandoned at the drain deadline, and reported.
    let trace = run(&scenario, &catalog(false));
    let call = &trace.exchanges[the_call(&trace)];
    assert_eq!(call.budget, None);
    let stream = &trace.streams[call.stream.expect("a response")];
    assert!(
        matches!(stream.end, Some(StreamEnd::Abandoned { .. })),
        "{:?}",
        stream.end
    );
    assert!(judge(&trace)
        .iter()
        .any(|f| f.kind == "request-stream-never-ended"));
}
