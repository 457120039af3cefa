//! `session-id`: "session ids are predictable (sequential, time-based, low entropy) or not
//! visible ASCII"; and `lifecycle`: "wrong status for a missing, unknown or terminated session,
//! bad protocol version, bad Accept, foreign Origin or Host".

use std::collections::BTreeMap;

use serde_json::json;

use super::facts::{finding, is_success};
use super::{Finding, Oracle, Severity};
use crate::scenario::Misstep;
use crate::trace::{Exchange, Purpose, SessionHeader, SessionRecord, Trace};

/// The fewest characters a session id may have.
const MIN_ID_LEN: usize = 16;
/// Consecutive ids of one length that all differ in fewer positions than this are
/// predictable: counters differ in 1-2 positions, random hex ids of 32+ characters in ~30.
const MIN_DIFFERING: usize = 8;

/// `session-id`, over every session id in creation order: "only visible ASCII 0x21..=0x7E and
/// non-empty (`not-visible-ascii`), all distinct (`reused-id`), at least 16 characters
/// (`too-short`)"; and for the distinct ids of each length, "if there are ≥ 2 ids and every
/// consecutive pair differs in fewer than 8 positions → `predictable`".
pub(super) fn session_id(trace: &Trace) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut first: BTreeMap<&str, usize> = BTreeMap::new();
    let mut by_length: BTreeMap<usize, Vec<(usize, &str)>> = BTreeMap::new();
    for (index, session) in trace.sessions.iter().enumerate() {
        let Some(id) = session.id.as_deref() else {
            continue;
        };
        let step = trace.exchanges.get(session.exchange).map(|e| e.step);
        let bad = |kind, summary: String| {
            let evidence = json!({ "session": index, "id": id, "exchange": session.exchange });
            finding(
                Oracle::SessionId,
                Severity::High,
                kind,
                summary,
                evidence,
                step,
            )
        };
        if id.is_empty() || !id.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            findings.push(bad(
                "not-visible-ascii",
                format!("session {index}'s id {id:?} is not only visible ASCII (0x21-0x7E)"),
            ));
        }
        if id.chars().count() < MIN_ID_LEN {
            findings.push(bad(
                "too-short",
                format!("session {index}'s id {id:?} has fewer than {MIN_ID_LEN} characters"),
            ));
        }
        match first.get(id) {
            Some(&earlier) => findings.push(bad(
                "reused-id",
                format!("session {index} got id {id:?}, already session {earlier}'s"),
            )),
            None => {
                first.insert(id, index);
                by_length.entry(id.len()).or_default().push((index, id));
            }
        }
    }
    findings.extend(by_length.values().filter_map(|ids| predictable(trace, ids)));
    findings
}

/// `predictable` if ids (distinct, of one length, in creation order) are at least two and each
/// differs from the one before in fewer than [`MIN_DIFFERING`] positions.
fn predictable(trace: &Trace, ids: &[(usize, &str)]) -> Option<Finding> {
    let distances: Vec<usize> = ids
        .windows(2)
        .map(|pair| differing(pair[0].1, pair[1].1))
        .collect();
    if distances.is_empty() || distances.iter().any(|&d| d >= MIN_DIFFERING) {
        return None;
    }
    let (last, id) = *ids.last()?;
    let summary = format!(
        "{} consecutive session ids differ in at most {} of {} positions (e.g. {:?} after {:?})",
        ids.len(),
        distances.iter().max()?,
        id.len(),
        id,
        ids[ids.len() - 2].1
    );
    let evidence = json!({
        "sessions": ids.iter().map(|&(s, _)| s).collect::<Vec<_>>(),
        "ids": ids.iter().map(|&(_, id)| id).collect::<Vec<_>>(),
        "differing_positions": distances,
    });
    let step = trace
        .exchanges
        .get(trace.sessions[last].exchange)
        .map(|e| e.step);
    Some(finding(
        Oracle::SessionId,
        Severity::High,
        "predictable",
        summary,
        evidence,
        step,
    ))
}

/// The number of byte positions where `a` and `b` (of one length) differ.
fn differing(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).filter(|(x, y)| x != y).count()
}

