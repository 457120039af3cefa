//! `framing`: "untrusted content in a message produces any SSE event, field or id that the
//! server did not mean to send".
//!
//! The server's untrusted text reaches the client inside JSON-RPC messages, so a framing break
//! shows structurally: every SSE event the server meant to send carries either nothing (a
//! priming or `retry` block) or exactly one JSON object in its data, only the fields
//! `data`/`id`/`event`/`retry`, and no event type but `message` or a terminal one; and a
//! complete 2xx JSON body is one JSON value.
//!
//! An injected event can also be a well-formed message, and then its place gives it away: a
//! response goes on the stream of the request it answers ("each server message goes on exactly
//! one stream"; the standalone stream carries none), and answers a request the client sent.
//! Resume streams are `cross-stream`'s, and messages of another session `cross-session`'s.

use serde_json::{json, Value};

use super::facts::{
    finding, is_resume, is_success, lineage, response_rpc_id, stream_session, stream_step, Origins,
};
use super::{Finding, Oracle, Severity};
use crate::trace::{EventRecord, StreamEnd, StreamRecord, Trace};

/// The event types a server may send: none, `message`, and the terminal events that end a
/// stream on a limit.
const EVENT_TYPES: [&str; 4] = ["message", "size_limit", "idle_timeout", "duration_limit"];

/// Every framing break, in stream and event order: each event's breaks, then its place.
pub(super) fn check(trace: &Trace) -> Vec<Finding> {
    let origins = Origins::of(trace);
    let mut findings = Vec::new();
    for (index, stream) in trace.streams.iter().enumerate() {
        let step = stream_step(trace, index);
        if stream.sse {
            for (event_index, event) in stream.events.iter().enumerate() {
                let at = Place {
                    stream: index,
                    exchange: stream.exchange,
                    event: event_index,
                    step,
                };
                findings.extend(event_breaks(event, at));
                findings.extend(misplaced(trace, &origins, event, at));
            }
        } else if let Some(found) = body_break(trace, index, stream) {
            findings.push(found);
        }
    }
    findings
}

/// Where an event is.
#[derive(Debug, Clone, Copy)]
struct Place {
    stream: usize,
    exchange: usize,
    event: usize,
    step: Option<usize>,
}

impl Place {
    fn finding(self, kind: &'static str, summary: String, value: Value) -> Finding {
        let evidence = json!({
            "stream": self.stream,
            "exchange": self.exchange,
            "event": self.event,
            "value": value,
        });
        finding(
            Oracle::Framing,
            Severity::High,
            kind,
            summary,
            evidence,
            self.step,
        )
    }
}

/// The breaks of one event: "each event's data, if non-empty, must parse as exactly one JSON
/// value that is a JSON object"; "an event must not carry a field other than
/// data/id/event/retry"; "an event_type must be absent, `message`, or one of the terminal
/// types".
fn event_breaks(event: &EventRecord, at: Place) -> Vec<Finding> {
    let mut found = Vec::new();
    if !event.data.is_empty() && !is_json_object(&event.data) {
        found.push(at.finding(
            "data-not-json",
            format!(
                "stream {} event {}: data is not one JSON object: {:?}",
                at.stream,
                at.event,
                excerpt(&event.data)
            ),
            json!(event.data),
        ));
    }
    if !event.other_fields.is_empty() {
        found.push(at.finding(
            "unknown-field",
            format!(
                "stream {} event {}: fields other than data/id/event/retry: {:?}",
                at.stream, at.event, event.other_fields
            ),
            json!(event.other_fields),
        ));
    }
    if let Some(kind) = event
        .event_type
        .as_deref()
        .filter(|kind| !EVENT_TYPES.contains(kind))
    {
        found.push(at.finding(
            "unexpected-event-type",
            format!(
                "stream {} event {}: unexpected event type {kind:?}",
                at.stream, at.event
            ),
            json!(kind),
        ));
    }
    found
}

/// A response on a stream that is not its request's (`misplaced-response`), or to a request
/// the client never sent (`unknown-response`), on a stream that is not a resume's, when the
/// request is of the stream's own session.
fn misplaced(trace: &Trace, origins: &Origins, event: &EventRecord, at: Place) -> Option<Finding> {
    let rpc_id = response_rpc_id(&event.data)?;
    if is_resume(trace, at.stream) {
        return None;
    }
    let Some(origin) = origins.of_id(rpc_id) else {
        let summary = format!(
            "stream {} event {}: a response to id {rpc_id}, which no request had",
            at.stream, at.event
        );
        return Some(at.finding("unknown-response", summary, json!(event.data)));
    };
    let request = &trace.exchanges[origin];
    let here = lineage(trace, at.stream);
    let its_stream = request.stream.map(|stream| lineage(trace, stream));
    if request.session != stream_session(trace, at.stream) || its_stream == Some(here) {
        return None;
    }
    let summary = format!(
        "stream {} event {}: a response to exchange {origin} (id {rpc_id}), whose stream is {:?}",
        at.stream, at.event, its_stream
    );
    Some(at.finding("misplaced-response", summary, json!(event.data)))
}

