//! Property `deadlines`: on the injected clock, a stream without read progress closes at its
//! idle timeout, and no stream outlives its maximum duration.
//!
//! After every op at instant `now` (`StreamRun::check_deadlines`): if `now` is at or past the
//! last read progress plus the idle timeout, or the open instant plus the maximum duration,
//! the stream is closed and holds nothing (`check_ledger`); a stream that a deadline closed was
//! not closed early; an open stream's next deadline is never later than its maximum duration.
//! Once drained, a stream closed by a deadline has delivered that deadline's terminal event
//! last, or, if the deadline cut an event its reader had begun, ends inside that event
//! (`check_terminal`). The fuzz target `bounded_stream` runs the same checks.
//! `missing_idle_timeout_is_caught` and `duration_reset_by_reads_is_caught` run the same
//! property against [`Fault::NoIdleTimeout`] and [`Fault::DurationResetsOnRead`].

use crate::model_inputs;

use mcp_transport_fuzz::model::check::{StreamOp, StreamRun, Violation};
use mcp_transport_fuzz::model::{Fault, StreamConfig};
use proptest::prelude::*;

fn cases(fault: Option<Fault>) -> impl Strategy<Value = (StreamConfig, Vec<StreamOp>)> {
    (
        model_inputs::stream_config(fault),
        model_inputs::stream_ops(0, 300),
    )
}

fn deadlines_hold(config: StreamConfig, ops: &[StreamOp]) -> Result<(), Violation> {
    let mut run = StreamRun::open(config);
    for op in ops {
        run.apply(op)?;
        run.check_deadlines()?;
        run.check_ledger()?;
    }
    run.drain();
    run.check_terminal()
}

proptest! {
    #[test]
    fn deadlines(case in cases(None)) {
        deadlines_hold(case.0, &case.1).map_err(model_inputs::fail)?;
    }
}

#[test]
fn missing_idle_timeout_is_caught() {
    let fault = Fault::NoIdleTimeout;
    model_inputs::expect_counterexample(fault, cases(Some(fault)), |(config, ops)| {
        deadlines_hold(config, &ops).map_err(model_inputs::fail)
    });
}

#[test]
fn duration_reset_by_reads_is_caught() {
    let fault = Fault::DurationResetsOnRead;
    model_inputs::expect_counterexample(fault, cases(Some(fault)), |(config, ops)| {
        deadlines_hold(config, &ops).map_err(model_inputs::fail)
    });
}
