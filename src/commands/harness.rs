//! `run`, `replay` and `list`: the harness from the command line.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::blackbox::{BlackBox, Endpoint};
use crate::campaign::{self, Budget, Found, Plan, Runner, Summary, MAX_INPUT_BYTES, PURPOSES};
use crate::harness::{Harness, TargetSpec, Verdict};
use crate::model::Millis;
use crate::oracle::Oracle;
use crate::report::{read_sidecar, sarif_log, write_reproducer, ReportLine, SarifResult};
use crate::target::FIXTURES;
use crate::trace::Policy;

use super::Exit;

/// What `run` drives.
#[derive(Debug, Clone)]
pub enum RunTarget {
    /// A target built in process (the reference, a fixture, rmcp).
    InProcess(TargetSpec),
    /// A server behind a socket.
    BlackBox(Endpoint),
}

impl RunTarget {
    /// Its name in reports and sidecars: `reference`, `fixture:NAME`, `rmcp:VARIANT`, a URL.
    pub fn name(&self) -> String {
        match self {
            RunTarget::InProcess(spec) => spec.to_string(),
            RunTarget::BlackBox(endpoint) => endpoint.url.clone(),
        }
    }

    /// The limits it is judged against, with the user's assertions on top.
    pub fn policy(&self, limits: &PolicyLimits) -> Policy {
        let mut policy = match self {
            RunTarget::InProcess(spec) => spec.default_policy(),
            RunTarget::BlackBox(_) => Policy::default(),
        };
        if let Some(bytes) = limits.max_stream_bytes {
            policy.max_stream_bytes = Some(bytes);
        }
        if let Some(idle) = limits.idle_timeout {
            policy.idle_timeout = Some(idle);
        }
        if let Some(duration) = limits.max_duration {
            policy.max_duration = Some(duration);
        }
        policy
    }

    /// The runner of job `job`. Of a server the suite starts, job 0 starts it and the other
    /// jobs connect to it once it is up (so only job 0 restarts it and reports crashes).
    fn runner(&self, policy: Policy, job: usize) -> Result<Box<dyn Runner>, String> {
        Ok(match self {
            RunTarget::InProcess(spec) => Box::new(Harness::with_policy(*spec, policy)),
            RunTarget::BlackBox(endpoint) => match &endpoint.launch {
                Some(launch) if job > 0 => {
                    let started_by_job_0 = Endpoint {
                        launch: None,
                        ..endpoint.clone()
                    };
                    let until = std::time::Instant::now() + launch.start_deadline;
                    loop {
                        match BlackBox::connect(&started_by_job_0, policy) {
                            Ok(runner) => break Box::new(runner),
                            Err(_) if std::time::Instant::now() < until => {
                                std::thread::sleep(Duration::from_millis(100));
                            }
                            Err(error) => return Err(error),
                        }
                    }
                }
                _ => Box::new(BlackBox::connect(endpoint, policy)?),
            },
        })
    }
}

/// Policy limits the user asserts for a target that does not advertise them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyLimits {
    pub max_stream_bytes: Option<u64>,
    pub idle_timeout: Option<Millis>,
    pub max_duration: Option<Millis>,
}

/// What `run` is asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub target: RunTarget,
    pub limits: PolicyLimits,
    pub budget: Budget,
    pub seed: u64,
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
        Some(path) => Some(create_with_parents(path).map_err(|e| {
            Exit::Usage(format!("cannot write the report {}: {e}", path.display()))
        })?),
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
                    "finding: [{}/{}] {} -> {} (after {} scenarios, {} ms)",
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
            .map_err(|e| Exit::Usage(format!("cannot write {}: {e}", path.display())))?;
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
        let bytes = fs::read(file)
            .map_err(|e| Exit::Usage(format!("cannot read {}: {e}", file.display())))?;
        let sidecar = read_sidecar(file);
        let chosen = match (target, &sidecar) {
            (Some(target), _) => target.clone(),
            (None, Some(sidecar)) => sidecar_target(&sidecar.target).map_err(|e| {
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
        let tries = if runner.deterministic() {
            1
        } else {
            REPLAY_TRIES
        };
        let mut verdict = runner.run(&bytes);
        let mut tried = 1;
        while tried < tries && !shows_expected(&verdict) {
            verdict = runner.run(&bytes);
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

/// The target a sidecar names: an in-process target, or a URL (a server the user runs).
fn sidecar_target(name: &str) -> Result<RunTarget, String> {
    if name.starts_with("http://") || name.starts_with("https://") {
        return Ok(RunTarget::BlackBox(Endpoint {
            url: name.to_owned(),
            launch: None,
            allow_remote: false,
        }));
    }
    name.parse()
        .map(RunTarget::InProcess)
        .map_err(|e: crate::harness::TargetSpecError| e.to_string())
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
