//! Learning a server's tools: the scenario that lists them, in the eras worth trying, and the
//! catalog its `tools/list` answer gives. Every runner of a server the suite did not build
//! (a socket, a user's own service) calls the tools the server lists.

use crate::executor::ToolCatalog;
use crate::scenario::{Era, Op, Scenario, Slot, Version};
use crate::trace::{Purpose, Trace};

/// The eras to list tools in, in order, for a run in `era`: the session way always (a server
/// that does not speak 2026-07-28 can still be fuzzed, and judged on how it refuses that
/// revision), after `server/discover` and a stateless `tools/list` in a 2026-only run.
pub(super) fn listing_eras(era: Era) -> Vec<Era> {
    match era {
        Era::Stateless => vec![Era::Stateless, Era::Sessions],
        Era::Sessions | Era::Both => vec![Era::Sessions],
    }
}

/// The scenario that lists the tools in `era`: `server/discover` then `tools/list` from a
/// stateless client, or initialize, `notifications/initialized` and `tools/list` in a session
/// (which the executor's teardown DELETEs).
pub(super) fn listing_scenario(era: Era) -> Scenario {
    let slot = Slot::of_index(0);
    let mut ops = match era {
        Era::Stateless => vec![Op::Discover { client: slot }],
        Era::Sessions | Era::Both => vec![
            Op::Initialize {
                session: slot,
                version: Version::V2025_06_18,
            },
            Op::Initialized { session: slot },
        ],
    };
    ops.push(Op::ListTools { session: slot });
    Scenario { ops }
}

/// The catalog in the `tools/list` response of `trace`.
pub(super) fn tools_listed(trace: &Trace) -> Result<ToolCatalog, String> {
    let opener = trace
        .exchanges
        .iter()
        .find(|exchange| matches!(exchange.purpose, Purpose::Initialize | Purpose::Discover))
        .ok_or("no initialize or server/discover was sent")?;
    if opener.outcome.status() != Some(200) {
        let name = match opener.purpose {
            Purpose::Discover => "server/discover",
            _ => "initialize",
        };
        return Err(format!("{name} got {}", opener.outcome));
    }
    let list = trace
        .exchanges
        .iter()
        .find(|exchange| exchange.purpose == Purpose::ListTools)
        .ok_or("no tools/list was sent (initialize gave no session id?)")?;
    let stream = list
        .stream
        .map(|index| &trace.streams[index])
        .ok_or_else(|| format!("tools/list got {}", list.outcome))?;
    let bodies: Vec<&str> = if stream.sse {
        stream
            .events
            .iter()
            .map(|event| event.data.as_str())
            .collect()
    } else {
        vec![stream.text.as_str()]
    };
    let response = bodies
        .into_iter()
        .filter_map(|body| serde_json::from_str::<serde_json::Value>(body).ok())
        .find(|message| message.get("id").and_then(serde_json::Value::as_u64) == list.rpc_id)
        .ok_or("the tools/list response never came")?;
    ToolCatalog::from_tools_list(&response)
}
