//! `replay`: reproducers run again against their targets, each said to pass or still fail;
//! with `--minimize`, shrunk to a minimal scenario that still shows its finding; with
//! `--confirm`, an in-process finding tried again over a real socket.

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use super::confirm::Served;
use super::minimize::{minimize, MINIMIZE_TRIES};
use super::Exit;
use crate::oracle::{Finding, Oracle};
use crate::probe::{ProbeSpec, PROBE_FINDINGS};
use crate::report::read_sidecar;
use crate::runner::{PolicyLimits, RunTarget, Runner, TargetSpec, Verdict};

/// How many times `replay` runs a reproducer against a target that is not deterministic (a
/// server in real time, whose ids or timing may be random) before saying that its finding is
/// gone.
pub const REPLAY_TRIES: u32 = 20;

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
pub(super) struct Expected<'a>(pub(super) Option<(Oracle, &'a str)>);

impl Expected<'_> {
    /// The finding of `verdict` that is this one.
    pub(super) fn shown_in(self, verdict: &Verdict) -> Option<&Finding> {
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
        let Some(finding) = finding else {
            out.write_all(text.as_bytes())
                .map_err(Exit::io("cannot write the results"))?;
            continue;
        };
        let expected = Expected(Some(finding));
        let mut served = match (options.confirm, &chosen) {
            (true, RunTarget::InProcess(target)) => Some(Served::start(*target, policy)?),
            _ => None,
        };
        let mut scenario = verdict.scenario.clone();
        if options.minimize {
            // A finding that shows over a socket must still show there once minimal, and in
            // every try when it showed in every try before.
            let over_socket = served
                .as_mut()
                .map(|served| served.shows(&scenario, expected, REPLAY_TRIES))
                .unwrap_or(0);
            let needed = match over_socket {
                0 => None,
                REPLAY_TRIES => Some(MINIMIZE_TRIES),
                _ => Some(1),
            };
            let sidecar_target = sidecar.as_ref().map_or(spec.clone(), |s| s.target.clone());
            let socket = served.as_mut().zip(needed);
            let minimal = minimize(
                file,
                &sidecar_target,
                runner.as_mut(),
                &scenario,
                expected,
                socket,
            )?;
            text += &minimal.report;
            scenario = minimal.scenario;
        }
        if let Some(served) = served.as_mut() {
            text += &served.confirm(&scenario, expected);
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

pub(super) fn on_try(tried: u32, tries: u32) -> String {
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
