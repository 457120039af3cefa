//! `replay-order`: "a resume replays the Last-Event-ID event itself, skips, or reorders
//! events"; and `id-uniqueness`: "two events in one session share an id".

use std::collections::BTreeMap;

use serde_json::json;

use super::facts::{event_id, finding, is_resume, resumed, stream_session, stream_step};
use super::{Finding, Oracle, Severity};
use crate::trace::{Exchange, Trace};

/// `replay-order`, for every accepted resume from an id of the asking session (`Own` or
/// `OtherStream`, stream S, event k), with ids[..] the ids the client had seen on S when it
/// resumed: the replay "must not contain ids[k] (`inclusive-replay`), must not contain any
/// ids[j] with j<k (`replayed-earlier`), and ids[k+1..] must appear as a prefix of the replay
/// in the same order as far as the replay goes (`skipped-event` if one is missing before a
/// later one appears, `reordered`)". Each kind is reported once per resume.
pub(super) fn replay_order(trace: &Trace) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, exchange) in trace.exchanges.iter().enumerate() {
        let (Some((stream, event)), Some(replay)) = (resumed(exchange), exchange.stream) else {
            continue;
        };
        if let Some(seen) = Seen::of(trace, exchange, stream, event) {
            let resume = Resume {
                exchange: index,
                step: exchange.step,
                stream,
                replay,
            };
            findings.extend(resume.judge(trace, &seen));
        }
    }
    findings
}

/// The ids the client had seen on the resumed stream when it resumed, and which was sent.
struct Seen<'t> {
    ids: Vec<&'t str>,
    /// Whether each id's event carried data (priming events carry none).
    data: Vec<bool>,
    /// Each id's first position in `ids`.
    positions: BTreeMap<&'t str, usize>,
    /// The position of the `Last-Event-ID`.
    last: usize,
}

impl<'t> Seen<'t> {
    fn of(trace: &'t Trace, resume: &Exchange, stream: usize, event: usize) -> Option<Self> {
        let events = &trace.streams.get(stream)?.events;
        event_id(events.get(event)?)?;
        let before = |index: usize| index == event || events[index].at <= resume.sent_at;
        let kept: Vec<(usize, &str)> = (0..events.len())
            .filter(|&index| before(index))
            .filter_map(|index| Some((index, event_id(&events[index])?)))
            .collect();
        let last = kept.iter().position(|&(index, _)| index == event)?;
        let data = kept
            .iter()
            .map(|&(index, _)| !events[index].data.is_empty())
            .collect();
        let ids: Vec<&str> = kept.into_iter().map(|(_, id)| id).collect();
        let mut positions = BTreeMap::new();
        for (position, id) in ids.iter().enumerate() {
            positions.entry(*id).or_insert(position);
        }
        Some(Self {
            ids,
            data,
            positions,
            last,
        })
    }

    /// The first position from `next` on whose event carried data: the next message the
    /// replay must bring.
    fn next_message(&self, mut next: usize) -> usize {
        while next < self.ids.len() && !self.data[next] {
            next += 1;
        }
        next
    }
}

/// One accepted resume: its exchange, the stream it asked for, and its response stream.
#[derive(Debug, Clone, Copy)]
struct Resume {
    exchange: usize,
    step: usize,
    stream: usize,
    replay: usize,
}

impl Resume {
    /// Walks the replay's ids in order: no event may repeat the `Last-Event-ID` or an id seen
    /// before it; the messages (events with data; priming events carry none and may come
    /// anywhere) must start with those seen after it, in order.
    fn judge(self, trace: &Trace, seen: &Seen) -> Vec<Finding> {
        let mut findings: Vec<Finding> = Vec::new();
        let mut next = seen.last + 1;
        let mut in_order = true;
        for (event, record) in trace.streams[self.replay].events.iter().enumerate() {
            let Some(id) = event_id(record) else {
                continue;
            };
            next = seen.next_message(next);
            let position = seen.positions.get(id).copied();
            let found = match position {
                Some(p) if p == seen.last => Some("inclusive-replay"),
                Some(p) if p < seen.last => Some("replayed-earlier"),
                _ if record.data.is_empty() || !in_order => None,
                Some(p) if p == next => {
                    next += 1;
                    None
                }
                Some(p) if p > next => Some("skipped-event"),
                Some(_) => Some("reordered"),
                None if next < seen.ids.len() => Some("skipped-event"),
                None => None,
            };
            let Some(kind) = found else {
                continue;
            };
            in_order &= !matches!(kind, "skipped-event" | "reordered");
            if findings.iter().all(|finding| finding.kind != kind) {
                let at = (event, id, position);
                findings.push(self.finding(kind, at, seen, next));
            }
        }
        findings
    }