/// The protocol version assumed when a session negotiated none, or one we cannot read.
const DEFAULT_VERSION: &str = "2025-03-26";

/// `lifecycle`, on every request that got a response (one that got none is `liveness`'s):
/// - "Misstep MissingSessionId → 400", "Misstep UnknownSessionId → 404" (when the server uses
///   session ids);
/// - "any request with session_header Ended(i) (session deleted by a 2xx DELETE) that got a
///   status that is neither 2xx (that is session-cleanup's) nor 404" (unless its upload was
///   aborted);
/// - "Misstep BadProtocolVersion → 400" (in a live session that negotiated 2025-06-18 or
///   later, which defined the header);
/// - "Misstep ForeignOrigin → 403" (2xx: `foreign-origin-accepted` in any version; another
///   status from 2025-11-25, which made it 403);
/// - "Misstep ForeignHost → any 4xx", "Misstep BadAccept → any 4xx".
pub(super) fn lifecycle(trace: &Trace) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, exchange) in trace.exchanges.iter().enumerate() {
        let Some(status) = exchange.outcome.status() else {
            continue;
        };
        let wrong = match &exchange.purpose {
            Purpose::Misstep(misstep) => misstep_wrong(trace, exchange, *misstep, status),
            _ => ended_wrong(trace, index, exchange, status),
        };
        if let Some(wrong) = wrong {
            findings.push(wrong.finding(index, exchange, status));
        }
    }
    findings
}

/// A wrong status, and what was expected.
#[derive(Debug, Clone, Copy)]
struct Wrong {
    kind: &'static str,
    expected: &'static str,
    severity: Severity,
}

impl Wrong {
    fn medium(kind: &'static str, expected: &'static str) -> Option<Self> {
        Some(Self {
            kind,
            expected,
            severity: Severity::Medium,
        })
    }

    fn finding(self, index: usize, exchange: &Exchange, status: u16) -> Finding {
        let what = match exchange.purpose {
            Purpose::Misstep(misstep) => format!("{misstep:?}"),
            _ => "a request with a deleted session's id".to_owned(),
        };
        let summary = format!(
            "{} ({what}, exchange {index}) got {status}, expected {}",
            exchange.method, self.expected
        );
        let evidence = json!({
            "exchange": index,
            "method": exchange.method,
            "purpose": exchange.purpose,
            "session_header": exchange.session_header,
            "status": status,
            "expected": self.expected,
        });
        finding(
            Oracle::Lifecycle,
            self.severity,
            self.kind,
            summary,
            evidence,
            Some(exchange.step),
        )
    }
}

fn misstep_wrong(
    trace: &Trace,
    exchange: &Exchange,
    misstep: Misstep,
    status: u16,
) -> Option<Wrong> {
    let version = version(trace, exchange);
    let client_error = (400..500).contains(&status);
    match misstep {
        Misstep::MissingSessionId if uses_sessions(trace, exchange) && status != 400 => {
            Wrong::medium("missing-session-not-400", "400")
        }
        Misstep::UnknownSessionId if uses_sessions(trace, exchange) && status != 404 => {
            Wrong::medium("unknown-session-not-404", "404")
        }
        // A server may end a session at any time and then answer its id with 404 (an idle
        // session expired while the client still held it): 404 comes before the version.
        Misstep::BadProtocolVersion
            if matches!(exchange.session_header, SessionHeader::Live(_))
                && version >= "2025-06-18"
                && status != 400
                && status != 404 =>
        {
            Wrong::medium("bad-version-not-400", "400")
        }
        Misstep::ForeignOrigin if is_success(status) => Some(Wrong {
            kind: "foreign-origin-accepted",
            expected: "403",
            severity: Severity::High,
        }),
        // Only an otherwise valid request must get exactly 403: with an ended session, its 404
        // may come first.
        Misstep::ForeignOrigin
            if matches!(exchange.session_header, SessionHeader::Live(_))
                && version >= "2025-11-25"
                && status != 403
                && status != 404 =>
        {
            Wrong::medium("foreign-origin-not-403", "403")
        }
        Misstep::ForeignHost if is_success(status) => Some(Wrong {
            kind: "foreign-host-accepted",
            expected: "a 4xx",
            severity: Severity::High,
        }),
        Misstep::ForeignHost if !client_error => Wrong::medium("foreign-host-not-4xx", "a 4xx"),
        Misstep::BadAccept if is_success(status) => Wrong::medium("bad-accept-accepted", "a 4xx"),
        Misstep::BadAccept if !client_error => Wrong::medium("bad-accept-not-4xx", "a 4xx"),
        _ => None,
    }
}

