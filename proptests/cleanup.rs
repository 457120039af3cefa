//! Property `cleanup`: once everything has ended, by any path, nothing stays held.
//!
//! - `stream_cleanup`: after any op sequence, a bounded stream closed by cancel, abort, finish
//!   and drain, a deadline or the byte cap holds nothing in its ledger; and whenever it is
//!   closed, mid-sequence too, the ledger is at zero. Caught variant: [`Fault::LeakOnAbort`].
//! - `session_cleanup`: after any op sequence, once every session has ended (DELETE, idle
//!   expiry found by a sweep or by the next request, eviction at capacity), the ledger is at
//!   zero, no session, stream or log entry remains, and every id ever issued gets
//!   `UnknownSession`. After every op the ledger matches what the store says it holds. Caught
//!   variant: [`Fault::LeakOnExpiry`].

#[allow(dead_code)]
mod model_inputs;

use mcp_transport_fuzz::model::{
    EndReason, Fault, ResumeError, SessionConfig, SessionError, StreamConfig, StreamKind, StreamNo,
};
use model_inputs::{SessionOp, StreamOp, StreamRun, World};
use proptest::prelude::*;

/// How the last part of a case ends what is still open.
#[derive(Debug, Clone, Copy)]
enum StreamEnd {
    Cancel,
    Abort,
    FinishAndDrain,
    /// The clock moves on by the maximum duration, and the timers fire.
    Deadline,
    /// Offers until the byte cap is crossed, then drain.
    SizeLimit,
}

fn stream_cases(
    fault: Option<Fault>,
) -> impl Strategy<Value = (StreamConfig, Vec<StreamOp>, StreamEnd)> {
    let end = prop_oneof![
        Just(StreamEnd::Cancel),
        Just(StreamEnd::Abort),
        Just(StreamEnd::FinishAndDrain),
        Just(StreamEnd::Deadline),
        Just(StreamEnd::SizeLimit),
    ];
    (
        model_inputs::stream_config(fault),
        model_inputs::stream_ops(1, 40),
        end,
    )
}

fn check_stream_ledger(run: &StreamRun) -> Result<(), TestCaseError> {
    if run.stream.is_closed() {
        prop_assert!(
            run.ledger.is_zero(),
            "a closed stream ({:?}) holds {:?}",
            run.stream.end_reason(),
            run.ledger
        );
    } else {
        prop_assert_eq!(run.ledger.buffers(), run.stream.held_chunks());
        prop_assert_eq!(run.ledger.buffered_bytes(), run.stream.held_bytes());
        prop_assert_eq!((run.ledger.timers(), run.ledger.handles()), (2, 1));
    }
    Ok(())
}

fn stream_cleanup_holds(
    config: StreamConfig,
    ops: &[StreamOp],
    end: StreamEnd,
) -> Result<(), TestCaseError> {
    let mut run = StreamRun::open(config);
    for op in ops {
        run.apply(op)?;
        check_stream_ledger(&run)?;
    }
    match end {
        StreamEnd::Cancel => run.apply(&StreamOp::Cancel)?,
        StreamEnd::Abort => run.apply(&StreamOp::Abort)?,
        StreamEnd::FinishAndDrain => {
            run.apply(&StreamOp::Finish)?;
            run.drain();
        }
        StreamEnd::Deadline => run.apply(&StreamOp::Advance(config.max_duration.0))?,
        StreamEnd::SizeLimit => {
            // Read between offers so that backpressure cannot hold the cap off.
            while run.stream.end_reason().is_none() {
                run.apply(&StreamOp::Offer(0))?;
                run.drain();
            }
            run.drain();
        }
    }
    prop_assert!(run.stream.is_closed(), "{:?} did not close the stream", end);
    check_stream_ledger(&run)?;
    if let Some(EndReason::Finished) = run.ended {
        prop_assert_eq!(&run.delivered, &run.accepted, "a finished stream lost data");
    }
    Ok(())
}