    /// The finding of `kind` at `(event, id, position in what was seen)` of the replay, when
    /// the message the replay had to bring next was the `next`-th seen.
    fn finding(
        self,
        kind: &'static str,
        (event, id, position): (usize, &str, Option<usize>),
        seen: &Seen,
        next: usize,
    ) -> Finding {
        let last = seen.ids[seen.last];
        let expected = seen.ids.get(next).copied();
        let summary = match kind {
            "inclusive-replay" => format!("resume from {last:?} replayed {last:?} itself"),
            "replayed-earlier" => {
                format!("resume from {last:?} replayed {id:?}, seen before it")
            }
            "skipped-event" => {
                format!("resume from {last:?} skipped {expected:?}: {id:?} came first")
            }
            _ => format!("resume from {last:?} replayed {id:?} out of order"),
        };
        let evidence = json!({
            "exchange": self.exchange,
            "stream": self.stream,
            "replay_stream": self.replay,
            "replay_event": event,
            "id": id,
            "seen_position": position,
            "last_event_id": last,
            "expected": expected,
            "seen_ids": seen.ids,
        });
        finding(
            Oracle::ReplayOrder,
            Severity::High,
            kind,
            summary,
            evidence,
            Some(self.step),
        )
    }
}

/// `id-uniqueness`: "within a session, over every stream that is NOT a resume stream, no two
/// events (with an `id`) share an id (`duplicate-id`); within any single stream, no id twice.
/// Ignore empty ids." A stream of no session is judged alone.
pub(super) fn id_uniqueness(trace: &Trace) -> Vec<Finding> {
    let mut scopes: BTreeMap<Scope, BTreeMap<&str, (usize, usize)>> = BTreeMap::new();
    let mut findings = Vec::new();
    for (stream, record) in trace.streams.iter().enumerate() {
        let scope = match stream_session(trace, stream) {
            Some(session) if !is_resume(trace, stream) => Scope::Session(session),
            _ => Scope::Stream(stream),
        };
        let first = scopes.entry(scope).or_default();
        for (event, id) in record
            .events
            .iter()
            .enumerate()
            .filter_map(|(event, record)| Some((event, event_id(record)?)))
        {
            match first.get(id) {
                Some(&earlier) => {
                    findings.push(duplicate(trace, scope, id, earlier, (stream, event)))
                }
                None => {
                    first.insert(id, (stream, event));
                }
            }
        }
    }
    findings
}

/// Where ids must be unique: a session's non-resume streams, or one stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Scope {
    Session(usize),
    Stream(usize),
}