/// A request (not a misstep) sent with the id of a session deleted before it, refused with
/// another status than 404. A request whose upload was aborted, or whose body is past the
/// size limit, is not judged: its body may be refused (400, 413) before its session is
/// looked at (`request-size` judges the oversized ones).
fn ended_wrong(trace: &Trace, index: usize, exchange: &Exchange, status: u16) -> Option<Wrong> {
    let SessionHeader::Ended(session) = exchange.session_header else {
        return None;
    };
    if exchange.upload.aborted || matches!(exchange.purpose, Purpose::Oversized { .. }) {
        return None;
    }
    let deleted_by = trace.sessions.get(session)?.deleted_by?;
    if index <= deleted_by || is_success(status) || status == 404 {
        return None;
    }
    Wrong::medium("ended-session-not-404", "404")
}

/// Whether the server gives out session ids: the request's session got one, or (for a
/// request of no session) any session did.
fn uses_sessions(trace: &Trace, exchange: &Exchange) -> bool {
    match exchange.session.and_then(|s| trace.sessions.get(s)) {
        Some(session) => session.id.is_some(),
        None => trace.sessions.iter().any(|session| session.id.is_some()),
    }
}

/// The protocol version the request's session negotiated (`YYYY-MM-DD`, so versions compare
/// as strings), or [`DEFAULT_VERSION`].
fn version<'t>(trace: &'t Trace, exchange: &Exchange) -> &'t str {
    exchange
        .session
        .and_then(|s| trace.sessions.get(s))
        .and_then(|session: &SessionRecord| session.negotiated.as_deref())
        .filter(|v| is_date(v))
        .unwrap_or(DEFAULT_VERSION)
}

