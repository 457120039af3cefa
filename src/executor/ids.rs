//! Where a resume's `Last-Event-ID` comes from: ids the client received, picked at run time.

use super::reading::OpenBody;
use crate::scenario::{IdPick, Slot, StreamPick};
use crate::trace::{IdSource, LastEventId, Trace};

/// The id `pick` names for a resume by `asking` (index into the trace's sessions), or `None`
/// when the client has no such id.
///
/// `Own` picks among the session's streams that the client no longer holds (the stream it
/// lost), `OtherStream` among those it still holds; each falls back to any stream of the
/// session. `OtherSession` takes an id another session received, `Mutated` one of the
/// session's own ids with one byte changed to another visible character, and `Forged` one of
/// its ids with the last run of digits replaced (or a bare number when it has none).
pub(super) fn resolve(
    trace: &Trace,
    open: &[OpenBody],
    asking: usize,
    pick: IdPick,
) -> Option<LastEventId> {
    let held = |stream: usize| open.iter().any(|body| body.stream == stream);
    let own: Vec<usize> = streams_with_ids(trace, |session| session == asking);
    match pick {
        IdPick::Own { stream, event } => {
            let lost: Vec<usize> = own.iter().copied().filter(|&s| !held(s)).collect();
            let (stream, event) = pick_event(trace, prefer(&lost, &own), stream, event)?;
            Some(id(trace, stream, event, IdSource::Own { stream, event }))
        }
        IdPick::OtherStream { stream, event } => {
            let live: Vec<usize> = own.iter().copied().filter(|&s| held(s)).collect();
            let (stream, event) = pick_event(trace, prefer(&live, &own), stream, event)?;
            Some(id(
                trace,
                stream,
                event,
                IdSource::OtherStream { stream, event },
            ))
        }
        IdPick::OtherSession { session, event } => {
            let others: Vec<usize> = streams_with_ids(trace, |s| {
                s != asking && trace.sessions[s].slot == Slot::of_index(session.index()).index()
            });
            let others = prefer(&others, &[]);
            let others = if others.is_empty() {
                streams_with_ids(trace, |s| s != asking)
            } else {
                others.to_vec()
            };
            let (stream, event) =
                pick_event(trace, &others, StreamPick(session.index() as u8), event)?;
            Some(id(
                trace,
                stream,
                event,
                IdSource::OtherSession { stream, event },
            ))
        }
        IdPick::Mutated { event, at, with } => {
            let (stream, event) = pick_event(trace, &own, StreamPick(event), event)?;
            let mut bytes = event_id(trace, stream, event).as_bytes().to_vec();
            let index = usize::from(at) % bytes.len();
            bytes[index] = b'!' + with % 94;
            Some(LastEventId {
                value: String::from_utf8_lossy(&bytes).into_owned(),
                source: IdSource::Mutated { stream, event },
            })
        }
        IdPick::Forged { seq } => {
            let template = pick_event(trace, &own, StreamPick(0), 0)
                .map(|(stream, event)| event_id(trace, stream, event).to_owned());
            Some(LastEventId {
                value: forge(template.as_deref(), seq),
                source: IdSource::Forged,
            })
        }
    }
}

fn prefer<'a>(first: &'a [usize], otherwise: &'a [usize]) -> &'a [usize] {
    if first.is_empty() {
        otherwise
    } else {
        first
    }
}

/// Streams of sessions `of` accepts that have at least one event with an id.
fn streams_with_ids(trace: &Trace, of: impl Fn(usize) -> bool) -> Vec<usize> {
    (0..trace.streams.len())
        .filter(|&stream| {
            let record = &trace.streams[stream];
            record.session.is_some_and(&of) && id_events(trace, stream).next().is_some()
        })
        .collect()
}

/// Indices of the events of `stream` that carry a non-empty id.
fn id_events(trace: &Trace, stream: usize) -> impl Iterator<Item = usize> + '_ {
    trace.streams[stream]
        .events
        .iter()
        .enumerate()
        .filter(|(_, event)| event.id.as_deref().is_some_and(|id| !id.is_empty()))
        .map(|(index, _)| index)
}

/// The `event`-th id'd event (modulo their number) of the `stream`-th candidate.
fn pick_event(
    trace: &Trace,
    candidates: &[usize],
    stream: StreamPick,
    event: u8,
) -> Option<(usize, usize)> {
    if candidates.is_empty() {
        return None;
    }
    let stream = candidates[usize::from(stream.0) % candidates.len()];
    let events: Vec<usize> = id_events(trace, stream).collect();
    let event = *events.get(usize::from(event) % events.len().max(1))?;
    Some((stream, event))
}

fn event_id(trace: &Trace, stream: usize, event: usize) -> &str {
    trace.streams[stream].events[event]
        .id
        .as_deref()
        .unwrap_or_default()
}

fn id(trace: &Trace, stream: usize, event: usize, source: IdSource) -> LastEventId {
    LastEventId {
        value: event_id(trace, stream, event).to_owned(),
        source,
    }
}

/// `template` with its last run of ASCII digits replaced by `seq`, or `seq` alone.
fn forge(template: Option<&str>, seq: u16) -> String {
    let Some(template) = template else {
        return seq.to_string();
    };
    let bytes = template.as_bytes();
    let Some(end) = bytes.iter().rposition(u8::is_ascii_digit) else {
        return format!("{template}{seq}");
    };
    let start = bytes[..end]
        .iter()
        .rposition(|b| !b.is_ascii_digit())
        .map_or(0, |i| i + 1);
    format!("{}{seq}{}", &template[..start], &template[end + 1..])
}

/// A `Last-Event-ID` left over from the 2025 era for a stateless client's request: the last
/// id any session received, or a forged one when none did.
pub(super) fn stale(trace: &Trace) -> LastEventId {
    let last = streams_with_ids(trace, |_| true)
        .into_iter()
        .rev()
        .find_map(|stream| Some((stream, id_events(trace, stream).last()?)));
    match last {
        Some((stream, event)) => id(
            trace,
            stream,
            event,
            IdSource::OtherSession { stream, event },
        ),
        None => LastEventId {
            value: forge(None, 0),
            source: IdSource::Forged,
        },
    }
}
