//! The oracles of the 2026-07-28 era (stateless Streamable HTTP): `headers`,
//! `legacy-ignore`, `logging`, `cross-request`, `subscription` and `cancellation`.
//!
//! They judge the requests of stateless clients (a [`SessionRecord`] with `stateless`),
//! and the rules that a server speaking 2026-07-28 must keep only where its `server/discover`
//! listed that revision.
//!
//! [`SessionRecord`]: crate::trace::SessionRecord

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Value};

use super::facts::{finding, succeeded};
use super::{Finding, Oracle, Severity};
use crate::scenario::{Deviation, Interests, STATELESS_VERSION};
use crate::trace::{CheckpointKind, Exchange, Purpose, StreamEnd, StreamRecord, Trace};

/// Whether `exchange` came from a stateless client.
fn is_stateless(trace: &Trace, exchange: &Exchange) -> bool {
    exchange
        .session
        .is_some_and(|session| trace.sessions[session].stateless)
}

/// Whether the stateless client of `exchange` found, through `server/discover`, a server that
/// speaks 2026-07-28.
fn speaks_stateless(trace: &Trace, exchange: &Exchange) -> bool {
    exchange.session.is_some_and(|session| {
        let record = &trace.sessions[session];
        record.stateless && record.speaks_stateless
    })
}

/// The JSON-RPC messages a response carried: the data of its `message` events (an event of
/// another type, such as a server's terminal `idle_timeout` event, is not delivered to an MCP
/// client as a message), or its JSON body.
fn messages(stream: &StreamRecord) -> impl Iterator<Item = Value> + '_ {
    let body = (!stream.sse)
        .then(|| serde_json::from_str::<Value>(&stream.text).ok())
        .flatten();
    stream
        .events
        .iter()
        .filter(|event| {
            event
                .event_type
                .as_deref()
                .is_none_or(|kind| kind == "message")
        })
        .filter_map(|event| serde_json::from_str::<Value>(&event.data).ok())
        .chain(body)
        .filter(Value::is_object)
}

/// The members of a server message these oracles read; the rest (results, fillers) is
/// skipped without being built. A `null` id reads as none.
#[derive(Deserialize)]
struct Light {
    id: Option<Value>,
    method: Option<String>,
    params: Option<LightParams>,
    result: Option<IgnoredAny>,
    error: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct LightParams {
    #[serde(rename = "progressToken")]
    progress_token: Option<Value>,
    #[serde(rename = "_meta")]
    meta: Option<LightMeta>,
    uri: Option<String>,
}

#[derive(Deserialize)]
struct LightMeta {
    #[serde(rename = "io.modelcontextprotocol/subscriptionId")]
    subscription: Option<Value>,
}

impl Light {
    /// Whether it is a response (a result or an error).
    fn is_answer(&self) -> bool {
        self.result.is_some() || self.error.is_some()
    }

    /// Whether it is a response to a request other than `own` (any, without one).
    fn answers_another(&self, own: Option<u64>) -> bool {
        self.is_answer() && self.id.as_ref().is_some_and(|id| id.as_u64() != own)
    }

    fn method(&self) -> Option<&str> {
        self.method.as_deref()
    }

    fn progress_token(&self) -> Option<u64> {
        self.params.as_ref()?.progress_token.as_ref()?.as_u64()
    }

    fn subscription(&self) -> Option<u64> {
        self.params
            .as_ref()?
            .meta
            .as_ref()?
            .subscription
            .as_ref()?
            .as_u64()
    }

    fn uri(&self) -> Option<&str> {
        self.params.as_ref()?.uri.as_deref()
    }
}

/// The messages of a response, as [`messages`] finds them, each read as a [`Light`] beside
/// its text.
fn light(stream: &StreamRecord) -> impl Iterator<Item = (&str, Light)> + '_ {
    let texts: Box<dyn Iterator<Item = &str>> = if stream.sse {
        Box::new(
            stream
                .events
                .iter()
                .filter(|event| {
                    event
                        .event_type
                        .as_deref()
                        .is_none_or(|kind| kind == "message")
                })
                .map(|event| event.data.as_str()),
        )
    } else {
        Box::new(std::iter::once(stream.text.as_str()))
    };
    texts.filter_map(|text| Some((text, serde_json::from_str::<Light>(text).ok()?)))
}

