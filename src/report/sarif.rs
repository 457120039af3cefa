//! Findings as SARIF 2.1.0: one run, one rule per oracle, one result per deduplicated finding,
//! located at its reproducer file.

use serde_json::{json, Value};

use crate::oracle::{Finding, Level, Oracle};

/// One finding to report, with where its reproducer is.
#[derive(Debug, Clone, Copy)]
pub struct SarifResult<'a> {
    /// The finding, which gives the result's rule, level and message.
    pub finding: &'a Finding,
    /// The target's name, added to the message and the properties.
    pub target: &'a str,
    /// The reproducer's path, as written in the report.
    pub reproducer: &'a str,
}

/// The SARIF 2.1.0 log of `results`.
pub fn sarif_log(results: &[SarifResult<'_>]) -> Value {
    let rules: Vec<Value> = Oracle::ALL
        .iter()
        .map(|oracle| {
            json!({
                "id": oracle.name(),
                "name": rule_name(*oracle),
                "shortDescription": { "text": format!("{}: fails when {}", oracle.name(), oracle.fails_when()) },
                "helpUri": "https://modelcontextprotocol.io/specification/2025-11-25/basic/transports",
            })
        })
        .collect();
    let results: Vec<Value> = results.iter().map(result).collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "mcp-transport-fuzz",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://modelcontextprotocol.io/specification/2025-11-25/basic/transports",
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

fn result(item: &SarifResult<'_>) -> Value {
    let finding = item.finding;
    let rule_index = Oracle::ALL
        .iter()
        .position(|oracle| *oracle == finding.oracle)
        .unwrap_or_default();
    json!({
        "ruleId": finding.oracle.name(),
        "ruleIndex": rule_index,
        "level": level(finding.level()),
        "message": { "text": format!(
            "{} (target {}; breaks a {} rule of {}: \"{}\")",
            finding.summary, item.target, finding.rule.level, finding.rule.source, finding.rule.text
        ) },
        "locations": [{
            "physicalLocation": { "artifactLocation": { "uri": item.reproducer } },
        }],
        "partialFingerprints": { "oracleKind/v1": format!("{}/{}", finding.oracle.name(), finding.kind) },
        "properties": {
            "kind": finding.kind,
            "severity": finding.severity,
            "ruleLevel": finding.rule.level,
            "rule": finding.rule.text,
            "ruleSource": finding.rule.source,
            "target": item.target,
            "step": finding.step,
            "evidence": finding.evidence,
        },
    })
}

/// `idle/duration` becomes `IdleDuration`: SARIF rule names are identifiers.
fn rule_name(oracle: Oracle) -> String {
    oracle
        .name()
        .split(['-', '/'])
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The SARIF level follows the rule's: a broken MUST is an error, a SHOULD a warning,
/// hardening a note.
fn level(level: Level) -> &'static str {
    match level {
        Level::Must => "error",
        Level::Should => "warning",
        Level::Hardening => "note",
    }
}
