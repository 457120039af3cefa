//! The harness fuzz targets: scenario bytes against the reference server and its fixtures.

use std::cell::RefCell;

use crate::harness::{Harness, TargetSpec};
use crate::target::{Fixture, FIXTURES};

/// The environment variable that pins `harness_fixture` to one fixture, by name.
pub const FIXTURE_ENV: &str = "MCP_FUZZ_FIXTURE";

thread_local! {
    /// One harness (and so one runtime) per target, reused across inputs.
    static HARNESSES: RefCell<Vec<Harness>> = const { RefCell::new(Vec::new()) };
}

/// Runs `bytes` against `spec` and panics with the first finding, if any.
fn run_and_judge(spec: TargetSpec, bytes: &[u8]) {
    let findings = HARNESSES.with(|harnesses| {
        let mut harnesses = harnesses.borrow_mut();
        let index = match harnesses.iter().position(|h| h.spec() == spec) {
            Some(index) => index,
            None => {
                harnesses.push(Harness::new(spec));
                harnesses.len() - 1
            }
        };
        harnesses[index].run(bytes).findings
    });
    if let Some(finding) = findings.first() {
        panic!(
            "{spec}: {} finding(s); first: [{}/{}] {}",
            findings.len(),
            finding.oracle,
            finding.kind,
            finding.summary
        );
    }
}

/// `harness_reference`: the input is a scenario (see [`crate::scenario::Scenario::from_bytes`])
/// run against the reference server. Panics on any finding: the reference must stay clean.
pub fn harness_reference(data: &[u8]) {
    run_and_judge(TargetSpec::Reference, data);
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
pub fn harness_fixture(data: &[u8]) {
    if let Some((fixture, scenario)) = fixture_input(data) {
        run_and_judge(TargetSpec::Fixture(fixture), scenario);
    }
}
