//! Property `resume_isolation`: over arbitrary interleavings of many sessions and streams, a
//! resume never returns an event of another session or of another stream, never the
//! Last-Event-ID event itself, never events out of order, and never a gap unless it reports
//! `Evicted`. Forged ids (mutated bytes of a real id, ids minted under another server key,
//! any text) are always refused, and ids of other sessions are refused as `ForeignSession`.
//!
//! Beyond those named invariants the answer must be exactly what the oracle expects: all the
//! kept events after the id, or the one right refusal. `World::apply` checks every resume so
//! (and every other answer of the store), for this suite and the fuzz target `session_resume`
//! alike. Each broken variant is run by its own test: [`Fault::ResumeIgnoresSession`],
//! [`Fault::ResumeUsesLatestStream`], [`Fault::InclusiveReplay`], [`Fault::SilentEviction`] and
//! [`Fault::UncheckedTag`].

use crate::model_inputs;

use mcp_transport_fuzz::model::check::{SessionOp, Violation, World};
use mcp_transport_fuzz::model::{Fault, SessionConfig};
use proptest::prelude::*;

fn cases(fault: Option<Fault>) -> impl Strategy<Value = (SessionConfig, u64, Vec<SessionOp>)> {
    (
        model_inputs::session_config(fault),
        any::<u64>(),
        model_inputs::session_ops(6, 80),
    )
}

fn resume_isolation_holds(
    config: SessionConfig,
    seed: u64,
    ops: &[SessionOp],
) -> Result<(), Violation> {
    let mut world = World::new(config, seed);
    ops.iter().try_for_each(|op| world.apply(op))
}

proptest! {
    #[test]
    fn resume_isolation(case in cases(None)) {
        resume_isolation_holds(case.0, case.1, &case.2).map_err(model_inputs::fail)?;
    }
}

fn caught(fault: Fault) {
    model_inputs::expect_counterexample(fault, cases(Some(fault)), |(config, seed, ops)| {
        resume_isolation_holds(config, seed, &ops).map_err(model_inputs::fail)
    });
}

#[test]
fn resume_ignoring_the_session_is_caught() {
    caught(Fault::ResumeIgnoresSession);
}

#[test]
fn resume_on_the_latest_stream_is_caught() {
    caught(Fault::ResumeUsesLatestStream);
}

#[test]
fn inclusive_replay_is_caught() {
    caught(Fault::InclusiveReplay);
}

#[test]
fn silent_eviction_is_caught() {
    caught(Fault::SilentEviction);
}

#[test]
fn unchecked_tag_is_caught() {
    caught(Fault::UncheckedTag);
}
