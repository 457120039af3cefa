//! Property `deadlines`: on the injected clock, a stream without read progress closes at its
//! idle timeout, and no stream outlives its maximum duration.
//!
//! After every op at instant `now`: if `now` is at or past the last read progress plus the idle
//! timeout, or the open instant plus the maximum duration, the stream is closed and holds
//! nothing; a stream that a deadline closed was not closed early; an open stream's next
//! deadline is never later than its maximum duration. Once drained, a stream closed by a
//! deadline has delivered that deadline's terminal event last. `missing_idle_timeout_is_caught`
//! and `duration_reset_by_reads_is_caught` run the same property against
//! [`Fault::NoIdleTimeout`] and [`Fault::DurationResetsOnRead`].

#[allow(dead_code)]
mod model_inputs;

use mcp_transport_fuzz::model::{EndReason, Fault, StreamConfig};
use model_inputs::{StreamOp, StreamRun};
use proptest::prelude::*;

fn cases(fault: Option<Fault>) -> impl Strategy<Value = (StreamConfig, Vec<StreamOp>)> {
    (
        model_inputs::stream_config(fault),
        model_inputs::stream_ops(0, 300),
    )
}

fn deadlines_hold(config: StreamConfig, ops: &[StreamOp]) -> Result<(), TestCaseError> {
    let mut run = StreamRun::open(config);
    let idle_at = |run: &StreamRun| run.last_progress.after(config.idle_timeout);
    let duration_at = run.opened.after(config.max_duration);
    for op in ops {
        let was_closed = run.stream.is_closed();
        // A read that closes the stream still returns the terminal event: not read progress.
        let idle_before = idle_at(&run);
        run.apply(op)?;
        let now = run.now;
        if now >= idle_at(&run) {
            prop_assert!(
                run.stream.is_closed(),
                "no read progress since {} and still open at {} (idle timeout {})",
                run.last_progress,
                now,
                config.idle_timeout
            );
        }
        if now >= duration_at {
            prop_assert!(
                run.stream.is_closed(),
                "still open at {}, past its maximum duration {}",
                now,
                config.max_duration
            );
        }
        if run.stream.is_closed() {
            prop_assert!(run.ledger.is_zero(), "closed but holds {:?}", run.ledger);
            if !was_closed {
                match run.stream.end_reason() {
                    Some(EndReason::IdleTimeout) => {
                        prop_assert!(now >= idle_before, "idle timeout fired early at {}", now)
                    }
                    Some(EndReason::DurationLimit) => {
                        prop_assert!(now >= duration_at, "duration fired early at {}", now)
                    }
                    _ => {}
                }
            }
        } else if let Some(deadline) = run.stream.next_deadline() {
            prop_assert!(
                deadline <= duration_at,
                "the next deadline {} is past the maximum duration",
                deadline
            );
        }
    }
    run.drain();
    if let Some(reason @ (EndReason::IdleTimeout | EndReason::DurationLimit)) = run.ended {
        prop_assert!(
            run.delivered.ends_with(reason.terminal_event()),
            "a stream closed by {:?} did not end with its terminal event",
            reason
        );
    }
    Ok(())
}

proptest! {
    #[test]
    fn deadlines(case in cases(None)) {
        deadlines_hold(case.0, &case.1)?;
    }
}

#[test]
fn missing_idle_timeout_is_caught() {
    let fault = Fault::NoIdleTimeout;
    model_inputs::expect_counterexample(fault, cases(Some(fault)), |(config, ops)| {
        deadlines_hold(config, &ops)
    });
}

#[test]
fn duration_reset_by_reads_is_caught() {
    let fault = Fault::DurationResetsOnRead;
    model_inputs::expect_counterexample(fault, cases(Some(fault)), |(config, ops)| {
        deadlines_hold(config, &ops)
    });
}
