//! `replay --confirm`: an in-process target served by this executable's `serve` on a free
//! loopback port, in real time, so that an in-process finding can be tried over a real socket.

use std::fs;
use std::path::PathBuf;

use super::replay::{Expected, REPLAY_TRIES};
use super::Exit;
use crate::adapter::Launch;
use crate::runner::{Endpoint, RunTarget, Runner, TargetSpec};
use crate::scenario::Scenario;
use crate::trace::Policy;

/// An in-process target served over a socket, with a black-box runner connected to it; the
/// server is stopped (and its log removed) when this is dropped.
pub(super) struct Served {
    runner: Box<dyn Runner>,
    log: PathBuf,
}

impl Served {
    /// Serves `target`, judged by `policy` (the in-process target's own).
    pub(super) fn start(target: TargetSpec, policy: Policy) -> Result<Self, Exit> {
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
            group: Default::default(),
        });
        let runner = served
            .runner(policy, 0)
            .map_err(|e| Exit::Usage(format!("served {target}: {e}")))?;
        Ok(Self { runner, log })
    }

    /// In how many of `tries` runs of `scenario` over the socket `expected` showed.
    pub(super) fn shows(&mut self, scenario: &Scenario, expected: Expected, tries: u32) -> u32 {
        (0..tries)
            .filter(|_| {
                let verdict = self.runner.run_scenario(scenario.clone());
                expected.shown_in(&verdict).is_some()
            })
            .count() as u32
    }

    /// Runs `scenario` [`REPLAY_TRIES`] times over the socket and says in how many `expected`
    /// showed (a server in real time may show a race in some tries only).
    pub(super) fn confirm(&mut self, scenario: &Scenario, expected: Expected) -> String {
        let mut shown = 0;
        let mut example = None;
        let mut instead = None;
        for _ in 0..REPLAY_TRIES {
            let verdict = self.runner.run_scenario(scenario.clone());
            match expected.shown_in(&verdict) {
                Some(finding) => {
                    shown += 1;
                    example.get_or_insert_with(|| finding.summary.clone());
                }
                None => {
                    instead = instead.or_else(|| {
                        let first = verdict.findings.first()?;
                        Some(format!(
                            " (it showed [{}/{}] instead)",
                            first.oracle, first.kind
                        ))
                    });
                }
            }
        }
        match example {
            Some(summary) => {
                format!("  over a socket: shows in {shown} of {REPLAY_TRIES} tries ({summary})\n")
            }
            None => format!(
                "  over a socket: does not show in {REPLAY_TRIES} tries: in-process only{}\n",
                instead.unwrap_or_default()
            ),
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.log);
    }
}
