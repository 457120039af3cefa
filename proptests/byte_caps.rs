//! Property `byte_caps`: for any op sequence on a bounded stream, the bytes delivered are at
//! most the byte cap plus one terminal event, and the buffers never hold more than the
//! high-water mark plus one chunk (nor more chunks than the chunk mark).
//!
//! Checked after every op (buffers, ledger) and once the stream is drained (delivered bytes:
//! the accepted chunks in order, at most one terminal event, and that event last).
//! `off_by_one_cap_is_caught` and `missing_backpressure_is_caught` run the same property
//! against [`Fault::ByteCapOffByOne`] and [`Fault::NoBackpressure`].

#[allow(dead_code)]
mod model_inputs;

use mcp_transport_fuzz::model::{EndReason, Fault, StreamConfig};
use mcp_transport_fuzz::sse::{decode_chunks, Limits, Record};
use model_inputs::{StreamOp, StreamRun};
use proptest::prelude::*;

fn cases(fault: Option<Fault>) -> impl Strategy<Value = (StreamConfig, Vec<StreamOp>)> {
    (
        model_inputs::stream_config(fault),
        model_inputs::stream_ops(1, 40),
    )
}

/// What buffering may reach: the high-water mark plus one chunk (the largest there can be).
fn buffer_bound(config: &StreamConfig) -> (Option<usize>, Option<usize>) {
    let bytes = config
        .high_water
        .bytes()
        .map(|mark| mark + config.max_chunk_bytes);
    (bytes, config.high_water.chunks())
}

fn byte_caps_hold(config: StreamConfig, ops: &[StreamOp]) -> Result<(), TestCaseError> {
    let mut run = StreamRun::open(config);
    let (max_bytes, max_chunks) = buffer_bound(&config);
    for op in ops {
        run.apply(op)?;
        let held = run.stream.held_bytes();
        if let Some(max) = max_bytes {
            prop_assert!(
                held <= max,
                "{} bytes buffered, over the high-water mark plus one chunk ({})",
                held,
                max
            );
        }
        if let Some(max) = max_chunks {
            prop_assert!(run.stream.held_chunks() <= max, "chunks over the mark");
        }
        prop_assert_eq!(run.ledger.buffered_bytes(), held, "ledger bytes");
        prop_assert_eq!(run.ledger.buffers(), run.stream.held_chunks(), "ledger");
    }
    run.drain();
    let delivered = &run.delivered;
    let records = decode_chunks([delivered.as_slice()], Limits::default())
        .map_err(|(_, e)| TestCaseError::fail(e.to_string()))?;
    let terminals: Vec<usize> = records
        .iter()
        .enumerate()
        .filter(|(_, record)| {
            matches!(record, Record::Event(event)
                if EndReason::WITH_TERMINAL_EVENT.iter().any(|r| r.event_type() == Some(&event.event_type)))
        })
        .map(|(at, _)| at)
        .collect();
    prop_assert!(terminals.len() <= 1, "{} terminal events", terminals.len());
    if let Some(&at) = terminals.first() {
        prop_assert_eq!(at, records.len() - 1, "the terminal event is not last");
    }
    // The offered events never hold an `e`, and a terminal event starts with `event:`, so the
    // delivered bytes split exactly into accepted bytes, then (part of) one terminal event.
    let data = delivered
        .iter()
        .zip(&run.accepted)
        .take_while(|(a, b)| a == b)
        .count();
    let rest = &delivered[data..];
    prop_assert!(
        data <= config.byte_cap,
        "{} bytes delivered before the terminal event, over the cap of {}",
        data,
        config.byte_cap
    );
    prop_assert!(
        EndReason::WITH_TERMINAL_EVENT
            .iter()
            .any(|reason| reason.terminal_event().starts_with(rest)),
        "after the accepted chunks came {:?}, which is not one terminal event",
        String::from_utf8_lossy(rest)
    );
    Ok(())
}

proptest! {
    #[test]
    fn byte_caps(case in cases(None)) {
        byte_caps_hold(case.0, &case.1)?;
    }
}

#[test]
fn off_by_one_cap_is_caught() {
    let fault = Fault::ByteCapOffByOne;
    model_inputs::expect_counterexample(fault, cases(Some(fault)), |(config, ops)| {
        byte_caps_hold(config, &ops)
    });
}

#[test]
fn missing_backpressure_is_caught() {
    let fault = Fault::NoBackpressure;
    model_inputs::expect_counterexample(fault, cases(Some(fault)), |(config, ops)| {
        byte_caps_hold(config, &ops)
    });
}