fn stream_of<'t>(trace: &'t Trace, exchange: &Exchange) -> Option<&'t StreamRecord> {
    exchange.stream.map(|stream| &trace.streams[stream])
}

/// The error code a refused request's response carried.
fn error_of(trace: &Trace, exchange: &Exchange) -> Option<Value> {
    messages(stream_of(trace, exchange)?).find_map(|message| message.get("error").cloned())
}

/// `headers`: a stateless request that breaks a `_meta` or header rule gets 400 and the
/// revision's error code (`missing-meta-not-refused`, `header-mismatch-not-refused`,
/// `wrong-status`, `wrong-code`); an argument copied into a header never injects a response
/// header (`header-injected`); a server that does not speak 2026-07-28 refuses its requests
/// with 400 (`unsupported-revision-served`).
pub(super) fn headers(trace: &Trace) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, exchange) in trace.exchanges.iter().enumerate() {
        if !is_stateless(trace, exchange) {
            continue;
        }
        let Some(status) = exchange.outcome.status() else {
            continue;
        };
        injected(index, exchange, &mut findings);
        if !speaks_stateless(trace, exchange) {
            let correct = matches!(
                exchange.purpose,
                Purpose::Stateless { deviation, .. } if !deviation.must_refuse()
            );
            if correct && (200..300).contains(&status) {
                findings.push(finding(
                    Oracle::Headers,
                    Severity::Medium,
                    "unsupported-revision-served",
                    format!(
                        "exchange {index}: a server whose server/discover did not list \
                         {STATELESS_VERSION} served a request of that revision with {status}"
                    ),
                    json!({ "exchange": index, "status": status }),
                    Some(exchange.step),
                ));
            }
            continue;
        }
        let Purpose::Stateless { deviation, .. } = exchange.purpose else {
            continue;
        };
        if !deviation.must_refuse() {
            continue;
        }
        let (kind, expected) = match deviation {
            Deviation::NoMetaVersion | Deviation::NoCapabilities => {
                ("missing-meta-not-refused", -32602)
            }
            Deviation::UnsupportedVersion => ("unsupported-version-not-refused", -32022),
            _ => ("header-mismatch-not-refused", -32020),
        };
        let error = error_of(trace, exchange);
        let code = error
            .as_ref()
            .and_then(|e| e.get("code"))
            .and_then(Value::as_i64);
        let lists_versions = error
            .as_ref()
            .and_then(|e| e.pointer("/data/supported"))
            .is_some_and(Value::is_array);
        let wrong = if (200..300).contains(&status) {
            Some(kind)
        } else if status != 400 {
            Some("wrong-status")
        } else if code != Some(expected)
            || (deviation == Deviation::UnsupportedVersion && !lists_versions)
        {
            Some("wrong-code")
        } else {
            None
        };
        if let Some(kind) = wrong {
            findings.push(finding(
                Oracle::Headers,
                Severity::High,
                kind,
                format!(
                    "exchange {index}: a request with {deviation:?} got {status} and error code \
                     {code:?}; the revision asks for 400 and {expected}"
                ),
                json!({ "exchange": index, "deviation": deviation, "status": status,
                    "error": error, "expected_code": expected }),
                Some(exchange.step),
            ));
        }
    }
    findings
}

