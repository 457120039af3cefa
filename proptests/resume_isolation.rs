//! Property `resume_isolation`: over arbitrary interleavings of many sessions and streams, a
//! resume never returns an event of another session or of another stream, never the
//! Last-Event-ID event itself, never events out of order, and never a gap unless it reports
//! `Evicted`. Forged ids (mutated bytes of a real id, ids minted under another server key,
//! any text) are always refused, and ids of other sessions are refused as `ForeignSession`.
//!
//! Beyond those named invariants the answer must be exactly what the oracle expects: all the
//! kept events after the id, or the one right refusal. Each broken variant is run by its own
//! test: [`Fault::ResumeIgnoresSession`], [`Fault::ResumeUsesLatestStream`],
//! [`Fault::InclusiveReplay`], [`Fault::SilentEviction`] and [`Fault::UncheckedTag`].

#[allow(dead_code)]
mod model_inputs;

use std::collections::HashMap;

use bytes::Bytes;
use mcp_transport_fuzz::model::{Fault, ResumeError, SessionConfig};
use model_inputs::{EventTruth, ResumeCase, SessionOp, World};
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
) -> Result<(), TestCaseError> {
    let mut world = World::new(config, seed);
    for op in ops {
        if let Some(case) = world.apply(op)? {
            check_resume(&world, &case)?;
        }
    }
    Ok(())
}

fn check_resume(world: &World, case: &ResumeCase) -> Result<(), TestCaseError> {
    let asking = &world.sessions[case.asking];
    let Some(named) = &case.named else {
        // Not an id this server minted: a forgery, whatever it looks like.
        prop_assert!(
            case.answer.is_err(),
            "forged id {:?} was accepted: {:?}",
            case.last_event_id,
            case.answer
        );
        prop_assert!(
            matches!(
                case.answer,
                Err(ResumeError::Forged | ResumeError::Malformed | ResumeError::UnknownSession)
            ),
            "forged id {:?} was not refused as forged: {:?}",
            case.last_event_id,
            case.answer
        );
        return Ok(());
    };
    let answer = match &case.answer {
        Err(ResumeError::UnknownSession) => return Ok(()),
        Ok(events) => events,
        Err(refusal) => return check_refusal(world, case, named, refusal),
    };
    let by_frame: HashMap<&Bytes, &EventTruth> =
        world.events.values().map(|e| (&e.frame, e)).collect();
    let mut previous = named.seq;
    for event in answer {
        let truth = by_frame
            .get(event.frame())
            .ok_or_else(|| TestCaseError::fail("a replayed event was never appended"))?;
        prop_assert_eq!(event.seq(), truth.seq, "a replayed event's sequence number");
        prop_assert!(
            truth.session == case.asking,
            "session {} got an event of session {}",
            case.asking,
            truth.session
        );
        prop_assert!(
            truth.stream == named.stream,
            "a resume on stream {} got an event of stream {}",
            named.stream,
            truth.stream
        );
        prop_assert!(
            truth.seq != named.seq,
            "the Last-Event-ID event itself was replayed"
        );
        prop_assert!(truth.seq > previous, "events out of order");
        prop_assert!(
            truth.seq == previous + 1,
            "a gap after {} that was not reported as Evicted",
            previous
        );
        previous = truth.seq;
    }
    // Exactness: the answer is all that the oracle says the log keeps after the id.
    prop_assert_eq!(named.session, case.asking, "a foreign id was not refused");
    let stream = &asking.streams[named.stream.0 as usize];
    prop_assert!(stream.open, "a closed stream was replayed");
    prop_assert!(
        named.seq + 1 >= stream.first_kept(),
        "an evicted gap was replayed"
    );
    prop_assert_eq!(previous + 1, stream.next_seq, "the replay stopped early");
    Ok(())
}

/// A genuine id was refused: the refusal must be the one that fits.
fn check_refusal(
    world: &World,
    case: &ResumeCase,
    named: &EventTruth,
    refusal: &ResumeError,
) -> Result<(), TestCaseError> {
    if named.session != case.asking {
        prop_assert_eq!(refusal, &ResumeError::ForeignSession);
        return Ok(());
    }
    let stream = &world.sessions[case.asking].streams[named.stream.0 as usize];
    let expected = if !stream.open {
        ResumeError::UnknownStream {
            stream: named.stream,
        }
    } else if named.seq + 1 < stream.first_kept() {
        ResumeError::Evicted {
            stream: named.stream,
            first_available: stream.first_kept(),
        }
    } else {
        return Err(TestCaseError::fail(format!(
            "a genuine id of a kept event was refused: {refusal:?}"
        )));
    };
    prop_assert_eq!(refusal, &expected);
    Ok(())
}

proptest! {
    #[test]
    fn resume_isolation(case in cases(None)) {
        resume_isolation_holds(case.0, case.1, &case.2)?;
    }
}

fn caught(fault: Fault) {
    model_inputs::expect_counterexample(fault, cases(Some(fault)), |(config, seed, ops)| {
        resume_isolation_holds(config, seed, &ops)
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
