//! Oracles: pure functions from a [`Trace`] to findings.
//!
//! They know nothing of targets, and targets know nothing of them. Each oracle judges only
//! what the trace shows (a resource a target cannot see is `None` and not judged), and is
//! aware of the protocol version the session negotiated.

mod cleanup;
mod facts;
mod framing;
mod idle;
mod isolation;
mod lifecycle;
mod limits;
mod liveness;
mod pressure;
mod probes;
mod replay;
mod rules;
mod stateless;
#[cfg(test)]
mod test_trace;

use std::fmt;

use serde::Serialize;

pub use probes::{DEFAULT_HIGH_WATER, GC_HEAP_FLOOR_BYTES, LEAK_FLOOR_BYTES};
pub use rules::{rule_of, Level, Rule};

use crate::trace::{Policy, ProbeTrace, Trace};

/// The oracles, named as in the project's transport rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "&'static str")]
pub enum Oracle {
    /// `framing`: untrusted content makes an SSE event, field or id the server did not mean.
    Framing,
    /// `cross-session`: a byte of one session's messages reaches another session.
    CrossSession,
    /// `cross-stream`: a resume replays messages of another stream of the same session.
    CrossStream,
    /// `replay-order`: a resume replays the Last-Event-ID event itself, skips or reorders events.
    ReplayOrder,
    /// `id-uniqueness`: two events in one session share an id.
    IdUniqueness,
    /// `byte-cap`: a stream exceeds its byte limit plus one terminal event.
    ByteCap,
    /// `backpressure`: memory held for a slow reader grows past the high-water mark.
    Backpressure,
    /// `idle/duration`: a stalled stream outlives its idle timeout or maximum duration.
    IdleDuration,
    /// `cancel-cleanup`: resources stay held after a client abort or cancel.
    CancelCleanup,
    /// `session-cleanup`: a session's state or id outlives its DELETE or expiry.
    SessionCleanup,
    /// `leak`: memory, tasks, listeners or timers grow with calls or sessions that ended.
    Leak,
    /// `session-id`: session ids are predictable or not visible ASCII.
    SessionId,
    /// `lifecycle`: a wrong status for a bad session id, version, Accept, Origin or Host.
    Lifecycle,
    /// `liveness`: the target stops answering, hangs past a deadline or crashes.
    Liveness,
    /// `connection-cap`: one principal holds any number of concurrent long-lived streams, each
    /// costing the server.
    ConnectionCap,
    /// `request-size`: a body past the limit (plain, one giant chunk, or a compression bomb) is
    /// read or inflated into memory instead of being refused early.
    RequestSize,
    /// `headers`: a 2026-07-28 request with a missing or mismatched `_meta` or header is
    /// served or refused wrongly, or an argument copied into a header injects one.
    Headers,
    /// `legacy-ignore`: a 2026-07-28 request's stale session id or Last-Event-ID is honoured.
    LegacyIgnore,
    /// `logging`: a log message on the stream of a request that set no `logLevel`.
    Logging,
    /// `cross-request`: a message of one request reaches another request's stream.
    CrossRequest,
    /// `subscription`: a listen stream is not acknowledged first, or carries types not opted
    /// in to, or untagged notifications.
    Subscription,
    /// `cancellation`: closing a request's stream does not stop its work.
    Cancellation,
}

impl Oracle {
    /// Every oracle, in the order [`judge`] runs them.
    pub const ALL: [Oracle; 22] = [
        Oracle::Framing,
        Oracle::CrossSession,
        Oracle::CrossStream,
        Oracle::ReplayOrder,
        Oracle::IdUniqueness,
        Oracle::ByteCap,
        Oracle::Backpressure,
        Oracle::IdleDuration,
        Oracle::CancelCleanup,
        Oracle::SessionCleanup,
        Oracle::Leak,
        Oracle::SessionId,
        Oracle::Lifecycle,
        Oracle::Liveness,
        Oracle::ConnectionCap,
        Oracle::RequestSize,
        Oracle::Headers,
        Oracle::LegacyIgnore,
        Oracle::Logging,
        Oracle::CrossRequest,
        Oracle::Subscription,
        Oracle::Cancellation,
    ];