/// `headers/header-injected`: a response header named by a line of an argument value that the
/// client copied into an `Mcp-Param-*` header (a value split at CR or LF).
fn injected(index: usize, exchange: &Exchange, findings: &mut Vec<Finding>) {
    for value in &exchange.param_values {
        for line in value.split(['\r', '\n']).skip(1) {
            let Some((name, _)) = line.split_once(':') else {
                continue;
            };
            let name = name.trim().to_ascii_lowercase();
            if !name.is_empty() && exchange.response_headers.contains(&name) {
                findings.push(finding(
                    Oracle::Headers,
                    Severity::High,
                    "header-injected",
                    format!(
                        "exchange {index}: the response carries a `{name}` header, named by a \
                         line of an argument the client sent in an Mcp-Param header"
                    ),
                    json!({ "exchange": index, "header": name, "argument": value }),
                    Some(exchange.step),
                ));
            }
        }
    }
}

/// `legacy-ignore`: a stateless request's stale `Mcp-Session-Id` is not echoed
/// (`session-echoed`), its stale `Last-Event-ID` replays no message of another request
/// (`replayed`; event ids alone are not judged: the revision removed them without forbidding
/// them), and a GET or DELETE naming 2026-07-28 is not served (`legacy-method-served`).
pub(super) fn legacy_ignore(trace: &Trace) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, exchange) in trace.exchanges.iter().enumerate() {
        if !is_stateless(trace, exchange) || !speaks_stateless(trace, exchange) {
            continue;
        }
        let mut push = |kind: &'static str, summary: String, evidence: Value| {
            findings.push(finding(
                Oracle::LegacyIgnore,
                Severity::Medium,
                kind,
                summary,
                evidence,
                Some(exchange.step),
            ));
        };
        match exchange.purpose {
            Purpose::Stateless {
                deviation: Deviation::StaleSessionId,
                ..
            } if exchange
                .response_headers
                .iter()
                .any(|h| h == "mcp-session-id") =>
            {
                push(
                    "session-echoed",
                    format!(
                        "exchange {index}: a stateless request's stale Mcp-Session-Id came back"
                    ),
                    json!({ "exchange": index, "headers": exchange.response_headers }),
                )
            }
            Purpose::Stateless {
                deviation: Deviation::StaleLastEventId,
                ..
            } => {
                let Some(stream) = stream_of(trace, exchange) else {
                    continue;
                };
                let foreign = light(stream)
                    .find(|(_, message)| {
                        message
                            .id
                            .as_ref()
                            .is_some_and(|id| id.as_u64() != exchange.rpc_id)
                    })
                    .map(|(text, _)| text);
                if let Some(foreign) = foreign {
                    push(
                        "replayed",
                        format!(
                            "exchange {index}: a stateless request with a stale Last-Event-ID \
                             got a message of another request"
                        ),
                        json!({ "exchange": index, "foreign_message": foreign }),
                    );
                }
            }
            Purpose::OpenGet | Purpose::Resume | Purpose::Delete if succeeded(exchange) => push(
                "legacy-method-served",
                format!(
                    "exchange {index}: a {} naming {STATELESS_VERSION} got {}; the revision \
                     has no GET or DELETE (405)",
                    exchange.method, exchange.outcome
                ),
                json!({ "exchange": index, "method": exchange.method }),
            ),
            _ => {}
        }
    }
    findings
}

/// `logging`: no `notifications/message` on the stream of a stateless request that did not
/// set `logLevel` (`log-without-level`).
pub(super) fn logging(trace: &Trace) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, exchange) in trace.exchanges.iter().enumerate() {
        if !is_stateless(trace, exchange) {
            continue;
        }
        if let Purpose::Stateless { deviation, .. } = exchange.purpose {
            if deviation.log_level().is_some() {
                continue;
            }
        }
        let Some(stream) = stream_of(trace, exchange) else {
            continue;
        };
        let logs = light(stream)
            .filter(|(_, m)| m.method() == Some("notifications/message"))
            .count();
        if logs > 0 {
            findings.push(finding(
                Oracle::Logging,
                Severity::Medium,
                "log-without-level",
                format!(
                    "exchange {index}: {logs} notifications/message on the stream of a request \
                     that set no logLevel"
                ),
                json!({ "exchange": index, "stream": exchange.stream, "messages": logs }),
                Some(exchange.step),
            ));
        }
    }
    findings
}

