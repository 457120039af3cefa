//! The black-box runner: scenarios against a server behind a socket, in real time.
//!
//! A [`BlackBoxRunner`] owns an [`HttpTarget`] (which may own the server's process, restarting it
//! when it dies) and a current-thread tokio runtime with real time. Before the first scenario
//! it asks the server for its tools (`tools/list`), so that tool calls use the server's own
//! tools and argument schemas ([`ToolCatalog`]). Every request and every scenario runs under
//! the real-time [`Deadlines`]; a crash of a server the target started is a `liveness` finding of the
//! scenario that was running.

use serde_json::json;
use tokio::runtime::{Builder, Runtime};

use super::listing::{listing_eras, listing_scenario, tools_listed};
use super::{Runner, RunnerError, Verdict};
use crate::adapter::{HttpTarget, Launch, ServerGroup, Target};
use crate::executor::{execute, execute_with_tools, Deadlines, ToolCatalog};
use crate::oracle::{judge, judge_one, judge_probe, Finding, Oracle, Severity};
use crate::probe::{ProbeSpec, Prober};
use crate::scenario::Scenario;
use crate::trace::{Policy, Trace};

/// Where the server is, and whether the suite starts it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The MCP endpoint, e.g. `http://127.0.0.1:3001/mcp`.
    pub url: String,
    /// The command that starts the server, if the suite should.
    pub launch: Option<Launch>,
    /// Allow a server that is not on loopback.
    pub allow_remote: bool,
    /// N of the resource probes that job 0 runs before fuzzing a server it started (0: none).
    pub probe_dose: u32,
    /// The tools the probes call; empty: every tool the server lists.
    pub probe_tools: Vec<String>,
    /// The server's group, shared by the jobs of one run: the job that starts the server
    /// keeps it current, and every job reads the server's memory high-water mark through it.
    pub group: ServerGroup,
}

/// Runs scenarios against one server behind a socket.
pub struct BlackBoxRunner {
    runtime: Runtime,
    target: HttpTarget,
    policy: Policy,
    tools: ToolCatalog,
    /// N of the dose probes; 0 runs no probe.
    probe_dose: u32,
    /// The tools the probes call; empty: every tool.
    probe_tools: Vec<String>,
}

impl BlackBoxRunner {
    /// Connects to (or starts) the server and learns its tools. Errors are one line.
    /// The endpoint's `probe_dose` and `probe_tools` say which resource probes it runs (when
    /// the suite started the server and can read its process group).
    pub fn connect(endpoint: &Endpoint, policy: Policy) -> Result<Self, RunnerError> {
        let runtime = Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(RunnerError::Runtime)?;
        let target = runtime.block_on(async {
            match &endpoint.launch {
                Some(launch) => {
                    HttpTarget::launch(&endpoint.url, endpoint.allow_remote, launch.clone())
                }
                None => HttpTarget::new(&endpoint.url, endpoint.allow_remote).map_err(Into::into),
            }
            .map(|target| target.sharing(endpoint.group.clone()))
        })?;
        let mut black_box = Self {
            runtime,
            target,
            policy,
            tools: ToolCatalog::builtin(),
            probe_dose: endpoint.probe_dose,
            probe_tools: endpoint.probe_tools.clone(),
        };
        black_box.tools = black_box.discover_tools()?.in_real_time();
        Ok(black_box)
    }

    /// The port of the Node inspector of the server this runner started, if it asked for one.
    fn inspector(&self) -> Option<u16> {
        self.target.process()?.launch().node_inspect
    }

    /// The tools the server lists: initialize, `notifications/initialized`, `tools/list`,
    /// DELETE, in real time; in a 2026-only run `server/discover` and a stateless `tools/list`
    /// first (and the session way after them, so that a server that does not speak 2026-07-28
    /// can still be fuzzed, and judged on how it refuses that revision). A server that does
    /// not answer is an error (it is unreachable or not an MCP server); a crash during it too.
    fn discover_tools(&mut self) -> Result<ToolCatalog, RunnerError> {
        let mut reason = String::new();
        for era in listing_eras(self.policy.era) {
            let policy = Policy { era, ..self.policy };
            let trace = self.runtime.block_on(execute(
                &mut self.target,
                &listing_scenario(era),
                policy,
                Deadlines::real_time(),
            ));
            if let Some(crash) = self.target.take_crashes().into_iter().next() {
                return Err(RunnerError::CrashedListingTools { crash });
            }
            match tools_listed(&trace) {
                Ok(tools) => return Ok(tools),
                Err(why) => reason = why,
            }
        }
        Err(RunnerError::NotMcp {
            server: self.target.name().to_owned(),
            reason,
        })
    }
}

impl Runner for BlackBoxRunner {
    fn run_scenario(&mut self, scenario: Scenario) -> Verdict {
        let trace = self.runtime.block_on(execute_with_tools(
            &mut self.target,
            &scenario,
            self.policy,
            Deadlines::real_time(),
            &self.tools,
        ));
        let mut findings = judge(&trace);
        for crash in self.target.take_crashes() {
            findings.push(Finding::new(
                Oracle::Liveness,
                Severity::Critical,
                "crashed",
                format!("the server crashed during the scenario: {crash}"),
                json!({ "crash": crash, "target": self.target.name() }),
                None,
            ));
        }
        Verdict {
            scenario,
            trace,
            findings,
            probe: None,
        }
    }

    fn deterministic(&self) -> bool {
        false
    }

    fn probe_specs(&mut self) -> Vec<Vec<u8>> {
        if self.probe_dose == 0 {
            return Vec::new();
        }
        let inspector = self.inspector();
        let mut prober = Prober::new(&mut self.target, &self.tools, self.policy, inspector);
        if !prober.can_probe() {
            return Vec::new();
        }
        let specs = self
            .runtime
            .block_on(prober.plan(self.probe_dose, &self.probe_tools));
        specs.iter().map(ProbeSpec::to_bytes).collect()
    }

    fn probe(&mut self, spec: &[u8]) -> Option<Verdict> {
        let spec = ProbeSpec::from_bytes(spec)?;
        let inspector = self.inspector();
        let mut prober = Prober::new(&mut self.target, &self.tools, self.policy, inspector);
        if !prober.can_probe() {
            return None;
        }
        let run = self.runtime.block_on(prober.run(&spec));
        let mut findings = judge_probe(&run.probe, &self.policy);
        if let Some(control) = &run.control {
            findings.extend(judge_one(Oracle::ByteCap, control));
        }
        for finding in &mut findings {
            finding.evidence["probe"] = serde_json::json!(spec);
            finding.evidence["probe_trace"] = serde_json::json!(run.probe);
        }
        let trace = run.control.unwrap_or_else(|| Trace {
            server: self.target.name().to_owned(),
            policy: self.policy,
            ..Trace::default()
        });
        Some(Verdict {
            scenario: run.scenario,
            trace,
            findings,
            probe: Some(run.probe),
        })
    }
}