    /// The name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Oracle::Framing => "framing",
            Oracle::CrossSession => "cross-session",
            Oracle::CrossStream => "cross-stream",
            Oracle::ReplayOrder => "replay-order",
            Oracle::IdUniqueness => "id-uniqueness",
            Oracle::ByteCap => "byte-cap",
            Oracle::Backpressure => "backpressure",
            Oracle::IdleDuration => "idle/duration",
            Oracle::CancelCleanup => "cancel-cleanup",
            Oracle::SessionCleanup => "session-cleanup",
            Oracle::Leak => "leak",
            Oracle::SessionId => "session-id",
            Oracle::Lifecycle => "lifecycle",
            Oracle::Liveness => "liveness",
            Oracle::ConnectionCap => "connection-cap",
            Oracle::RequestSize => "request-size",
            Oracle::Headers => "headers",
            Oracle::LegacyIgnore => "legacy-ignore",
            Oracle::Logging => "logging",
            Oracle::CrossRequest => "cross-request",
            Oracle::Subscription => "subscription",
            Oracle::Cancellation => "cancellation",
        }
    }

    /// What it fails on, in one line (as `list oracles` prints it).
    pub fn fails_when(self) -> &'static str {
        match self {
            Oracle::Framing => "untrusted content produces an SSE event, field or id the server did not mean to send",
            Oracle::CrossSession => "a byte of one session's messages reaches another session",
            Oracle::CrossStream => "a resume replays messages of another stream of the same session",
            Oracle::ReplayOrder => "a resume replays the Last-Event-ID event itself, skips, or reorders events",
            Oracle::IdUniqueness => "two events in one session share an id",
            Oracle::ByteCap => "a stream exceeds its byte limit (plus one terminal event)",
            Oracle::Backpressure => "memory held for a slow or stalled reader grows past the high-water mark",
            Oracle::IdleDuration => "a stalled stream stays open past its idle timeout or maximum duration",
            Oracle::CancelCleanup => "after a client abort or cancel, resources stay held",
            Oracle::SessionCleanup => "after DELETE or expiry, the session's state stays, or its id still works",
            Oracle::Leak => "memory, tasks, listeners or timers grow with calls or sessions after they ended",
            Oracle::SessionId => "session ids are predictable or not visible ASCII",
            Oracle::Lifecycle => "wrong status for a missing, unknown or ended session, bad version, Accept, Origin or Host",
            Oracle::Liveness => "the target stops answering, hangs past a deadline, or crashes",
            Oracle::ConnectionCap => "one principal holds any number of concurrent long-lived streams, and each costs the server memory or descriptors",
            Oracle::RequestSize => "an oversized body, one giant chunk or a compression bomb is read or inflated into memory instead of being refused early",
            Oracle::Headers => "a 2026-07-28 request with a missing or mismatched _meta, MCP-Protocol-Version, Mcp-Method, Mcp-Name or Mcp-Param header is not refused with 400 and the revision's code, or an argument value injects a header",
            Oracle::LegacyIgnore => "a 2026-07-28 request's stale Mcp-Session-Id is echoed, its stale Last-Event-ID replays another request's messages, or a GET or DELETE naming that revision is served",
            Oracle::Logging => "a notifications/message reaches the stream of a 2026-07-28 request that set no logLevel",
            Oracle::CrossRequest => "a response, progress or canary of one request or client reaches another request's stream",
            Oracle::Subscription => "a subscriptions/listen stream is not acknowledged first, carries a type not opted in to, or a notification without its subscription id",
            Oracle::Cancellation => "after the client closes a 2026-07-28 request's stream before its response, the server goes on working on it",
        }
    }

    /// The oracle of `name`, as [`Oracle::name`] spells it.
    pub fn from_name(name: &str) -> Option<Oracle> {
        Oracle::ALL.into_iter().find(|oracle| oracle.name() == name)
    }
}

impl From<Oracle> for &'static str {
    fn from(oracle: Oracle) -> Self {
        oracle.name()
    }
}

impl fmt::Display for Oracle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// No security or resource impact; SARIF level `note`.
    Low,
    /// A fault that needs time or load to hurt, such as a failed stream; SARIF level `warning`.
    Medium,
    /// A broken transport guarantee, such as injection or a wrong lifecycle status; SARIF `error`.
    High,
    /// One session's data reaching another, a crash, or a request with no response; SARIF `error`.
    Critical,
}

/// One violation an oracle saw in a trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The oracle that reported it.
    pub oracle: Oracle,
    /// How bad it is; this sets its SARIF level.
    pub severity: Severity,
    /// A stable short key of what went wrong (for deduplication across runs), e.g.
    /// `data-not-json`, `deleted-id-accepted`.
    pub kind: &'static str,
    /// One human sentence, with the concrete values.
    pub summary: String,
    /// The facts from the trace that show it (exchanges, events, snapshots), as JSON.
    pub evidence: serde_json::Value,
    /// The scenario op where it shows, if one.
    pub step: Option<usize>,
    /// The rule it breaks, and how strong that rule is.
    pub rule: Rule,
}