/// `cross-request`: a stateless request's stream carries only its own messages: no response
/// to another id (`foreign-response`), no progress of another request (`foreign-progress`),
/// no other client's canary (`foreign-canary`).
pub(super) fn cross_request(trace: &Trace) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, exchange) in trace.exchanges.iter().enumerate() {
        if !is_stateless(trace, exchange) {
            continue;
        }
        // A GET (a legacy leftover) has no request of its own: nothing on it is its own.
        let own = exchange.rpc_id;
        let Some(stream) = stream_of(trace, exchange) else {
            continue;
        };
        let session = exchange.session;
        for (text, message) in light(stream) {
            let kind = if message.answers_another(own) {
                Some("foreign-response")
            } else if message.method() == Some("notifications/progress")
                && message.progress_token() != own
            {
                Some("foreign-progress")
            } else {
                trace
                    .sessions
                    .iter()
                    .enumerate()
                    .any(|(other, record)| Some(other) != session && text.contains(&record.canary))
                    .then_some("foreign-canary")
            };
            if let Some(kind) = kind {
                findings.push(finding(
                    Oracle::CrossRequest,
                    Severity::Critical,
                    kind,
                    format!(
                        "exchange {index} (request {own:?}): its stream carries a message of \
                         another request"
                    ),
                    json!({ "exchange": index, "stream": exchange.stream, "message": text }),
                    Some(exchange.step),
                ));
                break;
            }
        }
    }
    findings
}

/// `subscription`: a `subscriptions/listen` stream starts with its acknowledgement
/// (`not-acknowledged-first`), and carries only the types the client opted in to
/// (`not-opted-in`), each tagged with its subscription id (`untagged`).
pub(super) fn subscription(trace: &Trace) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, exchange) in trace.exchanges.iter().enumerate() {
        let Purpose::Listen { interests } = exchange.purpose else {
            continue;
        };
        let (Some(stream), Some(own)) = (stream_of(trace, exchange), exchange.rpc_id) else {
            continue;
        };
        if !succeeded(exchange) || !stream.sse {
            continue;
        }
        let mut push = |kind: &'static str, summary: String, message: &str| {
            findings.push(finding(
                Oracle::Subscription,
                Severity::High,
                kind,
                format!("exchange {index}: {summary}"),
                json!({ "exchange": index, "stream": exchange.stream, "message": message }),
                Some(exchange.step),
            ));
        };
        for (position, (text, message)) in light(stream).enumerate() {
            let method = message.method();
            let tag = message.subscription();
            if position == 0 {
                if method != Some("notifications/subscriptions/acknowledged") || tag != Some(own) {
                    push(
                        "not-acknowledged-first",
                        "the first message is not its acknowledgement".to_owned(),
                        text,
                    );
                    break;
                }
                continue;
            }
            let Some(method) = method else {
                continue;
            };
            if !opted_in(interests, method, message.uri()) {
                push(
                    "not-opted-in",
                    format!("a {method} the client did not opt in to"),
                    text,
                );
                break;
            }
            if tag != Some(own) {
                push(
                    "untagged",
                    format!("a {method} without the subscription id {own}"),
                    text,
                );
                break;
            }
        }
    }
    findings
}

/// Whether a listen that opted in to `interests` asked for a `method` notification (about
/// `uri`).
fn opted_in(interests: Interests, method: &str, uri: Option<&str>) -> bool {
    match method {
        "notifications/tools/list_changed" => interests.tools_list_changed(),
        "notifications/prompts/list_changed" => interests.prompts_list_changed(),
        "notifications/resources/list_changed" => interests.resources_list_changed(),
        "notifications/resources/updated" => interests
            .resource_keys()
            .any(|key| uri == Some(format!("cache:///key-{key}").as_str())),
        _ => false,
    }
}

