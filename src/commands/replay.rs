//! `replay`: reproducers run again against their targets, each said to pass or still fail;
//! with `--minimize`, shrunk to a minimal scenario that still shows its finding; with
//! `--confirm`, an in-process finding tried again over a real socket.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::Exit;
use crate::adapter::Launch;
use crate::oracle::{Finding, Oracle};
use crate::probe::{ProbeSpec, PROBE_FINDINGS};
use crate::report::{read_sidecar, write_reproducer};
use crate::runner::{Endpoint, PolicyLimits, RunTarget, Runner, TargetSpec, Verdict};
use crate::scenario::{shrink, Scenario};
use crate::trace::Policy;

/// How many times `replay` runs a reproducer against a target that is not deterministic (a
/// server in real time, whose ids or timing may be random) before saying that its finding is
/// gone.
pub const REPLAY_TRIES: u32 = 20;

/// How many times a shrinking candidate runs against a target that is not deterministic before
/// it is judged not to show the finding.
pub const MINIMIZE_TRIES: u32 = 3;

/// What `replay` does besides replaying.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplayOptions {
    /// Print each scenario's listing and every finding's evidence.
    pub verbose: bool,
    /// Shrink each reproducer that still fails, and write its minimal form beside it.
    pub minimize: bool,
    /// Run each in-process reproducer again over a socket, against its target served by
    /// `serve`, and say whether its finding shows there.
    pub confirm: bool,
}

/// The finding a reproducer is for: its oracle and kind, or any finding when it has no sidecar.
#[derive(Debug, Clone, Copy)]
struct Expected<'a>(Option<(Oracle, &'a str)>);

impl Expected<'_> {
    fn shown_in(self, verdict: &Verdict) -> Option<&Finding> {
        verdict.findings.iter().find(|f| match self.0 {
            Some((oracle, kind)) => f.oracle == oracle && f.kind == kind,
            None => true,
        })
    }
}

