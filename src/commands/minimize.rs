//! `replay --minimize`: a reproducer shrunk to the smallest scenario that still shows its
//! finding, written beside it (the original is kept).

use std::path::Path;

use super::confirm::Served;
use super::replay::Expected;
use super::Exit;
use crate::report::write_reproducer;
use crate::runner::Runner;
use crate::scenario::{shrink, Scenario};

/// How many times a shrinking candidate runs against a target that is not deterministic (or
/// over a socket) before it is judged not to show the finding.
pub(super) const MINIMIZE_TRIES: u32 = 3;

/// What minimising one reproducer gave.
pub(super) struct Minimal {
    /// The minimal scenario (the one given, when it could not be minimised).
    pub(super) scenario: Scenario,
    /// What was done, in lines for the user.
    pub(super) report: String,
}

/// Shrinks `scenario` against `runner` to the smallest that still shows `expected` (each
/// candidate tried up to [`MINIMIZE_TRIES`] times on a target that is not deterministic), and,
/// when `socket` is given with a count, that also shows over it in at least that many of
/// [`MINIMIZE_TRIES`] tries; writes it beside `file` as a reproducer of `target`.
pub(super) fn minimize(
    file: &Path,
    target: &str,
    runner: &mut dyn Runner,
    scenario: &Scenario,
    expected: Expected,
    mut socket: Option<(&mut Served, u32)>,
) -> Result<Minimal, Exit> {
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
            && socket.as_mut().is_none_or(|(served, needed)| {
                served.shows(candidate, expected, MINIMIZE_TRIES) >= *needed
            })
    };
    let kept = |report: String| Minimal {
        scenario: scenario.clone(),
        report,
    };
    // Free text has no byte form: start from the scenario without it when it still shows.
    let start = match scenario.to_bytes() {
        Some(_) => scenario.clone(),
        None => {
            let plain = scenario.without_free_text();
            if !shows(&plain) {
                return Ok(kept(format!(
                    "  cannot minimize: the finding needs free text, which a reproducer file \
                     cannot hold on its own ({} ops kept)\n",
                    scenario.ops.len()
                )));
            }
            plain
        }
    };
    let shrunk = shrink(&start, &mut shows);
    let Some(bytes) = shrunk.scenario.to_bytes() else {
        return Ok(kept("  cannot minimize: no byte form\n".to_owned()));
    };
    // The finding as the minimal scenario shows it, for the sidecar's summary.
    let finding = (0..tries).find_map(|_| {
        let verdict = runner.run_scenario(shrunk.scenario.clone());
        expected.shown_in(&verdict).cloned()
    });
    let Some(finding) = finding else {
        return Ok(kept(format!(
            "  cannot minimize: the minimal scenario stopped showing the finding after {} \
             trials\n",
            shrunk.trials
        )));
    };
    let dir = file.parent().unwrap_or(Path::new("."));
    let path = write_reproducer(dir, target, &finding, &bytes)
        .map_err(Exit::io(format!("cannot write into {}", dir.display())))?;
    Ok(Minimal {
        report: format!(
            "  minimized from {} to {} ops ({} trials): {}\n{}",
            scenario.ops.len(),
            shrunk.scenario.ops.len(),
            shrunk.trials,
            path.display(),
            shrunk.scenario
        ),
        scenario: shrunk.scenario,
    })
}
