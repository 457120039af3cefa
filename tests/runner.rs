//! The in-process runner end to end: every fixture is caught by its oracle on its seed
//! scenario, the reference is clean on the same scenarios and on random ones, and runs are
//! deterministic.

use mcp_transport_fuzz::fixture::{Fixture, FIXTURES};
use mcp_transport_fuzz::oracle::{Finding, Oracle};
use mcp_transport_fuzz::runner::{InProcessRunner, TargetSpec};
use mcp_transport_fuzz::scenario::seeds::seeds;
use mcp_transport_fuzz::scenario::Scenario;
use rand::{RngExt, SeedableRng};

fn seed_bytes(name: &str) -> Vec<u8> {
    let (_, scenario) = seeds()
        .into_iter()
        .find(|(seed, _)| *seed == name)
        .unwrap_or_else(|| panic!("no seed {name}"));
    scenario.to_bytes().expect("seeds have no free text")
}

fn describe(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("[{}/{}] {}", f.oracle, f.kind, f.summary))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_fixture_is_caught_by_its_oracle_on_its_seed() {
    let mut missed = Vec::new();
    for fixture in FIXTURES {
        let bytes = seed_bytes(fixture.seed);
        let verdict = InProcessRunner::new(TargetSpec::Fixture(fixture)).run(&bytes);
        if !verdict.findings.iter().any(|f| f.oracle == fixture.oracle) {
            missed.push(format!(
                "{} ({}) on seed {}: got\n{}\n{}",
                fixture.name,
                fixture.oracle,
                fixture.seed,
                describe(&verdict.findings),
                verdict.scenario
            ));
        }
    }
    assert!(
        missed.is_empty(),
        "fixtures not caught:\n{}",
        missed.join("\n\n")
    );
}

/// A stream that a deadline closes while its reader holds part of an event ends there, with no
/// terminal event glued to the cut one. Found by `run --target fixture:no-backpressure` (its
/// unbounded buffer makes the reference's body reads cut events): the idle timeout fired
/// mid-event on a resumed stream, and `framing` saw `…xxxevent: idle_timeout` in one event's
/// data.
#[test]
fn a_deadline_that_cuts_an_event_sends_no_terminal_event_after_it() {
    let bytes = include_bytes!("data/idle-timeout-cuts-an-event.scenario");
    let fixture = Fixture::named("no-backpressure").expect("a fixture");
    for spec in [TargetSpec::Fixture(fixture), TargetSpec::Reference] {
        let verdict = InProcessRunner::new(spec).run(bytes);
        assert!(
            verdict.findings.iter().all(|f| f.oracle != Oracle::Framing),
            "{spec}:\n{}\n{}",
            describe(&verdict.findings),
            verdict.scenario
        );
    }
}

#[test]
fn the_reference_is_clean_on_every_seed() {
    let mut runner = InProcessRunner::new(TargetSpec::Reference);
    for (name, scenario) in seeds() {
        let verdict = runner.run(&scenario.to_bytes().expect("no free text"));
        assert!(
            verdict.findings.is_empty(),
            "seed {name} on the reference:\n{}\n{}",
            describe(&verdict.findings),
            verdict.scenario
        );
    }
}

#[test]
fn the_reference_is_clean_on_random_scenarios() {
    let mut runner = InProcessRunner::new(TargetSpec::Reference);
    let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(7);
    for case in 0..300 {
        let len = rng.random_range(0..512);
        let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let verdict = runner.run(&bytes);
        assert!(
            verdict.findings.is_empty(),
            "case {case} on the reference:\n{}\n{}",
            describe(&verdict.findings),
            verdict.scenario
        );
    }
}

#[test]
fn the_same_bytes_give_the_same_trace_and_findings() {
    let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(11);
    let mut inputs: Vec<Vec<u8>> = FIXTURES.iter().map(|f| seed_bytes(f.seed)).collect();
    inputs.extend((0..20).map(|_| (0..256).map(|_| rng.random()).collect::<Vec<u8>>()));
    for spec in [TargetSpec::Reference, TargetSpec::Fixture(&FIXTURES[1])] {
        let mut reused = InProcessRunner::new(spec);
        for input in &inputs {
            let first = reused.run(input);
            let expected = serde_json::to_string(&first.trace).expect("a trace serialises");
            for _ in 0..2 {
                let again = reused.run(input);
                assert_eq!(serde_json::to_string(&again.trace).unwrap(), expected);
                assert_eq!(again.findings, first.findings);
            }
            let fresh = InProcessRunner::new(spec).run(input);
            assert_eq!(serde_json::to_string(&fresh.trace).unwrap(), expected);
        }
    }
}

#[test]
fn seeds_round_trip_through_bytes() {
    for (name, scenario) in seeds() {
        let bytes = scenario.to_bytes().expect("no free text");
        assert_eq!(Scenario::from_bytes(&bytes), scenario, "seed {name}");
    }
}

#[test]
fn scenarios_round_trip_through_bytes() {
    let mut rng = rand_chacha::ChaCha12Rng::seed_from_u64(3);
    let mut checked = 0;
    for _ in 0..2_000 {
        let bytes: Vec<u8> = (0..rng.random_range(0..400))
            .map(|_| rng.random())
            .collect();
        let scenario = Scenario::from_bytes(&bytes);
        if let Some(encoded) = scenario.to_bytes() {
            assert_eq!(Scenario::from_bytes(&encoded), scenario);
            checked += 1;
        }
    }
    assert!(checked > 500, "only {checked} scenarios without free text");
}

/// The seed corpus of `harness_reference` holds every seed scenario, byte for byte. Run with
/// `MCP_FUZZ_WRITE_SEEDS=1` to (re)write them after changing `scenario::seeds`.
#[test]
fn the_corpus_holds_every_seed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/harness_reference");
    let write = std::env::var_os("MCP_FUZZ_WRITE_SEEDS").is_some();
    for (name, scenario) in seeds() {
        let bytes = scenario.to_bytes().expect("no free text");
        let path = dir.join(name);
        if write {
            std::fs::create_dir_all(&dir).expect("corpus folder");
            std::fs::write(&path, &bytes).expect("writable corpus");
        }
        let stored = std::fs::read(&path).unwrap_or_default();
        assert_eq!(
            stored,
            bytes,
            "{} is stale: run with MCP_FUZZ_WRITE_SEEDS=1",
            path.display()
        );
    }
}
