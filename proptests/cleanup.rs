//! Property `cleanup`: once everything has ended, by any path, nothing stays held.
//!
//! - `stream_cleanup`: after any op sequence, a bounded stream closed by cancel, abort, finish
//!   and drain, a deadline or the byte cap holds nothing in its ledger; and whenever it is
//!   closed, mid-sequence too, the ledger is at zero (`StreamRun::check_ledger`, `end`).
//!   Caught variant: [`Fault::LeakOnAbort`].
//! - `session_cleanup`: after any op sequence, once every session has ended (DELETE, idle
//!   expiry found by a sweep or by the next request, eviction at capacity), the ledger is at
//!   zero, no session, stream or log entry remains, and every id ever issued gets
//!   `UnknownSession` (`World::end_every_session`). After every op the ledger matches what the
//!   store says it holds (`World::check_ledger`). Caught variant: [`Fault::LeakOnExpiry`].
//!
//! The fuzz targets `bounded_stream` and `session_resume` run the same checks.

use crate::model_inputs;

use mcp_transport_fuzz::model::check::{
    SessionEnd, SessionOp, StreamEnding, StreamOp, StreamRun, Violation, World,
};
use mcp_transport_fuzz::model::{Fault, SessionConfig, StreamConfig};
use proptest::prelude::*;

fn stream_cases(
    fault: Option<Fault>,
) -> impl Strategy<Value = (StreamConfig, Vec<StreamOp>, StreamEnding)> {
    let end = prop_oneof![
        Just(StreamEnding::Cancel),
        Just(StreamEnding::Abort),
        Just(StreamEnding::FinishAndDrain),
        Just(StreamEnding::Deadline),
        Just(StreamEnding::SizeLimit),
    ];
    (
        model_inputs::stream_config(fault),
        model_inputs::stream_ops(1, 40),
        end,
    )
}

fn stream_cleanup_holds(
    config: StreamConfig,
    ops: &[StreamOp],
    end: StreamEnding,
) -> Result<(), Violation> {
    let mut run = StreamRun::open(config);
    for op in ops {
        run.apply(op)?;
        run.check_ledger()?;
    }
    run.end(end)
}

fn session_cases(
    fault: Option<Fault>,
) -> impl Strategy<Value = (SessionConfig, u64, Vec<SessionOp>, Vec<SessionEnd>)> {
    let end = prop_oneof![
        Just(SessionEnd::Delete),
        Just(SessionEnd::ExpireBySweep),
        Just(SessionEnd::ExpireOnUse),
    ];
    (
        model_inputs::session_config(fault),
        any::<u64>(),
        model_inputs::session_ops(1, 60),
        proptest::collection::vec(end, 1..4),
    )
}

fn session_cleanup_holds(
    config: SessionConfig,
    seed: u64,
    ops: &[SessionOp],
    ends: &[SessionEnd],
) -> Result<(), Violation> {
    let mut world = World::new(config, seed);
    for op in ops {
        world.apply(op)?;
        world.check_ledger()?;
    }
    world.end_every_session(ends)
}

proptest! {
    #[test]
    fn stream_cleanup(case in stream_cases(None)) {
        stream_cleanup_holds(case.0, &case.1, case.2).map_err(model_inputs::fail)?;
    }

    #[test]
    fn session_cleanup(case in session_cases(None)) {
        session_cleanup_holds(case.0, case.1, &case.2, &case.3).map_err(model_inputs::fail)?;
    }
}

#[test]
fn leak_on_abort_is_caught() {
    let fault = Fault::LeakOnAbort;
    model_inputs::expect_counterexample(fault, stream_cases(Some(fault)), |(config, ops, end)| {
        stream_cleanup_holds(config, &ops, end).map_err(model_inputs::fail)
    });
}

#[test]
fn leak_on_expiry_is_caught() {
    let fault = Fault::LeakOnExpiry;
    model_inputs::expect_counterexample(
        fault,
        session_cases(Some(fault)),
        |(config, seed, ops, ends)| {
            session_cleanup_holds(config, seed, &ops, &ends).map_err(model_inputs::fail)
        },
    );
}
