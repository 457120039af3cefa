//! Reports: SARIF output validates against the SARIF 2.1.0 schema (shipped in tests/data), and
//! reproducers written by a campaign replay to the same finding.

use mcp_transport_fuzz::fixture::FIXTURES;
use mcp_transport_fuzz::report::{read_sidecar, sarif_log, write_reproducer, SarifResult};
use mcp_transport_fuzz::runner::{InProcessRunner, TargetSpec};
use mcp_transport_fuzz::scenario::seeds::seeds;
use serde_json::Value;

fn schema() -> jsonschema::Validator {
    let text = include_str!("data/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_str(text).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

/// The findings of every fixture on its seed, as SARIF.
fn fixture_log() -> Value {
    let verdicts: Vec<_> = FIXTURES
        .iter()
        .map(|fixture| {
            let (_, scenario) = seeds()
                .into_iter()
                .find(|(name, _)| *name == fixture.seed)
                .expect("the fixture's seed exists");
            let bytes = scenario.to_bytes().expect("no free text");
            (
                fixture,
                InProcessRunner::new(TargetSpec::Fixture(fixture)).run(&bytes),
            )
        })
        .collect();
    let names: Vec<String> = verdicts
        .iter()
        .map(|(f, _)| format!("fixture:{}", f.name))
        .collect();
    let results: Vec<SarifResult<'_>> = verdicts
        .iter()
        .zip(&names)
        .flat_map(|((_, verdict), target)| {
            verdict.findings.iter().map(move |finding| SarifResult {
                finding,
                target,
                reproducer: "findings/x.scenario",
            })
        })
        .collect();
    assert!(results.len() >= FIXTURES.len());
    sarif_log(&results)
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0() {
    let log = fixture_log();
    let validator = schema();
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "SARIF errors:\n{}", errors.join("\n"));
}

#[test]
fn every_sarif_result_names_its_rule_and_its_level_follows_the_rule() {
    let log = fixture_log();
    let results = log["runs"][0]["results"].as_array().expect("results");
    let mut levels = std::collections::BTreeSet::new();
    for result in results {
        let properties = &result["properties"];
        let rule_level = properties["ruleLevel"].as_str().expect("a rule level");
        let expected = match rule_level {
            "must" => "error",
            "should" => "warning",
            "hardening" => "note",
            other => panic!("unknown rule level {other:?}"),
        };
        assert_eq!(result["level"], expected, "{result}");
        assert!(properties["rule"]
            .as_str()
            .is_some_and(|rule| rule.len() > 20));
        assert!(properties["ruleSource"].as_str().is_some_and(
            |source| source.contains("MCP 20") || source.contains("mcp-transport-fuzz")
        ));
        levels.insert(rule_level.to_owned());
    }
    assert!(
        levels.contains("must") && levels.contains("should"),
        "{levels:?}"
    );
}

#[test]
fn the_schema_check_rejects_broken_sarif() {
    let validator = schema();
    let mut log = fixture_log();
    log["version"] = Value::from("2.0.0");
    assert!(!validator.is_valid(&log), "a wrong version must fail");
    let mut log = fixture_log();
    log["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!validator.is_valid(&log), "an unknown level must fail");
}

#[test]
fn a_reproducer_replays_its_finding_ten_times_out_of_ten() {
    let dir = std::env::temp_dir().join(format!("mtf-report-{}", std::process::id()));
    for fixture in FIXTURES {
        let (_, scenario) = seeds()
            .into_iter()
            .find(|(name, _)| *name == fixture.seed)
            .expect("seed");
        let bytes = scenario.to_bytes().expect("no free text");
        let spec = TargetSpec::Fixture(fixture);
        let first = InProcessRunner::new(spec).run(&bytes);
        let finding = first
            .findings
            .iter()
            .find(|f| f.oracle == fixture.oracle)
            .expect("the fixture is found");
        let path = write_reproducer(&dir, &spec.to_string(), finding, &bytes).expect("writable");
        let sidecar = read_sidecar(&path).expect("a sidecar");
        let replayed: TargetSpec = sidecar.target.parse().expect("a target name");
        let stored = std::fs::read(&path).expect("readable");
        let mut runner = InProcessRunner::new(replayed);
        for _ in 0..10 {
            let again = runner.run(&stored);
            assert_eq!(again.findings, first.findings, "{}", fixture.name);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
