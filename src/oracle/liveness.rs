//! `liveness`: "the target stops answering, hangs past a deadline, or crashes".

use serde_json::json;

use super::facts::{finding, stream_step};
use super::{Finding, Oracle, Severity};
use crate::trace::{Outcome, Purpose, StreamEnd, Trace};

/// `liveness`: "any exchange with Outcome::TimedOut → `no-response`, Failed → `failed`"
/// (critical), except a request whose upload the client aborted (over a socket that can only
/// close the connection, so no response is the expected outcome), a body past the size limit
/// whose connection the server closed (an early refusal, which `request-size` judges), and a
/// budgeted call the client
/// gave up on before its head came (a cancel); "any stream of a POST request (purpose Call/ListTools/Initialize) with end
/// Abandoned → `request-stream-never-ended`" (high); "any stream with end Failed →
/// `stream-failed`" (medium).
pub(super) fn check(trace: &Trace) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, exchange) in trace.exchanges.iter().enumerate() {
        let (kind, summary, evidence) = match &exchange.outcome {
            Outcome::Responded { .. } => continue,
            Outcome::Failed { .. } if exchange.upload.aborted => continue,
            Outcome::Failed { .. } if matches!(exchange.purpose, Purpose::Oversized { .. }) => {
                continue
            }
            // The client gave up on a call it bounded in time: a cancel of its own.
            Outcome::TimedOut { .. } if exchange.budget.is_some() => continue,
            Outcome::TimedOut { at, deadline } => (
                "no-response",
                format!(
                    "{} {:?} (exchange {index}) got no response head within {deadline}",
                    exchange.method, exchange.purpose
                ),
                json!({ "exchange": index, "at": at, "deadline": deadline }),
            ),
            Outcome::Failed { at, error } => (
                "failed",
                format!(
                    "{} {:?} (exchange {index}) failed: {error}",
                    exchange.method, exchange.purpose
                ),
                json!({ "exchange": index, "at": at, "error": error }),
            ),
        };
        let step = Some(exchange.step);
        findings.push(finding(
            Oracle::Liveness,
            Severity::Critical,
            kind,
            summary,
            evidence,
            step,
        ));
    }
    for (index, stream) in trace.streams.iter().enumerate() {
        let request = trace.exchanges.get(stream.exchange).is_some_and(|e| {
            matches!(
                e.purpose,
                Purpose::Call { .. } | Purpose::ListTools | Purpose::Initialize
            )
        });
        let (kind, severity, summary, evidence) = match &stream.end {
            Some(StreamEnd::Abandoned { at }) if request => (
                "request-stream-never-ended",
                Severity::High,
                format!("the response stream {index} of a request was still open at {at}, when the client gave up"),
                json!({
                    "stream": index,
                    "exchange": stream.exchange,
                    "purpose": trace.exchanges.get(stream.exchange).map(|e| &e.purpose),
                    "at": at,
                    "bytes": stream.bytes,
                }),
            ),
            Some(StreamEnd::Failed { at, error }) => (
                "stream-failed",
                Severity::Medium,
                format!("stream {index} failed at {at}: {error}"),
                json!({ "stream": index, "exchange": stream.exchange, "at": at, "error": error }),
            ),
            _ => continue,
        };
        let step = stream_step(trace, index);
        findings.push(finding(
            Oracle::Liveness,
            severity,
            kind,
            summary,
            evidence,
            step,
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Millis;
    use crate::oracle::test_trace::{kinds, Build};

    fn one_call(
        outcome: Option<Outcome>,
        end: Option<StreamEnd>,
        purpose: Purpose,
    ) -> Vec<Finding> {
        let mut b = Build::new();
        let s = b.session(Some("a"), "2025-06-18");
        let e = b.request(purpose, Some(s));
        let stream = b.stream(e);
        b.trace.streams[stream].end = end;
        if let Some(outcome) = outcome {
            b.trace.exchanges[e].outcome = outcome;
        }
        check(&b.trace)
    }

    const AT: Millis = Millis(5);

    #[test]
    fn passes_answered_requests_and_ended_streams() {
        let finished = Some(StreamEnd::Finished { at: AT });
        assert_eq!(one_call(None, finished, Purpose::ListTools), []);
        let abandoned = Some(StreamEnd::Abandoned { at: AT });
        assert_eq!(one_call(None, abandoned, Purpose::OpenGet), []);
    }

    #[test]
    fn catches_requests_without_response() {
        let timed_out = Outcome::TimedOut {
            at: AT,
            deadline: Millis(60_000),
        };
        let found = one_call(Some(timed_out), None, Purpose::ListTools);
        assert_eq!(kinds(&found), ["no-response"]);
        let failed = Outcome::Failed {
            at: AT,
            error: "connection reset".to_owned(),
        };
        let found = one_call(Some(failed), None, Purpose::ListTools);
        assert_eq!(kinds(&found), ["failed"]);
        assert_eq!(found[0].severity, Severity::Critical);
    }

    #[test]
    fn an_upload_the_client_aborted_may_fail() {
        let mut b = Build::new();
        let s = b.session(Some("a"), "2025-06-18");
        let call = Purpose::Call {
            tool: "echo".to_owned(),
        };
        let e = b.request(call, Some(s));
        let failed = Outcome::Failed {
            at: AT,
            error: "the client aborted the upload".to_owned(),
        };
        b.trace.exchanges[e].outcome = failed;
        b.trace.exchanges[e].upload.aborted = true;
        assert_eq!(check(&b.trace), []);
        b.trace.exchanges[e].upload.aborted = false;
        assert_eq!(kinds(&check(&b.trace)), ["failed"]);
    }

    #[test]
    fn an_oversized_body_may_be_refused_by_closing_the_connection() {
        let mut b = Build::new();
        let s = b.session(Some("a"), "2025-06-18");
        let body = crate::scenario::Oversize::Sized;
        let e = b.request(Purpose::Oversized { body }, Some(s));
        b.trace.exchanges[e].outcome = Outcome::Failed {
            at: AT,
            error: "error writing a body to connection: Broken pipe".to_owned(),
        };
        assert_eq!(check(&b.trace), []);
        b.trace.exchanges[e].outcome = Outcome::TimedOut {
            at: AT,
            deadline: AT,
        };
        assert_eq!(kinds(&check(&b.trace)), ["no-response"]);
    }

    #[test]
    fn catches_streams_that_never_end_or_fail() {
        let abandoned = Some(StreamEnd::Abandoned { at: AT });
        let call = Purpose::Call {
            tool: "stream".to_owned(),
        };
        let found = one_call(None, abandoned, call);
        assert_eq!(kinds(&found), ["request-stream-never-ended"]);
        let failed = Some(StreamEnd::Failed {
            at: AT,
            error: "reset".to_owned(),
        });
        assert_eq!(
            kinds(&one_call(None, failed, Purpose::OpenGet)),
            ["stream-failed"]
        );
    }
}
