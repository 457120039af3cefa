//! `run`, `replay` and `list`: the harness from the command line.

use std::cell::RefCell;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::campaign::{Budget, Campaign, Found, Summary, MAX_INPUT_BYTES};
use crate::harness::{Harness, TargetSpec};
use crate::oracle::Oracle;
use crate::report::{read_sidecar, sarif_log, write_reproducer, ReportLine, SarifResult};
use crate::target::FIXTURES;

use super::Exit;

/// What `run` is asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub target: TargetSpec,
    pub budget: Budget,
    pub seed: u64,
    /// Seed inputs: every file of this folder.
    pub corpus: Option<PathBuf>,
    /// Where to write one JSON line per deduplicated finding.
    pub report: Option<PathBuf>,
    /// Where to write the findings as SARIF 2.1.0.
    pub sarif: Option<PathBuf>,
    /// Where reproducers go.
    pub findings_dir: PathBuf,
    /// Stop once this oracle reports something.
    pub until: Option<Oracle>,
    /// How often to print a progress line.
    pub progress_every: Duration,
}

/// Runs a campaign; `Ok` when nothing was found, [`Exit::Findings`] otherwise.
pub fn run(options: &RunOptions, log: &mut impl Write) -> Result<Summary, Exit> {
    let log = RefCell::new(log);
    let corpus = match &options.corpus {
        Some(dir) => read_corpus(dir)?,
        None => Vec::new(),
    };
    let mut report = match &options.report {
        Some(path) => Some(fs::File::create(path).map_err(|e| {
            Exit::Usage(format!("cannot write the report {}: {e}", path.display()))
        })?),
        None => None,
    };
    let target = options.target.to_string();
    let mut write_error = None;
    let mut reproducers: Vec<String> = Vec::new();
    let mut last_progress = Duration::ZERO;
    let _ = writeln!(
        log.borrow_mut(),
        "run: target {target}, seed {}, {} corpus inputs",
        options.seed,
        corpus.len()
    );
    let mut campaign = Campaign::new(options.target, options.seed, corpus);
    let summary = campaign.run(
        options.budget,
        options.until,
        |found| match record(options, &target, found, report.as_mut()) {
            Ok(path) => {
                reproducers.push(path.display().to_string());
                let _ = writeln!(
                    log.borrow_mut(),
                    "finding: [{}/{}] {} -> {} (after {} scenarios, {} ms)",
                    found.finding.oracle,
                    found.finding.kind,
                    found.finding.summary,
                    path.display(),
                    found.scenarios,
                    found.elapsed.as_millis()
                );
            }
            Err(error) => {
                write_error.get_or_insert(error);
            }
        },
        |summary| {
            if summary.elapsed >= last_progress + options.progress_every {
                last_progress = summary.elapsed;
                let _ = writeln!(log.borrow_mut(), "{}", progress_line(summary));
            }
        },
    );
    let _ = writeln!(log.borrow_mut(), "done: {}", progress_line(&summary));
    if let Some(error) = write_error {
        return Err(error);
    }
    if let Some(path) = &options.sarif {
        let results: Vec<SarifResult<'_>> = summary
            .findings
            .iter()
            .zip(&reproducers)
            .map(|(found, reproducer)| SarifResult {
                finding: &found.finding,
                target: &target,
                reproducer,
            })
            .collect();
        let text = serde_json::to_string_pretty(&sarif_log(&results))
            .map_err(|e| Exit::Usage(e.to_string()))?;
        fs::write(path, text + "\n")
            .map_err(|e| Exit::Usage(format!("cannot write {}: {e}", path.display())))?;
    }
    if summary.findings.is_empty() {
        Ok(summary)
    } else {
        Err(Exit::Findings(summary.findings.len()))
    }
}

/// `[12.0s] 34567 scenarios (2880/s), 456789 requests (38065/s), pool 123, 2 findings`
fn progress_line(summary: &Summary) -> String {
    let secs = summary.elapsed.as_secs_f64().max(1e-9);
    format!(
        "[{:.1}s] {} scenarios ({:.0}/s), {} requests ({:.0}/s), pool {}, {} findings",
        summary.elapsed.as_secs_f64(),
        summary.scenarios,
        summary.scenarios as f64 / secs,
        summary.requests,
        summary.requests as f64 / secs,
        summary.pool,
        summary.findings.len()
    )
}