fn is_date(version: &str) -> bool {
    let bytes = version.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::test_trace::{kinds, Build};

    fn ids(ids: &[&str]) -> Vec<Finding> {
        let mut b = Build::new();
        for id in ids {
            b.session(Some(id), "2025-06-18");
        }
        session_id(&b.trace)
    }

    const RANDOM: [&str; 3] = [
        "9f2c4e1a7b3d5f608e1c2a4b6d8f0a1c3e5b7d9f1a2c4e6b",
        "03b7e9d1f5a2c8e4b6d0f2a4c6e8b1d3f5a7c9e2b4d6f8a0",
        "e4a1c7f3b9d5e2a8c4f6b0d2e8a6c3f1b7d9e5a2c0f4b8d6",
    ];

    #[test]
    fn passes_random_visible_ids() {
        assert_eq!(ids(&RANDOM), []);
        assert_eq!(ids(&RANDOM[..1]), []);
    }

    #[test]
    fn catches_counter_ids() {
        let counter = [
            "000000000000000000000000000000000000000000000001",
            "000000000000000000000000000000000000000000000002",
            "000000000000000000000000000000000000000000000003",
        ];
        assert_eq!(kinds(&ids(&counter)), ["predictable"]);
    }

    #[test]
    fn catches_bad_short_and_reused_ids() {
        let found = ids(&[RANDOM[0], "short id", RANDOM[0]]);
        assert_eq!(
            kinds(&found),
            ["not-visible-ascii", "too-short", "reused-id"]
        );
    }

    /// A misstep in a live session of `version`, answered with `status`.
    fn misstep(misstep: Misstep, version: &str, status: u16) -> Vec<Finding> {
        let mut b = Build::new();
        let s = b.session(Some(RANDOM[0]), version);
        let e = b.request(Purpose::Misstep(misstep), Some(s));
        b.status(e, status);
        lifecycle(&b.trace)
    }

    #[test]
    fn passes_the_statuses_the_rules_ask_for() {
        let v = "2025-11-25";
        assert_eq!(misstep(Misstep::MissingSessionId, v, 400), []);
        assert_eq!(misstep(Misstep::UnknownSessionId, v, 404), []);
        assert_eq!(misstep(Misstep::BadProtocolVersion, v, 400), []);
        assert_eq!(misstep(Misstep::ForeignOrigin, v, 403), []);
        assert_eq!(misstep(Misstep::ForeignHost, v, 421), []);
        assert_eq!(misstep(Misstep::BadAccept, v, 406), []);
        // The server ended the session (an expiry) before judging the version or the origin.
        assert_eq!(misstep(Misstep::BadProtocolVersion, v, 404), []);
        assert_eq!(misstep(Misstep::ForeignOrigin, v, 404), []);
    }

    #[test]
    fn catches_wrong_statuses() {
        let v = "2025-11-25";
        let cases = [
            (Misstep::MissingSessionId, 404, "missing-session-not-400"),
            (Misstep::UnknownSessionId, 400, "unknown-session-not-404"),
            (Misstep::BadProtocolVersion, 200, "bad-version-not-400"),
            (Misstep::BadProtocolVersion, 403, "bad-version-not-400"),
            (Misstep::ForeignOrigin, 200, "foreign-origin-accepted"),
            (Misstep::ForeignOrigin, 400, "foreign-origin-not-403"),
            (Misstep::ForeignHost, 200, "foreign-host-accepted"),
            (Misstep::ForeignHost, 500, "foreign-host-not-4xx"),
            (Misstep::BadAccept, 200, "bad-accept-accepted"),
            (Misstep::BadAccept, 500, "bad-accept-not-4xx"),
        ];
        for (step, status, kind) in cases {
            assert_eq!(
                kinds(&misstep(step, v, status)),
                [kind],
                "{step:?} {status}"
            );
        }
        let found = misstep(Misstep::ForeignOrigin, v, 200);
        assert_eq!(found[0].severity, Severity::High);
    }

    #[test]
    fn is_aware_of_the_negotiated_version() {
        assert_eq!(misstep(Misstep::ForeignOrigin, "2025-06-18", 400), []);
        assert_eq!(misstep(Misstep::BadProtocolVersion, "2025-03-26", 200), []);
        assert_eq!(misstep(Misstep::BadProtocolVersion, "garbage", 200), []);
    }

    /// A deleted session used again, answered with `status`.
    fn after_delete(status: u16) -> Vec<Finding> {
        let mut b = Build::new();
        let s = b.session(Some(RANDOM[0]), "2025-06-18");
        b.delete(s);
        let e = b.request(Purpose::ListTools, Some(s));
        b.status(e, status);
        let accept = b.request(Purpose::Misstep(Misstep::BadAccept), Some(s));
        b.status(accept, 406);
        lifecycle(&b.trace)
    }

    #[test]
    fn judges_requests_with_a_deleted_sessions_id() {
        assert_eq!(after_delete(404), []);
        assert_eq!(after_delete(200), []);
        assert_eq!(kinds(&after_delete(400)), ["ended-session-not-404"]);
    }

    #[test]
    fn does_not_judge_an_oversized_body_with_a_deleted_sessions_id() {
        let mut b = Build::new();
        let s = b.session(Some(RANDOM[0]), "2025-06-18");
        b.delete(s);
        let body = crate::scenario::Oversize::Chunked;
        let e = b.request(Purpose::Oversized { body }, Some(s));
        b.status(e, 413);
        assert_eq!(lifecycle(&b.trace), []);
    }

    #[test]
    fn does_not_judge_an_aborted_upload_with_a_deleted_sessions_id() {
        let mut b = Build::new();
        let s = b.session(Some(RANDOM[0]), "2025-06-18");
        b.delete(s);
        let (call, _) = b.call(s);
        b.status(call, 400);
        b.trace.exchanges[call].upload.aborted = true;
        assert_eq!(lifecycle(&b.trace), []);
    }
}