impl Finding {
    /// A finding of `oracle` with `kind`, naming the rule that kind breaks ([`rule_of`]).
    pub fn new(
        oracle: Oracle,
        severity: Severity,
        kind: &'static str,
        summary: String,
        evidence: serde_json::Value,
        step: Option<usize>,
    ) -> Self {
        Self {
            oracle,
            severity,
            kind,
            summary,
            evidence,
            step,
            rule: rule_of(oracle, kind),
        }
    }

    /// How strong the rule it breaks is.
    pub fn level(&self) -> Level {
        self.rule.level
    }
}

/// Every oracle's findings on `trace`, in the order of [`Oracle::ALL`]; hardening findings
/// only when the trace's policy asks for them.
pub fn judge(trace: &Trace) -> Vec<Finding> {
    let mut findings = Vec::new();
    for oracle in Oracle::ALL {
        findings.extend(judge_one(oracle, trace));
    }
    if !trace.policy.hardening {
        findings.retain(|finding| finding.level() != Level::Hardening);
    }
    findings
}

/// The findings a resource probe shows (see [`ProbeTrace`]), judged against `policy`.
pub fn judge_probe(probe: &ProbeTrace, policy: &Policy) -> Vec<Finding> {
    probes::judge(probe, policy)
}

/// The findings of `oracle` on `trace`, in trace order.
pub fn judge_one(oracle: Oracle, trace: &Trace) -> Vec<Finding> {
    match oracle {
        Oracle::Framing => framing::check(trace),
        Oracle::CrossSession => isolation::cross_session(trace),
        Oracle::CrossStream => isolation::cross_stream(trace),
        Oracle::ReplayOrder => replay::replay_order(trace),
        Oracle::IdUniqueness => replay::id_uniqueness(trace),
        Oracle::ByteCap => limits::byte_cap(trace),
        Oracle::Backpressure => limits::backpressure(trace),
        Oracle::IdleDuration => idle::check(trace),
        Oracle::CancelCleanup => cleanup::cancel_cleanup(trace),
        Oracle::SessionCleanup => cleanup::session_cleanup(trace),
        Oracle::Leak => cleanup::leak(trace),
        Oracle::SessionId => lifecycle::session_id(trace),
        Oracle::Lifecycle => lifecycle::lifecycle(trace),
        Oracle::Liveness => liveness::check(trace),
        Oracle::ConnectionCap => pressure::connection_cap(trace),
        Oracle::RequestSize => pressure::request_size(trace),
        Oracle::Headers => stateless::headers(trace),
        Oracle::LegacyIgnore => stateless::legacy_ignore(trace),
        Oracle::Logging => stateless::logging(trace),
        Oracle::CrossRequest => stateless::cross_request(trace),
        Oracle::Subscription => stateless::subscription(trace),
        Oracle::Cancellation => stateless::cancellation(trace),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::test_trace::{kinds, Build};
    use crate::scenario::Misstep;
    use crate::trace::Purpose;

    /// A session id of 48 random-looking hex digits.
    const ID: &str = "9f2c4e1a7b3d5f608e1c2a4b6d8f0a1c3e5b7d9f1a2c4e6b";

    /// A live session whose request with a bad Accept got 200.
    fn bad_accept_accepted() -> Build {
        let mut b = Build::new();
        let s = b.session(Some(ID), "2025-11-25");
        let accept = b.request(Purpose::Misstep(Misstep::BadAccept), Some(s));
        b.status(accept, 200);
        b
    }

    #[test]
    fn hardening_findings_are_reported_only_when_asked_for() {
        let mut b = bad_accept_accepted();
        assert_eq!(kinds(&judge(&b.trace)), Vec::<&str>::new());
        b.trace.policy.hardening = true;
        let found = judge(&b.trace);
        assert_eq!(kinds(&found), ["bad-accept-accepted"]);
        assert_eq!(found[0].level(), Level::Hardening);
    }

    #[test]
    fn every_finding_carries_the_rule_of_its_kind() {
        let mut b = Build::new();
        let s = b.session(Some(ID), "2025-11-25");
        let origin = b.request(Purpose::Misstep(Misstep::ForeignOrigin), Some(s));
        b.status(origin, 200);
        let found = judge(&b.trace);
        assert_eq!(kinds(&found), ["foreign-origin-accepted"]);
        assert_eq!(
            found[0].rule,
            rule_of(Oracle::Lifecycle, "foreign-origin-accepted")
        );
        assert_eq!(found[0].level(), Level::Must);
        assert!(found[0].rule.text.contains("403"));
    }
}