fn duplicate(
    trace: &Trace,
    scope: Scope,
    id: &str,
    first: (usize, usize),
    again: (usize, usize),
) -> Finding {
    let within = match scope {
        Scope::Session(session) => format!("session {session}"),
        Scope::Stream(stream) => format!("stream {stream}"),
    };
    let summary = format!(
        "{within}: id {id:?} of stream {} event {} again on stream {} event {}",
        first.0, first.1, again.0, again.1
    );
    let evidence = json!({
        "id": id,
        "first": { "stream": first.0, "event": first.1 },
        "again": { "stream": again.0, "event": again.1 },
    });
    finding(
        Oracle::IdUniqueness,
        Severity::Medium,
        "duplicate-id",
        summary,
        evidence,
        stream_step(trace, again.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::test_trace::{kinds, progress, Build};
    use crate::trace::{IdSource, Outcome};

    /// Session 0 with a call stream (1) whose events have ids e0..e3.
    fn seen_stream() -> (Build, usize, u64) {
        let mut b = Build::new();
        let s = b.session(Some("a"), "2025-11-25");
        let (call, stream) = b.call(s);
        let rpc = b.rpc(call);
        for n in 0..4 {
            b.event(stream, Some(&format!("e{n}")), &progress(rpc, n));
        }
        (b, s, rpc)
    }

    /// A resume from e1 whose replay has `ids`.
    fn replay(ids: &[&str]) -> Trace {
        let (mut b, s, rpc) = seen_stream();
        let (_, replay) = b.resume(
            s,
            "e1",
            IdSource::Own {
                stream: 1,
                event: 1,
            },
        );
        b.event(replay, Some("prime"), "");
        for (n, id) in ids.iter().enumerate() {
            b.event(replay, Some(id), &progress(rpc, 10 + n as u64));
        }
        b.trace
    }

    #[test]
    fn passes_a_replay_of_what_followed_then_new_events() {
        assert_eq!(replay_order(&replay(&["e2", "e3", "e4", "e5"])), []);
        assert_eq!(replay_order(&replay(&["e2"])), []);
        assert_eq!(replay_order(&replay(&[])), []);
    }

    #[test]
    fn catches_an_inclusive_replay() {
        let found = replay_order(&replay(&["e1", "e2", "e3"]));
        assert_eq!(kinds(&found), ["inclusive-replay"]);
    }

    #[test]
    fn catches_an_earlier_event() {
        let found = replay_order(&replay(&["e0", "e2", "e3"]));
        assert_eq!(kinds(&found), ["replayed-earlier"]);
    }

    #[test]
    fn catches_skips_and_reorders() {
        assert_eq!(kinds(&replay_order(&replay(&["e3"]))), ["skipped-event"]);
        assert_eq!(
            kinds(&replay_order(&replay(&["e4", "e2"]))),
            ["skipped-event"]
        );
        assert_eq!(
            kinds(&replay_order(&replay(&["e2", "e3", "e2"]))),
            ["reordered"]
        );
    }

    #[test]
    fn does_not_judge_a_refused_resume() {
        let mut trace = replay(&["e1"]);
        let Outcome::Responded { status, .. } = &mut trace.exchanges[2].outcome else {
            unreachable!()
        };
        *status = 400;
        assert_eq!(replay_order(&trace), []);
    }

    #[test]
    fn passes_priming_events_anywhere() {
        let (mut b, s, rpc) = seen_stream();
        b.event(1, Some("p1"), "");
        b.event(1, Some("e4"), &progress(rpc, 4));
        let (_, replay) = b.resume(
            s,
            "e3",
            IdSource::Own {
                stream: 1,
                event: 3,
            },
        );
        for id in ["p1", "e4", "p2", "e5"] {
            let data = if id.starts_with('p') {
                String::new()
            } else {
                progress(rpc, 9)
            };
            b.event(replay, Some(id), &data);
        }
        assert_eq!(replay_order(&b.trace), []);
    }

    #[test]
    fn catches_a_replayed_priming_event() {
        let (mut b, s, rpc) = seen_stream();
        b.trace.streams[1].events[0].data.clear();
        let (_, replay) = b.resume(
            s,
            "e0",
            IdSource::Own {
                stream: 1,
                event: 0,
            },
        );
        b.event(replay, Some("e0"), "");
        b.event(replay, Some("e1"), &progress(rpc, 1));
        assert_eq!(kinds(&replay_order(&b.trace)), ["inclusive-replay"]);
    }

    #[test]
    fn passes_ids_unique_in_a_session_and_repeated_by_a_resume() {
        let trace = replay(&["e2", "e3"]);
        assert_eq!(id_uniqueness(&trace), []);
    }

    #[test]
    fn catches_an_id_shared_by_two_streams_of_a_session() {
        let (mut b, s, _) = seen_stream();
        let (call, stream) = b.call(s);
        let rpc = b.rpc(call);
        b.event(stream, Some("e0"), &progress(rpc, 1));
        b.event(stream, Some(""), &progress(rpc, 2));
        assert_eq!(kinds(&id_uniqueness(&b.trace)), ["duplicate-id"]);
    }

    #[test]
    fn catches_an_id_twice_on_a_resume_stream() {
        let trace = replay(&["e2", "e2"]);
        assert_eq!(kinds(&id_uniqueness(&trace)), ["duplicate-id"]);
    }

    #[test]
    fn passes_the_same_id_in_two_sessions() {
        let (mut b, _, _) = seen_stream();
        let other = b.session(Some("b"), "2025-11-25");
        let (call, stream) = b.call(other);
        let rpc = b.rpc(call);
        b.event(stream, Some("e0"), &progress(rpc, 1));
        assert_eq!(id_uniqueness(&b.trace), []);
    }
}