/// How each session still live at the end is ended.
#[derive(Debug, Clone, Copy)]
enum SessionEnd {
    Delete,
    /// Its expiry, found by the sweep of the expiry timers.
    ExpireBySweep,
    /// Its expiry, found when the session is next used.
    ExpireOnUse,
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

/// The ledger holds exactly what the store says it holds.
fn check_session_ledger(world: &World) -> Result<(), TestCaseError> {
    let store = &world.store;
    let ledger = store.ledger();
    prop_assert!(!ledger.overdrawn(), "something was released twice");
    prop_assert_eq!(
        ledger.handles(),
        store.session_count() + store.stream_count(),
        "handles held beside {} sessions and {} streams",
        store.session_count(),
        store.stream_count()
    );
    prop_assert_eq!(ledger.timers(), store.session_count(), "expiry timers");
    prop_assert_eq!(ledger.buffers(), store.logged_events(), "log buffers");
    Ok(())
}

fn session_cleanup_holds(
    config: SessionConfig,
    seed: u64,
    ops: &[SessionOp],
    ends: &[SessionEnd],
) -> Result<(), TestCaseError> {
    let mut world = World::new(config, seed);
    for op in ops {
        world.apply(op)?;
        check_session_ledger(&world)?;
    }
    let live: Vec<usize> = (0..world.sessions.len())
        .filter(|&s| world.sessions[s].live)
        .collect();
    let mut expire = Vec::new();
    for (n, &s) in live.iter().enumerate() {
        match ends[n % ends.len()] {
            SessionEnd::Delete => {
                let id = world.sessions[s].id;
                let answer = world.store.end_session(&id, world.now);
                // An idle session may have expired already; either way it is gone.
                prop_assert!(
                    matches!(answer, Ok(()) | Err(SessionError::UnknownSession)),
                    "DELETE: {answer:?}"
                );
            }
            end => expire.push((s, end)),
        }
    }
    if !expire.is_empty() {
        world.now = world.now.after(config.idle_timeout);
        for (s, end) in expire {
            let id = world.sessions[s].id;
            match end {
                SessionEnd::ExpireOnUse => {
                    let answer = world.store.open_stream(&id, StreamKind::Request, world.now);
                    prop_assert!(
                        matches!(answer, Err(SessionError::UnknownSession)),
                        "an expired session answered {answer:?}"
                    );
                }
                _ => {
                    world.store.expire_idle(world.now);
                }
            }
        }
    }
    let store = &world.store;
    prop_assert_eq!(store.session_count(), 0, "sessions left");
    prop_assert_eq!(store.stream_count(), 0, "streams left");
    prop_assert_eq!(store.logged_events(), 0, "log entries left");
    prop_assert!(
        store.ledger().is_zero(),
        "every session ended but the ledger holds {:?}",
        store.ledger()
    );
    // Every id ever issued is unknown from now on, whatever is asked.
    let ids: Vec<_> = world.sessions.iter().map(|s| s.id).collect();
    let now = world.now;
    for id in ids {
        let store = &mut world.store;
        prop_assert!(matches!(
            store.open_stream(&id, StreamKind::Standalone, now),
            Err(SessionError::UnknownSession)
        ));
        prop_assert!(matches!(
            store.append(&id, StreamNo(0), "after the end", now),
            Err(SessionError::UnknownSession)
        ));
        prop_assert!(matches!(
            store.resume(
                &id,
                "0-0-0000000000000000-00000000000000000000000000000000",
                now
            ),
            Err(ResumeError::UnknownSession)
        ));
        prop_assert!(matches!(
            store.end_session(&id, now),
            Err(SessionError::UnknownSession)
        ));
    }
    Ok(())
}

proptest! {
    #[test]
    fn stream_cleanup(case in stream_cases(None)) {
        stream_cleanup_holds(case.0, &case.1, case.2)?;
    }

    #[test]
    fn session_cleanup(case in session_cases(None)) {
        session_cleanup_holds(case.0, case.1, &case.2, &case.3)?;
    }
}

#[test]
fn leak_on_abort_is_caught() {
    let fault = Fault::LeakOnAbort;
    model_inputs::expect_counterexample(fault, stream_cases(Some(fault)), |(config, ops, end)| {
        stream_cleanup_holds(config, &ops, end)
    });
}

#[test]
fn leak_on_expiry_is_caught() {
    let fault = Fault::LeakOnExpiry;
    model_inputs::expect_counterexample(
        fault,
        session_cases(Some(fault)),
        |(config, seed, ops, ends)| session_cleanup_holds(config, seed, &ops, &ends),
    );
}