/// Re-runs each reproducer against its target (`target`, else its sidecar's, else the
/// reference) and says whether it still fails. [`Exit::Findings`] when any does. A reproducer
/// for a target that is not deterministic runs up to [`REPLAY_TRIES`] times, until its
/// finding shows again.
pub fn replay(
    files: &[PathBuf],
    target: Option<&RunTarget>,
    limits: &PolicyLimits,
    options: ReplayOptions,
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
        let policy = chosen.policy(limits);
        let mut runner = chosen
            .runner(policy, 0)
            .map_err(|e| Exit::Usage(format!("{spec}: {e}")))?;
        let expected = Expected(
            sidecar
                .as_ref()
                .and_then(|s| Some((Oracle::from_name(&s.oracle)?, s.kind.as_str()))),
        );
        // A probe's finding replays by running the probe again (it repeats its unit of work
        // at three doses itself), once.
        let is_probe = expected.0.is_some_and(|(oracle, kind)| {
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
        let (verdict, tried) = until_shown(tries, expected, || run(&mut runner))?;
        let on_try = on_try(tried, tries);
        let status = match (verdict.findings.first(), expected.shown_in(&verdict)) {
            (None, _) => format!("passes{on_try}"),
            (Some(_), Some(shown)) if expected.0.is_some() => {
                format!("still fails: [{}/{}]{on_try}", shown.oracle, shown.kind)
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
        if options.verbose {
            text += &verbose_text(&verdict);
        }
        // What is minimised or confirmed is the finding the sidecar names, else the first.
        let finding = expected
            .shown_in(&verdict)
            .map(|f| (f.oracle, f.kind))
            .filter(|_| !is_probe);
        if let (true, Some(finding)) = (options.minimize, finding) {
            let sidecar_target = sidecar.as_ref().map_or(spec.clone(), |s| s.target.clone());
            text += &minimize(
                file,
                &sidecar_target,
                runner.as_mut(),
                verdict.scenario.clone(),
                Expected(Some(finding)),
            )?;
        }
        if let (true, Some(finding), RunTarget::InProcess(target)) =
            (options.confirm, finding, &chosen)
        {
            text += &confirm(
                *target,
                &chosen.policy(limits),
                &bytes,
                Expected(Some(finding)),
            )?;
        }
        out.write_all(text.as_bytes())
            .map_err(Exit::io("cannot write the results"))?;
    }
    match failing {
        0 => Ok(()),
        n => Err(Exit::Findings(n)),
    }
}

/// Runs `run` up to `tries` times, until `expected` shows; the last verdict, and the tries.
fn until_shown(
    tries: u32,
    expected: Expected,
    mut run: impl FnMut() -> Result<Verdict, Exit>,
) -> Result<(Verdict, u32), Exit> {
    let mut verdict = run()?;
    let mut tried = 1;
    while tried < tries && expected.shown_in(&verdict).is_none() {
        verdict = run()?;
        tried += 1;
    }
    Ok((verdict, tried))
}

fn on_try(tried: u32, tries: u32) -> String {
    if tried > 1 {
        format!(" (on try {tried} of {tries})")
    } else {
        String::new()
    }
}

/// The listing, the probe's readings and every finding's evidence.
fn verbose_text(verdict: &Verdict) -> String {
    let mut text = format!("{}", verdict.scenario);
    if let Some(probe) = &verdict.probe {
        text += &format!("readings: {}\n", serde_json::json!(probe));
    }
    for finding in &verdict.findings {
        text += &format!(
            "[{}/{}] {}\n  evidence: {}\n",
            finding.oracle, finding.kind, finding.summary, finding.evidence
        );
    }
    text
}

/// Shrinks `scenario` against `runner` to the smallest that still shows `expected` (every
/// candidate tried up to [`MINIMIZE_TRIES`] times on a target that is not deterministic),
/// writes it beside `file` as a reproducer of `target`, and says what it did.
fn minimize(
    file: &Path,
    target: &str,
    runner: &mut dyn Runner,
    scenario: Scenario,
    expected: Expected,
) -> Result<String, Exit> {
    let tries = if runner.deterministic() {
        1
    } else {
        MINIMIZE_TRIES
    };
    let mut shows = |candidate: &Scenario| {
        candidate.to_bytes().is_some()
            && (0..tries).any(|_| {
                expected
                    .shown_in(&runner.run_scenario(candidate.clone()))
                    .is_some()
            })
    };
    // Free text has no byte form: start from the scenario without it when it still shows.
    let start = match scenario.to_bytes() {
        Some(_) => scenario.clone(),
        None => {
            let plain = scenario.without_free_text();
            if !shows(&plain) {
                return Ok(format!(
                    "  cannot minimize: the finding needs free text, which a reproducer file \
                     cannot hold on its own ({} ops kept)\n",
                    scenario.ops.len()
                ));
            }
            plain
        }
    };
    let shrunk = shrink(&start, &mut shows);
    let bytes = shrunk
        .scenario
        .to_bytes()
        .expect("every scenario the shrinker keeps has a byte form");
    // The finding as the minimal scenario shows it, for the sidecar's summary.
    let mut verdict = runner.run_scenario(shrunk.scenario.clone());
    for _ in 1..tries {
        if expected.shown_in(&verdict).is_some() {
            break;
        }
        verdict = runner.run_scenario(shrunk.scenario.clone());
    }
    let Some(finding) = expected.shown_in(&verdict) else {
        return Ok(format!(
            "  cannot minimize: the minimal scenario stopped showing the finding after {} \
             trials\n",
            shrunk.trials
        ));
    };
    let dir = file.parent().unwrap_or(Path::new("."));
    let path = write_reproducer(dir, target, finding, &bytes)
        .map_err(Exit::io(format!("cannot write into {}", dir.display())))?;
    Ok(format!(
        "  minimized from {} to {} ops ({} trials): {}\n{}",
        scenario.ops.len(),
        shrunk.scenario.ops.len(),
        shrunk.trials,
        path.display(),
        shrunk.scenario
    ))
}

/// Serves `target` on a free loopback port (this executable's `serve`), runs `bytes` against
/// it up to [`REPLAY_TRIES`] times, and says whether `expected` shows over the socket.
fn confirm(
    target: TargetSpec,
    policy: &Policy,
    bytes: &[u8],
    expected: Expected,
) -> Result<String, Exit> {
    let exe = std::env::current_exe().map_err(Exit::io("cannot find this executable"))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(Exit::io("no free loopback port"))?
        .port();
    let log = std::env::temp_dir().join(format!(
        "mcp-transport-fuzz-confirm-{}-{port}.log",
        std::process::id()
    ));
    let command = format!(
        "exec '{}' serve --target {target} --port \"$PORT\"",
        exe.display()
    );
    let mut launch = Launch::new(command, &log);
    launch.port = Some(port);
    let served = RunTarget::BlackBox(Endpoint {
        url: format!("http://127.0.0.1:{port}/mcp"),
        launch: Some(launch),
        allow_remote: false,
        probe_dose: 0,
        probe_tools: Vec::new(),
    });
    let mut runner = served
        .runner(*policy, 0)
        .map_err(|e| Exit::Usage(format!("served {target}: {e}")))?;
    let (verdict, tried) = until_shown(REPLAY_TRIES, expected, || Ok(runner.run(bytes)))?;
    drop(runner);
    let _ = fs::remove_file(&log);
    Ok(match expected.shown_in(&verdict) {
        Some(finding) => format!(
            "  over a socket: shows{} ({})\n",
            on_try(tried, REPLAY_TRIES),
            finding.summary
        ),
        None => format!(
            "  over a socket: does not show in {REPLAY_TRIES} tries: in-process only{}\n",
            verdict
                .findings
                .first()
                .map(|f| format!(" (it showed [{}/{}] instead)", f.oracle, f.kind))
                .unwrap_or_default()
        ),
    })
}
