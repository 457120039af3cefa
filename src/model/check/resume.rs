//! The resume oracle: what one resume must answer, given what the oracle knows.

use super::violation::ensure;
use super::world::{EventTruth, SessionTruth};
use super::{Invariant, Violation};
use crate::model::{LoggedEvent, Replay, ResumeError};

/// Checks the answer to a resume by session `asking` with `last_event_id`, which names the
/// minted event `named` (`None`: not an id this server minted).
///
/// - An id this server did not mint is refused as forged or malformed ([`Invariant::Forgery`]).
/// - A replay holds only events of the asking session and of the id's stream, strictly after
///   the id, in order, without gaps, up to the newest; and only when the id is the asking
///   session's, its stream open and the event after it still kept ([`Invariant::Isolation`]).
/// - A refusal of a genuine id is the one that fits: `ForeignSession`, `UnknownStream` or
///   `Evicted` with the oldest kept sequence number.
///
/// Each replayed event is compared with the event the oracle expects next (no lookup); only a
/// mismatch searches every event, to say which invariant it broke.
pub(super) fn check(
    sessions: &[SessionTruth],
    events: &[EventTruth],
    asking: usize,
    last_event_id: &str,
    named: Option<&EventTruth>,
    answer: Result<Replay<'_>, ResumeError>,
) -> Result<(), Violation> {
    let Some(named) = named else {
        ensure!(
            matches!(
                answer,
                Err(ResumeError::Forged | ResumeError::Malformed | ResumeError::UnknownSession)
            ),
            Invariant::Forgery,
            "id {last_event_id:?}, which this server did not mint, was answered {answer:?}"
        );
        return Ok(());
    };
    let replay = match answer {
        Ok(replay) => replay,
        Err(ResumeError::UnknownSession) => return Ok(()),
        Err(refusal) => return check_refusal(sessions, asking, named, refusal),
    };
    let own = (named.session == asking).then(|| &sessions[asking].streams[named.stream.0 as usize]);
    let mut previous = named.seq;
    for event in replay {
        let next = previous + 1;
        let expected = own
            .and_then(|stream| stream.events.get(usize::try_from(next).ok()?))
            .map(|&e| &events[e]);
        if !expected.is_some_and(|e| event.seq() == next && e.frame == *event.frame()) {
            return Err(mismatch(events, asking, named, previous, event));
        }
        previous = next;
    }
    ensure!(
        named.session == asking,
        Invariant::Isolation,
        "an id of session {} was not refused to session {asking}",
        named.session
    );
    let stream = &sessions[asking].streams[named.stream.0 as usize];
    ensure!(
        stream.open,
        Invariant::Isolation,
        "closed stream {} was replayed",
        named.stream
    );
    ensure!(
        named.seq + 1 >= stream.first_kept(),
        Invariant::Isolation,
        "events after {} were evicted (the oldest kept is {}), yet replayed without Evicted",
        named.seq,
        stream.first_kept()
    );
    ensure!(
        previous + 1 == stream.next_seq,
        Invariant::Isolation,
        "the replay stopped at {previous}, before the newest event {}",
        stream.next_seq - 1
    );
    Ok(())
}

/// Says how a replayed event that is not the expected next one breaks isolation.
fn mismatch(
    events: &[EventTruth],
    asking: usize,
    named: &EventTruth,
    previous: u64,
    event: &LoggedEvent,
) -> Violation {
    let Some(truth) = events.iter().find(|e| e.frame == *event.frame()) else {
        return isolation("a replayed event was never appended".to_owned());
    };
    isolation(if event.seq() != truth.seq {
        format!(
            "a replayed event says sequence number {}, but was appended as {}",
            event.seq(),
            truth.seq
        )
    } else if truth.session != asking {
        format!("session {asking} got an event of session {}", truth.session)
    } else if truth.stream != named.stream {
        format!(
            "a resume on stream {} got an event of stream {}",
            named.stream, truth.stream
        )
    } else if truth.seq == named.seq {
        format!(
            "the Last-Event-ID event itself ({}) was replayed",
            named.seq
        )
    } else if truth.seq <= previous {
        format!(
            "event {} was replayed after {previous}: out of order",
            truth.seq
        )
    } else {
        format!(
            "a gap after {previous} (next replayed: {}) was not reported as Evicted",
            truth.seq
        )
    })
}

fn isolation(detail: String) -> Violation {
    Violation::new(Invariant::Isolation, detail)
}

/// A genuine id was refused: the refusal must be the one that fits.
fn check_refusal(
    sessions: &[SessionTruth],
    asking: usize,
    named: &EventTruth,
    refusal: ResumeError,
) -> Result<(), Violation> {
    let expected = if named.session != asking {
        ResumeError::ForeignSession
    } else {
        let stream = &sessions[asking].streams[named.stream.0 as usize];
        if !stream.open {
            ResumeError::UnknownStream {
                stream: named.stream,
            }
        } else if named.seq + 1 < stream.first_kept() {
            ResumeError::Evicted {
                stream: named.stream,
                first_available: stream.first_kept(),
            }
        } else {
            return Err(isolation(format!(
                "a genuine id of a kept event was refused: {refusal:?}"
            )));
        }
    };
    ensure!(
        refusal == expected,
        Invariant::Isolation,
        "a genuine id was refused with {refusal:?}, where {expected:?} fits"
    );
    Ok(())
}