/// "A non-SSE 2xx JSON body (`text`) that is not valid JSON": judged only when the body was
/// read to its end and kept whole.
fn body_break(trace: &Trace, index: usize, stream: &StreamRecord) -> Option<Finding> {
    let exchange = trace.exchanges.get(stream.exchange)?;
    let status = exchange.outcome.status().filter(|&s| is_success(s))?;
    let whole = matches!(stream.end, Some(StreamEnd::Finished { .. }))
        && stream.bytes == stream.text.len() as u64;
    if !whole
        || stream.text.is_empty()
        || serde_json::from_str::<serde::de::IgnoredAny>(&stream.text).is_ok()
    {
        return None;
    }
    let evidence = json!({
        "stream": index,
        "exchange": stream.exchange,
        "status": status,
        "body": excerpt(&stream.text),
    });
    let summary = format!(
        "stream {index}: {status} body is not valid JSON: {:?}",
        excerpt(&stream.text)
    );
    Some(finding(
        Oracle::Framing,
        Severity::High,
        "body-not-json",
        summary,
        evidence,
        Some(exchange.step),
    ))
}

/// Whether `data` is one JSON object: valid JSON (checked without building it) that starts,
/// past its whitespace, with `{`.
fn is_json_object(data: &str) -> bool {
    data.trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
        && serde_json::from_str::<serde::de::IgnoredAny>(data).is_ok()
}

/// At most the first 120 characters of `text`, for a summary.
fn excerpt(text: &str) -> &str {
    text.char_indices()
        .nth(120)
        .map_or(text, |(end, _)| &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::test_trace::{kinds, progress, response, Build};
    use crate::trace::Purpose;

    #[test]
    fn only_one_whole_json_object_is_a_json_object() {
        for object in ["{}", " \r\n\t{\"a\": [1, {}]}\n", r#"{"k": "{"}"#] {
            assert!(is_json_object(object), "{object:?}");
        }
        for other in [
            "", "[1]", "\"{}\"", "{", "{} {}", "{}x", "\u{a0}{}", "{\"a\":}",
        ] {
            assert!(!is_json_object(other), "{other:?}");
        }
    }

    fn echo_stream() -> (Build, usize, u64) {
        let mut b = Build::new();
        let s = b.session(Some("a"), "2025-11-25");
        let (call, stream) = b.call(s);
        let rpc = b.rpc(call);
        b.event(stream, Some("p0"), "");
        (b, stream, rpc)
    }

    #[test]
    fn passes_json_events_priming_and_terminal_types() {
        let (mut b, stream, rpc) = echo_stream();
        let mut retry = crate::oracle::test_trace::event(None, "");
        retry.retry = Some("1000".to_owned());
        b.push(stream, retry);
        let mut terminal = crate::oracle::test_trace::event(Some("e2"), &response(rpc));
        terminal.event_type = Some("size_limit".to_owned());
        b.push(stream, terminal);
        assert_eq!(check(&b.trace), []);
    }

    #[test]
    fn catches_data_that_is_not_one_json_object() {
        let (mut b, stream, rpc) = echo_stream();
        b.event(stream, Some("e1"), &format!("{}{{}}", response(rpc)));
        b.event(stream, Some("e2"), "[1]");
        assert_eq!(kinds(&check(&b.trace)), ["data-not-json", "data-not-json"]);
    }

    #[test]
    fn catches_unknown_fields_and_event_types() {
        let (mut b, stream, rpc) = echo_stream();
        let mut injected = crate::oracle::test_trace::event(Some("e1"), &response(rpc));
        injected.other_fields = vec!["evil:1".to_owned()];
        injected.event_type = Some("endpoint".to_owned());
        b.push(stream, injected);
        assert_eq!(
            kinds(&check(&b.trace)),
            ["unknown-field", "unexpected-event-type"]
        );
    }

    #[test]
    fn catches_a_well_formed_response_injected_into_another_stream() {
        let (mut b, stream, _) = echo_stream();
        let mut injected = crate::oracle::test_trace::event(Some("0"), &response(1));
        injected.event_type = Some("message".to_owned());
        b.push(stream, injected);
        b.event(stream, Some("e2"), &response(99));
        assert_eq!(
            kinds(&check(&b.trace)),
            ["misplaced-response", "unknown-response"]
        );
    }

    #[test]
    fn passes_responses_on_their_own_stream_and_on_a_resume() {
        let (mut b, stream, rpc) = echo_stream();
        b.event(stream, Some("e1"), &response(rpc));
        let source = crate::trace::IdSource::Own { stream, event: 0 };
        let (_, replay) = b.resume(0, "p0", source);
        b.event(replay, Some("e1"), &response(rpc));
        let (_, other) = b.call(0);
        b.event(other, Some("x1"), &progress(rpc, 1));
        assert_eq!(check(&b.trace), []);
    }

    fn json_body(text: &str) -> Build {
        let mut b = Build::new();
        let s = b.session(Some("a"), "2025-06-18");
        let e = b.request(Purpose::ListTools, Some(s));
        let stream = b.stream(e);
        let record = &mut b.trace.streams[stream];
        record.sse = false;
        record.text = text.to_owned();
        record.bytes = text.len() as u64;
        record.end = Some(StreamEnd::Finished {
            at: crate::model::Millis(5),
        });
        b
    }

    #[test]
    fn catches_a_whole_json_body_that_does_not_parse() {
        assert_eq!(
            kinds(&check(&json_body(r#"{"jsonrpc":"2.0","id":2,"#).trace)),
            ["body-not-json"]
        );
        assert_eq!(check(&json_body(&response(2)).trace), []);
    }

    #[test]
    fn does_not_judge_a_partly_read_body() {
        let mut b = json_body(r#"{"jsonrpc":"2.0","id":2,"#);
        b.trace.streams[1].end = None;
        assert_eq!(check(&b.trace), []);
    }
}
