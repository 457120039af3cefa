//! `run`: a campaign against one target, its findings written as reproducers, JSON lines and
//! SARIF, its progress on stderr.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::Exit;
use crate::campaign::{self, Budget, Found, Plan, Summary, MAX_INPUT_BYTES, PURPOSES};
use crate::oracle::Oracle;
use crate::report::{sarif_log, write_reproducer, ReportLine, SarifResult};
use crate::runner::{PolicyLimits, RunTarget};

/// What `run` is asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The server the campaign drives.
    pub target: RunTarget,
    /// Limits asserted on the command line for a target that does not advertise its own.
    pub limits: PolicyLimits,
    /// When the campaign stops, unless `until` stops it first.
    pub budget: Budget,
    /// The seed of the first job's mutator; job `n` uses `seed + n`.
    pub seed: u64,
    /// Jobs run in parallel, one thread each (at least 1).
    pub jobs: usize,
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
    /// Draw a progress bar (on a terminal) instead of a plain line every few seconds.
    pub progress_bar: bool,
}

/// Runs a campaign; `Ok` when nothing was found, [`Exit::Findings`] otherwise.
pub fn run(options: &RunOptions, log: &mut impl Write) -> Result<Summary, Exit> {
    let corpus = match &options.corpus {
        Some(dir) => read_corpus(dir)?,
        None => Vec::new(),
    };
    let mut report = match &options.report {
        Some(path) => Some(create_with_parents(path).map_err(Exit::io(format!(
            "cannot write the report {}",
            path.display()
        )))?),
        None => None,
    };
    let target = options.target.name();
    let policy = options.target.policy(&options.limits);
    let _ = writeln!(
        log,
        "run: target {target}, seed {}, {} job(s), {} corpus inputs",
        options.seed,
        options.jobs,
        corpus.len()
    );
    let plan = Plan {
        budget: options.budget,
        until: options.until,
        seed: options.seed,
        corpus,
        jobs: options.jobs,
    };
    let progress = Progress::new(options.progress_bar);
    let mut write_error = None;
    let mut reproducers: Vec<String> = Vec::new();
    let make_runner = |job: usize| options.target.runner(policy, job);
    let summary = campaign::run(
        &plan,
        &make_runner,
        |found| match record(options, &target, found, report.as_mut()) {
            Ok(path) => {
                reproducers.push(path.display().to_string());
                progress.say(&format!(
                    "finding ({}): [{}/{}] {} -> {} (after {} scenarios, {} ms)",
                    found.finding.level(),
                    found.finding.oracle,
                    found.finding.kind,
                    found.finding.summary,
                    path.display(),
                    found.scenarios,
                    found.elapsed.as_millis()
                ));
            }
            Err(error) => {
                write_error.get_or_insert(error);
            }
        },
        |summary| progress.update(summary),
    )
    .map_err(|error| Exit::Usage(format!("{target}: {error}")))?;
    progress.finish();
    let _ = writeln!(log, "done: {}", progress_line(&summary));
    for found in &summary.unconfirmed {
        // Kept for a look, not reported: they did not recur when their input ran alone.
        let dir = options.findings_dir.join("unconfirmed");
        let kept = write_reproducer(&dir, &target, &found.finding, &found.input)
            .map_or_else(|e| format!("not kept: {e}"), |p| p.display().to_string());
        let _ = writeln!(
            log,
            "unconfirmed (did not recur alone, not reported): [{}/{}] {} -> {kept}",
            found.finding.oracle, found.finding.kind, found.finding.summary
        );
    }
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
        create_with_parents(path)
            .and_then(|mut file| file.write_all((text + "\n").as_bytes()))
            .map_err(Exit::io(format!("cannot write {}", path.display())))?;
    }
    if summary.findings.is_empty() {
        Ok(summary)
    } else {
        Err(Exit::Findings(summary.findings.len()))
    }
}

/// Creates `path` (truncating it), and its folder if it is missing.
fn create_with_parents(path: &Path) -> std::io::Result<fs::File> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    fs::File::create(path)
}

/// Progress on stderr: a bar on a terminal, else a plain line every [`PLAIN_EVERY`].
struct Progress {
    bar: Option<ProgressBar>,
    last_line: std::cell::Cell<Duration>,
}

/// How often a plain progress line is printed.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    fn new(bar: bool) -> Self {
        let bar = bar.then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        });
        Self {
            bar,
            last_line: std::cell::Cell::new(Duration::ZERO),
        }
    }

    fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn update(&self, summary: &Summary) {
        match &self.bar {
            Some(bar) => {
                bar.set_message(progress_line(summary));
                bar.tick();
            }
            None if summary.elapsed >= self.last_line.get() + PLAIN_EVERY => {
                self.last_line.set(summary.elapsed);
                eprintln!("{}", progress_line(summary));
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `[12.0s] 34567 scenarios (2880/s), 456789 requests (38065/s), request kinds 8/8,
/// 412 features, 2 findings`
fn progress_line(summary: &Summary) -> String {
    let secs = summary.elapsed.as_secs_f64().max(1e-9);
    format!(
        "[{:.1}s] {} scenarios ({:.0}/s), {} requests ({:.0}/s), request kinds {}/{}, {} features, {} findings",
        summary.elapsed.as_secs_f64(),
        summary.scenarios,
        summary.scenarios as f64 / secs,
        summary.requests,
        summary.requests as f64 / secs,
        summary.purposes,
        PURPOSES,
        summary.features,
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
    let path = write_reproducer(&options.findings_dir, target, finding, &found.input).map_err(
        Exit::io(format!(
            "cannot write a reproducer into {}",
            options.findings_dir.display()
        )),
    )?;
    if let Some(file) = report {
        let line = ReportLine {
            oracle: finding.oracle.name(),
            severity: finding.severity,
            kind: finding.kind,
            level: finding.level(),
            rule: &finding.rule,
            summary: &finding.summary,
            evidence: &finding.evidence,
            reproducer: path.display().to_string(),
            target,
            step: finding.step,
            scenarios: found.scenarios,
            elapsed_ms: u64::try_from(found.elapsed.as_millis()).unwrap_or(u64::MAX),
        };
        let json = serde_json::to_string(&line).map_err(|e| Exit::Usage(e.to_string()))?;
        writeln!(file, "{json}").map_err(Exit::io("cannot write the report"))?;
    }
    Ok(path)
}

/// Every file of `dir`, sorted by name, cut to [`MAX_INPUT_BYTES`].
pub fn read_corpus(dir: &Path) -> Result<Vec<Vec<u8>>, Exit> {
    let unreadable = |e| Exit::io(format!("cannot read the corpus {}", dir.display()))(e);
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
