//! `cross-session`: "any byte of session A's messages reaches session B (resume, shared
//! stores, colliding JSON-RPC ids)"; and `cross-stream`: "a resume replays messages of another
//! stream of the same session".
//!
//! Two kinds of evidence name the session or stream a message belongs to: the canary that the
//! client puts in the untrusted text of one session only, and the request a message answers or
//! reports progress on (its "origin exchange", see [`Origins`]).

use serde_json::json;

use super::facts::{finding, lineage, resumed, stream_session, stream_step, Origins};
use super::{Finding, Oracle, Severity};
use crate::trace::{EventRecord, Trace};

/// `cross-session`: "any event/body text in session B's streams containing the canary of
/// another session A → `canary-leak`"; "an event in B attributable (via origin exchange) to an
/// exchange of session A → `foreign-message`".
pub(super) fn cross_session(trace: &Trace) -> Vec<Finding> {
    let origins = Origins::of(trace);
    let mut findings = Vec::new();
    for (index, stream) in trace.streams.iter().enumerate() {
        let Some(session) = stream_session(trace, index) else {
            continue;
        };
        // A stateless client's streams are judged by `cross-request`.
        if trace.sessions[session].stateless {
            continue;
        }
        let step = stream_step(trace, index);
        for (event_index, event) in stream.events.iter().enumerate() {
            let at =
                || json!({ "stream": index, "exchange": stream.exchange, "event": event_index });
            if let Some(owner) = canary_owner(trace, session, event_texts(event)) {
                findings.push(canary_leak(trace, session, owner, at(), step));
            }
            let from = origins
                .exchange(&event.data)
                .and_then(|exchange| Some((exchange, trace.exchanges[exchange].session?)));
            if let Some((exchange, owner)) = from.filter(|&(_, owner)| owner != session) {
                let summary = format!(
                    "stream {index} of session {session} carries event {event_index}, a message \
                     about exchange {exchange} of session {owner}"
                );
                let evidence = json!({ "at": at(), "session": session, "origin_exchange": exchange,
                    "origin_session": owner, "data": event.data });
                findings.push(critical("foreign-message", summary, evidence, step));
            }
        }
        if let Some(owner) = canary_owner(trace, session, std::iter::once(stream.text.as_str())) {
            let at = json!({ "stream": index, "exchange": stream.exchange, "body": true });
            findings.push(canary_leak(trace, session, owner, at, step));
        }
    }
    findings
}

/// Every text field of `event`, as received.
fn event_texts(event: &EventRecord) -> impl Iterator<Item = &str> + Clone {
    [
        Some(event.data.as_str()),
        event.id.as_deref(),
        event.event_type.as_deref(),
        event.retry.as_deref(),
    ]
    .into_iter()
    .flatten()
    .chain(event.other_fields.iter().map(String::as_str))
    .chain(event.comments.iter().map(String::as_str))
}

/// The first session other than `session` whose canary occurs in one of `texts`.
fn canary_owner<'t>(
    trace: &Trace,
    session: usize,
    texts: impl Iterator<Item = &'t str> + Clone,
) -> Option<usize> {
    trace
        .sessions
        .iter()
        .enumerate()
        .find_map(|(owner, record)| {
            let leaked = owner != session
                && !record.canary.is_empty()
                && texts.clone().any(|text| text.contains(&record.canary));
            leaked.then_some(owner)
        })
}

fn canary_leak(
    trace: &Trace,
    session: usize,
    owner: usize,
    at: serde_json::Value,
    step: Option<usize>,
) -> Finding {
    let canary = &trace.sessions[owner].canary;
    let summary =
        format!("a stream of session {session} carries canary {canary:?} of session {owner}");
    let evidence =
        json!({ "at": at, "session": session, "canary": canary, "canary_session": owner });
    critical("canary-leak", summary, evidence, step)
}

fn critical(
    kind: &'static str,
    summary: String,
    evidence: serde_json::Value,
    step: Option<usize>,
) -> Finding {
    finding(
        Oracle::CrossSession,
        Severity::Critical,
        kind,
        summary,
        evidence,
        step,
    )
}