/// `cancellation`: when the client closes the stream of a stateless request before its
/// response, the server stops that request (`work-after-close`): once the target had time to
/// react, the stateless requests it counts as in progress are no more than the stateless
/// streams the client still holds. Judged where the target counts them (in process).
pub(super) fn cancellation(trace: &Trace) -> Vec<Finding> {
    let mut findings = Vec::new();
    for checkpoint in &trace.checkpoints {
        if checkpoint.kind != CheckpointKind::AfterDrop {
            continue;
        }
        let Some(working) = checkpoint.resources.stateless_requests else {
            continue;
        };
        let held = checkpoint.open_stateless;
        let stateless =
            |stream: &&StreamRecord| is_stateless(trace, &trace.exchanges[stream.exchange]);
        let dropped: Vec<usize> = trace
            .streams
            .iter()
            .enumerate()
            .filter(|(_, stream)| stateless(stream))
            .filter(|(_, stream)| {
                matches!(stream.end, Some(StreamEnd::Dropped { at }) if at <= checkpoint.at)
                    && unanswered(trace, stream)
            })
            .map(|(index, _)| index)
            .collect();
        let speaks = dropped.iter().any(|&stream| {
            speaks_stateless(trace, &trace.exchanges[trace.streams[stream].exchange])
        });
        if working > held && speaks {
            findings.push(finding(
                Oracle::Cancellation,
                Severity::Medium,
                "work-after-close",
                format!(
                    "after the client closed stateless request streams before their responses, \
                     the server still works on {working} stateless requests while the client \
                     holds {held} such streams"
                ),
                json!({ "working": working, "held": held, "dropped_streams": dropped }),
                Some(checkpoint.step),
            ));
        }
    }
    findings
}

