//! The scenario fuzz targets (`harness_*`): scenario bytes run in process against the reference
//! server, its fixtures and rmcp, and judged by every oracle.

use std::cell::RefCell;

use crate::adapter::RmcpVariant;
use crate::fixture::{Fixture, FIXTURES};
use crate::input::Corpus;
use crate::oracle::{Finding, Oracle};
use crate::runner::{InProcessRunner, TargetSpec};

/// The environment variable that pins `harness_fixture` to one fixture, by name.
pub const FIXTURE_ENV: &str = "MCP_FUZZ_FIXTURE";

thread_local! {
    /// One runner (and so one runtime) per target, reused across inputs.
    static RUNNERS: RefCell<Vec<InProcessRunner>> = const { RefCell::new(Vec::new()) };
}

/// Findings already reported on rmcp 3.11 (see the README's findings section), which
/// `harness_rmcp` does not crash on, so that fuzzing goes on looking for new kinds. `run
/// --target rmcp` still reports them.
pub const RMCP_KNOWN: &[(Oracle, &str)] = &[
    // Origin is not checked by default (a 2025-11-25 MUST).
    (Oracle::Lifecycle, "foreign-origin-accepted"),
    // DELETE of an already deleted session gets 202, not 404.
    (Oracle::SessionCleanup, "deleted-id-accepted"),
    // The event store never learns that a session ended: its events stay, and with them the
    // memory they hold after every session ended (bounded by the store).
    (Oracle::SessionCleanup, "state-kept-after-delete"),
    (Oracle::Leak, "heap-grew"),
    // Priming events share id `0` across a session's streams.
    (Oracle::IdUniqueness, "duplicate-id"),
    // Resuming from a priming event id replays it; the local cache can skip events.
    (Oracle::ReplayOrder, "inclusive-replay"),
    // A resume from the shared priming id `0/0` of a GET stream replays a request's stream.
    (Oracle::CrossStream, "other-stream-replayed"),
    (Oracle::ReplayOrder, "skipped-event"),
    // The event store replays another session's events for its ids.
    (Oracle::CrossSession, "foreign-message"),
    (Oracle::CrossSession, "canary-leak"),
    // While one response stream of a session is unread, the session's worker waits on it:
    // a later request gets no response head, or another stream stops before its result.
    (Oracle::Liveness, "no-response"),
    (Oracle::Liveness, "request-stream-never-ended"),
    // A session may hold any number of concurrent POST response streams (its standalone GET
    // streams are bounded: 32 "shadow" streams, the oldest closed for a new one).
    (Oracle::ConnectionCap, "no-stream-cap"),
    // With the event store, a 2026-07-28 request runs on after its stream closes (kept for a
    // resumption the revision no longer has): its work, and its tasks after every session
    // ended; and a GET naming 2026-07-28 with a Last-Event-ID replays from the store.
    (Oracle::Cancellation, "work-after-close"),
    (Oracle::Leak, "grew-after-sessions-ended"),
    (Oracle::LegacyIgnore, "legacy-method-served"),
    // That GET needs no session: another session's Last-Event-ID replays its messages to a
    // client that never had one (the store is not told who asks).
    (Oracle::CrossRequest, "foreign-progress"),
    (Oracle::CrossRequest, "foreign-response"),
    (Oracle::CrossRequest, "foreign-canary"),
];

/// Runs `bytes` against `spec` and panics with the first finding, if any.
fn run_and_judge(spec: TargetSpec, bytes: &[u8]) -> Corpus {
    run_and_judge_except(spec, bytes, &[])
}

/// Runs `bytes` against `spec` and panics with the first finding not in `known`, if any.
fn run_and_judge_except(spec: TargetSpec, bytes: &[u8], known: &[(Oracle, &str)]) -> Corpus {
    let findings = RUNNERS.with(|runners| {
        let mut runners = runners.borrow_mut();
        let index = match runners.iter().position(|r| r.spec() == spec) {
            Some(index) => index,
            None => {
                runners.push(InProcessRunner::new(spec));
                runners.len() - 1
            }
        };
        runners[index].run(bytes).findings
    });
    let is_known = |f: &Finding| known.iter().any(|&(o, k)| f.oracle == o && f.kind == k);
    let findings: Vec<Finding> = findings.into_iter().filter(|f| !is_known(f)).collect();
    if let Some(finding) = findings.first() {
        panic!(
            "{spec}: {} finding(s); first: [{}/{}] {}",
            findings.len(),
            finding.oracle,
            finding.kind,
            finding.summary
        );
    }
    Corpus::Keep
}

/// `harness_reference`: the input is a scenario (see [`crate::scenario::Scenario::from_bytes`])
/// run against the reference server. Panics on any finding: the reference must stay clean.
pub fn harness_reference(data: &[u8]) -> Corpus {
    run_and_judge(TargetSpec::Reference, data)
}

/// `harness_rmcp`: a scenario against rmcp in process, the variant picked by the first byte
/// (local session manager, with the in-memory event store, or stateless only). Panics on any finding not in
/// [`RMCP_KNOWN`].
pub fn harness_rmcp(data: &[u8]) -> Corpus {
    let Some((&first, scenario)) = data.split_first() else {
        return Corpus::Reject;
    };
    let variant = RmcpVariant::ALL[usize::from(first) % RmcpVariant::ALL.len()];
    run_and_judge_except(TargetSpec::Rmcp(variant), scenario, RMCP_KNOWN)
}

/// The fixture `harness_fixture` runs `data` against, and the scenario bytes: the fixture
/// named by [`FIXTURE_ENV`] with all of `data`, or else the one the first byte picks (modulo
/// the number of fixtures) with the rest.
///
/// # Panics
/// If [`FIXTURE_ENV`] names no fixture: a usage error, reported at the first input.
pub fn fixture_input(data: &[u8]) -> Option<(&'static Fixture, &[u8])> {
    if let Ok(name) = std::env::var(FIXTURE_ENV) {
        let fixture = Fixture::named(&name)
            .unwrap_or_else(|| panic!("{FIXTURE_ENV}={name:?} names no fixture"));
        return Some((fixture, data));
    }
    let (&first, rest) = data.split_first()?;
    Some((&FIXTURES[usize::from(first) % FIXTURES.len()], rest))
}

/// `harness_fixture`: a scenario against one fixture (see [`fixture_input`]). Panics on any
/// finding: each crash is the fixture's bug being found.
pub fn harness_fixture(data: &[u8]) -> Corpus {
    match fixture_input(data) {
        Some((fixture, scenario)) => run_and_judge(TargetSpec::Fixture(fixture), scenario),
        None => Corpus::Reject,
    }
}
