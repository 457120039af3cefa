//! Property `byte_caps`: for any op sequence on a bounded stream, the bytes delivered are at
//! most the byte cap plus one terminal event, and the buffers never hold more than the
//! high-water mark plus one chunk (nor more chunks than the chunk mark).
//!
//! Checked after every op (buffers, ledger) and once the stream is drained (delivered bytes:
//! the accepted chunks in order, at most one terminal event, that event last and only after a
//! whole chunk), by the library's checks (`StreamRun::check_buffers`, `check_ledger`,
//! `check_delivered`), which the fuzz target `bounded_stream` runs too.
//! `off_by_one_cap_is_caught`, `missing_backpressure_is_caught` and
//! `terminal_glued_to_a_cut_event_is_caught` run the same property against
//! [`Fault::ByteCapOffByOne`], [`Fault::NoBackpressure`] and [`Fault::TerminalMidEvent`].

use crate::model_inputs;

use mcp_transport_fuzz::model::check::{StreamOp, StreamRun, Violation};
use mcp_transport_fuzz::model::{Fault, StreamConfig};
use proptest::prelude::*;

fn cases(fault: Option<Fault>) -> impl Strategy<Value = (StreamConfig, Vec<StreamOp>)> {
    (
        model_inputs::stream_config(fault),
        model_inputs::stream_ops(1, 40),
    )
}

fn byte_caps_hold(config: StreamConfig, ops: &[StreamOp]) -> Result<(), Violation> {
    let mut run = StreamRun::open(config);
    for op in ops {
        run.apply(op)?;
        run.check_buffers()?;
        run.check_ledger()?;
    }
    run.drain();
    run.check_delivered()
}

proptest! {
    #[test]
    fn byte_caps(case in cases(None)) {
        byte_caps_hold(case.0, &case.1).map_err(model_inputs::fail)?;
    }
}

#[test]
fn off_by_one_cap_is_caught() {
    let fault = Fault::ByteCapOffByOne;
    model_inputs::expect_counterexample(fault, cases(Some(fault)), |(config, ops)| {
        byte_caps_hold(config, &ops).map_err(model_inputs::fail)
    });
}

#[test]
fn missing_backpressure_is_caught() {
    let fault = Fault::NoBackpressure;
    model_inputs::expect_counterexample(fault, cases(Some(fault)), |(config, ops)| {
        byte_caps_hold(config, &ops).map_err(model_inputs::fail)
    });
}

#[test]
fn terminal_glued_to_a_cut_event_is_caught() {
    let fault = Fault::TerminalMidEvent;
    model_inputs::expect_counterexample(fault, cases(Some(fault)), |(config, ops)| {
        byte_caps_hold(config, &ops).map_err(model_inputs::fail)
    });
}
