//! `replay`: reproducers run again against their targets, each said to pass or still fail.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use super::Exit;
use crate::oracle::Oracle;
use crate::probe::{ProbeSpec, PROBE_FINDINGS};
use crate::report::read_sidecar;
use crate::runner::{PolicyLimits, RunTarget, Runner, TargetSpec, Verdict};

/// How many times `replay` runs a reproducer against a target that is not deterministic (a
/// server in real time, whose ids or timing may be random) before saying that its finding is
/// gone.
pub const REPLAY_TRIES: u32 = 20;

/// Re-runs each reproducer against its target (`target`, else its sidecar's, else the
/// reference) and says whether it still fails. [`Exit::Findings`] when any does. A reproducer
/// for a target that is not deterministic runs up to [`REPLAY_TRIES`] times, until its
/// finding shows again. With `verbose`, also prints each scenario's listing and every
/// finding's evidence.
pub fn replay(
    files: &[PathBuf],
    target: Option<&RunTarget>,
    limits: &PolicyLimits,
    verbose: bool,
    out: &mut impl Write,
) -> Result<(), Exit> {
    let mut failing = 0;
    for file in files {
        let bytes = fs::read(file).map_err(Exit::io(format!("cannot read {}", file.display())))?;
        let sidecar = read_sidecar(file);
        let chosen = match (target, &sidecar) {
            (Some(target), _) => target.clone(),
            (None, Some(sidecar)) => RunTarget::from_sidecar(&sidecar.target).map_err(|e| {
                Exit::Usage(format!(
                    "{}: its sidecar names a target I cannot run: {e}",
                    file.display()
                ))
            })?,
            (None, None) => RunTarget::InProcess(TargetSpec::Reference),
        };
        let spec = chosen.name();
        let mut runner = chosen
            .runner(chosen.policy(limits), 0)
            .map_err(|e| Exit::Usage(format!("{spec}: {e}")))?;
        let expected = sidecar
            .as_ref()
            .and_then(|s| Some((Oracle::from_name(&s.oracle)?, s.kind.as_str())));
        let shows_expected = |verdict: &Verdict| match expected {
            Some((oracle, kind)) => verdict
                .findings
                .iter()
                .any(|f| f.oracle == oracle && f.kind == kind),
            None => !verdict.findings.is_empty(),
        };
        // A probe's finding replays by running the probe again (it repeats its unit of work
        // at three doses itself), once.
        let is_probe = expected.is_some_and(|(oracle, kind)| {
            PROBE_FINDINGS.contains(&(oracle, kind)) && ProbeSpec::from_bytes(&bytes).is_some()
        });
        let tries = if runner.deterministic() || is_probe {
            1
        } else {
            REPLAY_TRIES
        };
        let run = |runner: &mut Box<dyn Runner>| match is_probe {
            true => runner.probe(&bytes).ok_or_else(|| {
                Exit::Usage(format!(
                    "{}: a resource probe needs a server the suite starts (--url with --cmd)",
                    file.display()
                ))
            }),
            false => Ok(runner.run(&bytes)),
        };
        let mut verdict = run(&mut runner)?;
        let mut tried = 1;
        while tried < tries && !shows_expected(&verdict) {
            verdict = run(&mut runner)?;
            tried += 1;
        }
        let on_try = if tried > 1 {
            format!(" (on try {tried} of {tries})")
        } else {
            String::new()
        };
        let status = match (verdict.findings.first(), expected) {
            (None, _) => format!("passes{on_try}"),
            (Some(_), Some((oracle, kind))) if shows_expected(&verdict) => {
                format!("still fails: [{oracle}/{kind}]{on_try}")
            }
            (Some(first), _) => {
                format!(
                    "fails: [{}/{}] {}{on_try}",
                    first.oracle, first.kind, first.summary
                )
            }
        };
        if !verdict.findings.is_empty() {
            failing += 1;
        }
        let mut text = format!("{}: {spec}: {status}\n", file.display());
        if verbose {
            text += &format!("{}", verdict.scenario);
            if let Some(probe) = &verdict.probe {
                text += &format!("readings: {}\n", serde_json::json!(probe));
            }
            for finding in &verdict.findings {
                text += &format!(
                    "[{}/{}] {}\n  evidence: {}\n",
                    finding.oracle, finding.kind, finding.summary, finding.evidence
                );
            }
        }
        out.write_all(text.as_bytes())
            .map_err(Exit::io("cannot write the results"))?;
    }
    match failing {
        0 => Ok(()),
        n => Err(Exit::Findings(n)),
    }
}