/// `cross-stream`: "on a resume stream (exchange with last_event_id whose source is
/// Own{stream: S,..}, or OtherStream{stream: S}), any replayed event whose origin exchange is a
/// request whose response stream is not S (same session) → `other-stream-replayed`". A resume
/// of a resume continues its first stream, so streams are compared by [`lineage`].
pub(super) fn cross_stream(trace: &Trace) -> Vec<Finding> {
    let origins = Origins::of(trace);
    let mut findings = Vec::new();
    for (index, exchange) in trace.exchanges.iter().enumerate() {
        let (Some((asked, _)), Some(replay)) = (resumed(exchange), exchange.stream) else {
            continue;
        };
        let wanted = lineage(trace, asked);
        for (event_index, event) in trace.streams[replay].events.iter().enumerate() {
            let Some(origin) = origins.exchange(&event.data) else {
                continue;
            };
            let source = &trace.exchanges[origin];
            let same_session = source.session.is_some() && source.session == exchange.session;
            let its_stream = source.stream.map(|stream| lineage(trace, stream));
            if !same_session || its_stream == Some(wanted) {
                continue;
            }
            let summary = format!(
                "resume (exchange {index}) of stream {asked} replayed event {event_index}, a \
                 message of exchange {origin} whose stream is {its_stream:?}"
            );
            let evidence = json!({
                "exchange": index, "stream": replay, "event": event_index,
                "asked_stream": asked, "origin_exchange": origin, "origin_stream": its_stream,
                "data": event.data,
            });
            findings.push(finding(
                Oracle::CrossStream,
                Severity::High,
                "other-stream-replayed",
                summary,
                evidence,
                Some(exchange.step),
            ));
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::test_trace::{kinds, progress, response, Build};
    use crate::trace::IdSource;

    /// Two sessions; session 0 has an echo stream carrying its canary.
    fn two_sessions() -> (Build, usize, usize, u64) {
        let mut b = Build::new();
        let a = b.session(Some("a"), "2025-11-25");
        let other = b.session(Some("b"), "2025-11-25");
        let (call, stream) = b.call(a);
        let rpc = b.rpc(call);
        let canary = b.trace.sessions[a].canary.clone();
        let data = json!({ "jsonrpc": "2.0", "id": rpc, "result": { "text": canary } });
        b.event(stream, Some("a-1"), &data.to_string());
        (b, a, other, rpc)
    }

    #[test]
    fn passes_each_session_on_its_own_streams() {
        let (mut b, a, other, _) = two_sessions();
        let (call, stream) = b.call(other);
        let rpc = b.rpc(call);
        b.event(stream, Some("b-1"), &response(rpc));
        let (_, replay) = b.resume(
            a,
            "a-0",
            IdSource::Own {
                stream: 2,
                event: 0,
            },
        );
        let data = b.trace.streams[2].events[0].data.clone();
        b.event(replay, Some("a-1"), &data);
        assert_eq!(cross_session(&b.trace), []);
    }

    #[test]
    fn catches_a_replay_into_another_session() {
        let (mut b, _, other, _) = two_sessions();
        let source = IdSource::OtherSession {
            stream: 2,
            event: 0,
        };
        let (_, replay) = b.resume(other, "a-0", source);
        let data = b.trace.streams[2].events[0].data.clone();
        b.event(replay, Some("a-1"), &data);
        assert_eq!(
            kinds(&cross_session(&b.trace)),
            ["canary-leak", "foreign-message"]
        );
    }

    #[test]
    fn catches_a_canary_in_a_json_body() {
        let (mut b, _, other, _) = two_sessions();
        let (_, stream) = b.call(other);
        b.trace.streams[stream].sse = false;
        b.trace.streams[stream].text = format!("{{\"x\":\"{}\"}}", b.trace.sessions[0].canary);
        assert_eq!(kinds(&cross_session(&b.trace)), ["canary-leak"]);
    }

    /// Session 0 with two call streams (2 and 3), each with two events.
    fn two_streams() -> (Build, usize, [u64; 2]) {
        let mut b = Build::new();
        let s = b.session(Some("a"), "2025-11-25");
        let mut rpcs = [0; 2];
        for (n, rpc) in rpcs.iter_mut().enumerate() {
            let (call, stream) = b.call(s);
            *rpc = b.rpc(call);
            b.event(stream, Some(&format!("s{n}-0")), &progress(*rpc, 1));
            b.event(stream, Some(&format!("s{n}-1")), &response(*rpc));
        }
        (b, s, rpcs)
    }

    #[test]
    fn passes_a_replay_of_the_asked_stream_and_of_a_resume_of_it() {
        let (mut b, s, rpcs) = two_streams();
        let (_, first) = b.resume(
            s,
            "s0-0",
            IdSource::Own {
                stream: 1,
                event: 0,
            },
        );
        b.event(first, Some("s0-1"), &response(rpcs[0]));
        let (_, second) = b.resume(
            s,
            "s0-1",
            IdSource::Own {
                stream: first,
                event: 0,
            },
        );
        b.event(second, Some("s0-2"), &progress(rpcs[0], 2));
        assert_eq!(cross_stream(&b.trace), []);
    }

    #[test]
    fn catches_a_replay_of_another_stream() {
        let (mut b, s, rpcs) = two_streams();
        let (_, replay) = b.resume(
            s,
            "s0-0",
            IdSource::Own {
                stream: 1,
                event: 0,
            },
        );
        b.event(replay, Some("s1-1"), &response(rpcs[1]));
        assert_eq!(kinds(&cross_stream(&b.trace)), ["other-stream-replayed"]);
    }

    #[test]
    fn does_not_judge_a_refused_resume() {
        let (mut b, s, rpcs) = two_streams();
        let (resume, replay) = b.resume(
            s,
            "s0-0",
            IdSource::OtherStream {
                stream: 1,
                event: 0,
            },
        );
        b.event(replay, Some("s1-1"), &response(rpcs[1]));
        b.status(resume, 409);
        assert_eq!(cross_stream(&b.trace), []);
    }
}
