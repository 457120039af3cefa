//! The scenario language: any bytes are a scenario, the same bytes the same scenario, and every
//! kind of op is reachable through the input's structure.

use std::collections::BTreeSet;

use mcp_transport_fuzz::scenario::{Op, Scenario, ToolCall, MAX_OPS};
use rand::{Rng, SeedableRng};

/// Random inputs of assorted lengths, the same on every run.
fn inputs(count: usize) -> Vec<Vec<u8>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    (0..count)
        .map(|n| {
            let mut bytes = vec![0u8; 16 + n % 512];
            rng.fill_bytes(&mut bytes);
            bytes
        })
        .collect()
}

/// The variant name of a value, from its `Debug` form.
fn variant(value: &impl std::fmt::Debug) -> String {
    let text = format!("{value:?}");
    text.split([' ', '(', '{'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn same_bytes_same_scenario() {
    for bytes in inputs(200) {
        let first = Scenario::from_bytes(&bytes);
        assert_eq!(first, Scenario::from_bytes(&bytes));
        assert_eq!(first.to_string(), Scenario::from_bytes(&bytes).to_string());
    }
}

#[test]
fn scenarios_are_bounded_and_never_fail() {
    assert!(Scenario::from_bytes(&[]).ops.is_empty());
    let long = vec![0x5a; 1 << 20];
    assert!(Scenario::from_bytes(&long).ops.len() <= MAX_OPS);
    for bytes in inputs(200) {
        assert!(Scenario::from_bytes(&bytes).ops.len() <= MAX_OPS);
    }
}

#[test]
fn listing_has_one_numbered_line_per_op() {
    for bytes in inputs(50) {
        let scenario = Scenario::from_bytes(&bytes);
        let listing = scenario.to_string();
        assert_eq!(listing.lines().count(), scenario.ops.len());
        for (number, line) in listing.lines().enumerate() {
            assert!(line.trim_start().starts_with(&number.to_string()), "{line}");
        }
    }
}

#[test]
fn every_kind_of_op_is_reachable_through_structure() {
    let mut ops = BTreeSet::new();
    let mut calls = BTreeSet::new();
    let mut missteps = BTreeSet::new();
    let mut ids = BTreeSet::new();
    let mut floods = BTreeSet::new();
    let mut bodies = BTreeSet::new();
    let mut deviations = BTreeSet::new();
    for bytes in inputs(2000) {
        for op in Scenario::from_bytes(&bytes).ops {
            ops.insert(variant(&op));
            match &op {
                Op::Call { call, .. } => {
                    calls.insert(variant(call));
                }
                Op::Misstep { misstep, .. } => {
                    missteps.insert(variant(misstep));
                }
                Op::Resume { id, .. } => {
                    ids.insert(variant(id));
                }
                Op::Flood { streams, .. } => {
                    floods.insert(variant(streams));
                }
                Op::Oversize { body, .. } => {
                    bodies.insert(variant(body));
                }
                Op::Stateless { deviation, .. } => {
                    deviations.insert(variant(deviation));
                }
                _ => {}
            }
        }
    }
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        ops,
        names(&[
            "Call",
            "Delete",
            "Discover",
            "DropResponse",
            "Flood",
            "Initialize",
            "Initialized",
            "Listen",
            "ListTools",
            "Misstep",
            "OpenGet",
            "Oversize",
            "Read",
            "Resume",
            "Stall",
            "Stateless",
        ])
    );
    assert_eq!(
        calls,
        names(&["Echo", "FetchCached", "Monitor", "Stream", "Subscribe"])
    );
    assert_eq!(
        missteps,
        names(&[
            "BadAccept",
            "BadProtocolVersion",
            "ForeignHost",
            "ForeignOrigin",
            "MissingSessionId",
            "UnknownSessionId",
        ])
    );
    assert_eq!(
        ids,
        names(&["Forged", "Mutated", "OtherSession", "OtherStream", "Own"])
    );
    assert_eq!(floods, names(&["Calls", "Gets", "SpreadCalls"]));
    assert_eq!(
        bodies,
        names(&["Chunked", "Deflate", "Gzip", "OneChunk", "Sized"])
    );
    assert_eq!(
        deviations,
        names(&[
            "LogLevel",
            "NoCapabilities",
            "NoClientInfo",
            "NoMetaVersion",
            "NoMethodHeader",
            "NoNameHeader",
            "NoParamHeader",
            "NoVersionHeader",
            "None",
            "StaleLastEventId",
            "StaleSessionId",
            "UnsupportedVersion",
            "VersionMismatch",
            "WrongMethodHeader",
            "WrongNameHeader",
            "WrongParamHeader",
        ])
    );
    // Untrusted echo text reaches SSE control sequences through structure too.
    let injected = inputs(2000).iter().any(|bytes| {
        Scenario::from_bytes(bytes).ops.iter().any(|op| {
            matches!(op, Op::Call { call: ToolCall::Echo { text }, .. } if text.render().contains("\n\nevent: message"))
        })
    });
    assert!(injected, "no echo text carried a whole injected event");
}