/// Whether the client saw no response to the request of `stream` on it.
fn unanswered(trace: &Trace, stream: &StreamRecord) -> bool {
    let exchange = &trace.exchanges[stream.exchange];
    !matches!(exchange.purpose, Purpose::Listen { .. })
        && exchange.rpc_id.is_some_and(|own| {
            !light(stream).any(|(_, message)| {
                message.is_answer() && message.id.as_ref().and_then(Value::as_u64) == Some(own)
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::test_trace::{kinds, progress, response, Build};
    use crate::oracle::Oracle;
    use crate::trace::{Checkpoint, Resources};

    /// The `_meta` key of a listen notification's subscription id.
    const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

    fn call(b: &mut Build, client: usize, deviation: Deviation) -> (usize, usize) {
        let tool = "echo".to_owned();
        let exchange = b.request(Purpose::Stateless { tool, deviation }, Some(client));
        (exchange, b.stream(exchange))
    }

    fn refusal(code: i64) -> String {
        json!({ "jsonrpc": "2.0", "id": null, "error": { "code": code, "message": "no" } })
            .to_string()
    }

    #[test]
    fn headers_want_400_and_the_revisions_code() {
        for (status, body, expected) in [
            (200, response(3), vec!["header-mismatch-not-refused"]),
            (400, refusal(-32000), vec!["wrong-code"]),
            (403, refusal(-32020), vec!["wrong-status"]),
            (400, refusal(-32020), vec![]),
        ] {
            let mut b = Build::new();
            let c = b.client();
            let (e, s) = call(&mut b, c, Deviation::WrongNameHeader);
            b.status(e, status);
            b.trace.streams[s].sse = false;
            b.trace.streams[s].text = body;
            assert_eq!(kinds(&headers(&b.trace)), expected, "{status}");
        }
    }

    #[test]
    fn an_argument_that_becomes_a_response_header_is_injection() {
        let mut b = Build::new();
        let c = b.client();
        let (e, _) = call(&mut b, c, Deviation::None);
        b.trace.exchanges[e].param_values = vec!["hi\r\nX-Evil: 1".to_owned()];
        assert_eq!(kinds(&headers(&b.trace)), Vec::<&str>::new());
        b.trace.exchanges[e].response_headers = vec!["x-evil".to_owned()];
        assert_eq!(kinds(&headers(&b.trace)), ["header-injected"]);
    }

    #[test]
    fn a_stale_session_id_is_not_echoed() {
        let mut b = Build::new();
        let c = b.client();
        let (e, _) = call(&mut b, c, Deviation::StaleSessionId);
        assert_eq!(kinds(&legacy_ignore(&b.trace)), Vec::<&str>::new());
        b.trace.exchanges[e].response_headers = vec!["mcp-session-id".to_owned()];
        assert_eq!(kinds(&legacy_ignore(&b.trace)), ["session-echoed"]);
    }

    #[test]
    fn logs_need_a_log_level() {
        let note = json!({ "jsonrpc": "2.0", "method": "notifications/message",
            "params": { "level": "info", "data": "x" } })
        .to_string();
        for (deviation, expected) in [
            (Deviation::None, vec!["log-without-level"]),
            (Deviation::LogLevel(1), vec![]),
        ] {
            let mut b = Build::new();
            let c = b.client();
            let (_, s) = call(&mut b, c, deviation);
            b.event(s, None, &note);
            assert_eq!(kinds(&logging(&b.trace)), expected, "{deviation:?}");
        }
    }

    #[test]
    fn a_stream_carries_only_its_own_requests_messages() {
        let mut b = Build::new();
        let c = b.client();
        let (e, s) = call(&mut b, c, Deviation::None);
        let own = b.rpc(e);
        b.event(s, None, &progress(own, 1));
        b.event(s, None, &response(own));
        assert_eq!(kinds(&cross_request(&b.trace)), Vec::<&str>::new());
        b.event(s, None, &progress(own + 100, 1));
        assert_eq!(kinds(&cross_request(&b.trace)), ["foreign-progress"]);
    }

    #[test]
    fn a_listen_is_acknowledged_first_and_carries_what_it_asked_for() {
        let ack = |id: u64| {
            json!({ "jsonrpc": "2.0", "method": "notifications/subscriptions/acknowledged",
                "params": { "_meta": { SUBSCRIPTION_ID: id }, "notifications": {} } })
            .to_string()
        };
        let updated = |id: u64, uri: &str| {
            json!({ "jsonrpc": "2.0", "method": "notifications/resources/updated",
                "params": { "_meta": { SUBSCRIPTION_ID: id }, "uri": uri } })
            .to_string()
        };
        let listen = |b: &mut Build, c| {
            let interests = Interests(0x10);
            let e = b.request(Purpose::Listen { interests }, Some(c));
            (b.rpc(e), b.stream(e))
        };
        let mut b = Build::new();
        let c = b.client();
        let (id, s) = listen(&mut b, c);
        b.event(s, None, &ack(id));
        b.event(s, None, &updated(id, "cache:///key-0"));
        assert_eq!(kinds(&subscription(&b.trace)), Vec::<&str>::new());
        b.event(s, None, &updated(id, "cache:///key-1"));
        assert_eq!(kinds(&subscription(&b.trace)), ["not-opted-in"]);

        let mut b = Build::new();
        let c = b.client();
        let (id, s) = listen(&mut b, c);
        b.event(s, None, &updated(id, "cache:///key-0"));
        assert_eq!(kinds(&subscription(&b.trace)), ["not-acknowledged-first"]);
    }

    #[test]
    fn a_closed_stream_stops_its_work() {
        for (working, expected) in [(1, vec!["work-after-close"]), (0, vec![])] {
            let mut b = Build::new();
            let c = b.client();
            let (_, s) = call(&mut b, c, Deviation::None);
            b.trace.streams[s].end = Some(StreamEnd::Dropped {
                at: crate::model::Millis(0),
            });
            b.trace.checkpoints.push(Checkpoint {
                step: 2,
                at: crate::model::Millis(100),
                kind: CheckpointKind::AfterDrop,
                open_bodies: 0,
                open_stateless: 0,
                live_sessions: 0,
                resources: Resources {
                    stateless_requests: Some(working),
                    ..Resources::default()
                },
            });
            assert_eq!(kinds(&cancellation(&b.trace)), expected, "{working}");
            assert!(Oracle::ALL.contains(&Oracle::Cancellation));
        }
    }
}