/// Writes the reproducer and the report line of `found`.
fn record(
    options: &RunOptions,
    target: &str,
    found: &Found,
    report: Option<&mut fs::File>,
) -> Result<PathBuf, Exit> {
    let finding = &found.finding;
    let path =
        write_reproducer(&options.findings_dir, target, finding, &found.input).map_err(|e| {
            Exit::Usage(format!(
                "cannot write a reproducer into {}: {e}",
                options.findings_dir.display()
            ))
        })?;
    if let Some(file) = report {
        let line = ReportLine {
            oracle: finding.oracle.name(),
            severity: finding.severity,
            kind: finding.kind,
            summary: &finding.summary,
            evidence: &finding.evidence,
            reproducer: path.display().to_string(),
            target,
            step: finding.step,
            scenarios: found.scenarios,
            elapsed_ms: u64::try_from(found.elapsed.as_millis()).unwrap_or(u64::MAX),
        };
        let json = serde_json::to_string(&line).map_err(|e| Exit::Usage(e.to_string()))?;
        writeln!(file, "{json}")
            .map_err(|e| Exit::Usage(format!("cannot write the report: {e}")))?;
    }
    Ok(path)
}

/// Every file of `dir`, sorted by name, cut to [`MAX_INPUT_BYTES`].
pub fn read_corpus(dir: &Path) -> Result<Vec<Vec<u8>>, Exit> {
    let unreadable =
        |e: std::io::Error| Exit::Usage(format!("cannot read the corpus {}: {e}", dir.display()));
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(unreadable)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let mut bytes = fs::read(path).map_err(unreadable)?;
            bytes.truncate(MAX_INPUT_BYTES);
            Ok(bytes)
        })
        .collect()
}

/// Re-runs each reproducer against its target (`target`, else its sidecar's, else the
/// reference) and says whether it still fails. [`Exit::Findings`] when any does. With
/// `verbose`, also prints each scenario's listing and every finding's evidence.
pub fn replay(
    files: &[PathBuf],
    target: Option<TargetSpec>,
    verbose: bool,
    out: &mut impl Write,
) -> Result<(), Exit> {
    let mut failing = 0;
    for file in files {
        let bytes = fs::read(file)
            .map_err(|e| Exit::Usage(format!("cannot read {}: {e}", file.display())))?;
        let sidecar = read_sidecar(file);
        let spec = match (target, &sidecar) {
            (Some(spec), _) => spec,
            (None, Some(sidecar)) => sidecar.target.parse().map_err(|e| {
                Exit::Usage(format!(
                    "{}: its sidecar names a target I cannot run: {e}",
                    file.display()
                ))
            })?,
            (None, None) => TargetSpec::Reference,
        };
        let verdict = Harness::new(spec).run(&bytes);
        let expected = sidecar
            .as_ref()
            .and_then(|s| Some((Oracle::from_name(&s.oracle)?, s.kind.as_str())));
        let status = match (verdict.findings.first(), expected) {
            (None, _) => "passes".to_owned(),
            (Some(_), Some((oracle, kind)))
                if verdict
                    .findings
                    .iter()
                    .any(|f| f.oracle == oracle && f.kind == kind) =>
            {
                format!("still fails: [{oracle}/{kind}]")
            }
            (Some(first), _) => {
                format!("fails: [{}/{}] {}", first.oracle, first.kind, first.summary)
            }
        };
        if !verdict.findings.is_empty() {
            failing += 1;
        }
        let mut text = format!("{}: {spec}: {status}\n", file.display());
        if verbose {
            text += &format!("{}", verdict.scenario);
            for finding in &verdict.findings {
                text += &format!(
                    "[{}/{}] {}\n  evidence: {}\n",
                    finding.oracle, finding.kind, finding.summary, finding.evidence
                );
            }
        }
        out.write_all(text.as_bytes())
            .map_err(|e| Exit::Usage(e.to_string()))?;
    }
    match failing {
        0 => Ok(()),
        n => Err(Exit::Findings(n)),
    }
}

/// What `list` can list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    Fixtures,
    Targets,
    Oracles,
}

/// One line per item: `NAME ORACLE` for fixtures, `NAME  about` for targets and oracles.
pub fn list(what: Listing, out: &mut impl Write) -> std::io::Result<()> {
    match what {
        Listing::Fixtures => {
            for fixture in FIXTURES {
                writeln!(out, "{} {}", fixture.name, fixture.oracle)?;
            }
        }
        Listing::Targets => {
            for spec in TargetSpec::all() {
                writeln!(out, "{spec}  {}", spec.about())?;
            }
        }
        Listing::Oracles => {
            for oracle in Oracle::ALL {
                writeln!(out, "{oracle}  {}", oracle.fails_when())?;
            }
        }
    }
    Ok(())
}
