//! The in-process runner: scenario bytes in, a trace and its findings out, against a target
//! built in this process ([`TargetSpec`]) on a paused-clock runtime.
//!
//! The fuzz targets, the `run` campaign, `replay` and the tests all go through
//! [`InProcessRunner`], so a finding made anywhere replays everywhere: the same bytes give the
//! same trace and the same findings.

use super::{Runner, TargetSpec, Verdict};
use crate::adapter::{harness_config, reference_target, rmcp_target};
use crate::executor::Executor;
use crate::oracle::judge;
use crate::scenario::Scenario;
use crate::trace::Policy;

impl Runner for InProcessRunner {
    fn run_scenario(&mut self, scenario: Scenario) -> Verdict {
        InProcessRunner::run_scenario(self, scenario)
    }
}

/// Runs scenarios against one in-process target on one reused executor.
#[derive(Debug)]
pub struct InProcessRunner {
    spec: TargetSpec,
    policy: Policy,
    executor: Executor,
}

impl InProcessRunner {
    /// A runner for `spec`, judged by its [default policy](TargetSpec::default_policy).
    pub fn new(spec: TargetSpec) -> Self {
        Self::with_policy(spec, spec.default_policy())
    }

    /// A runner for `spec`, judged by `policy`.
    pub fn with_policy(spec: TargetSpec, policy: Policy) -> Self {
        Self {
            spec,
            policy,
            executor: Executor::new(),
        }
    }

    /// The target this runner drives.
    pub fn spec(&self) -> TargetSpec {
        self.spec
    }

    /// Runs the scenario `bytes` read as, and judges its trace.
    pub fn run(&mut self, bytes: &[u8]) -> Verdict {
        self.run_scenario(Scenario::from_bytes(bytes))
    }

    /// Runs `scenario`, and judges its trace.
    pub fn run_scenario(&mut self, scenario: Scenario) -> Verdict {
        let name = self.spec.to_string();
        let reference = |config| {
            move || reference_target(&name, config).expect("the harness configuration is valid")
        };
        let trace = match self.spec {
            TargetSpec::Reference => {
                self.executor
                    .run(reference(harness_config()), &scenario, self.policy)
            }
            TargetSpec::Fixture(fixture) => self.executor.run(
                reference(fixture.apply(harness_config())),
                &scenario,
                self.policy,
            ),
            TargetSpec::Rmcp(variant) => {
                self.executor
                    .run(|| rmcp_target(variant), &scenario, self.policy)
            }
        };
        let findings = judge(&trace);
        Verdict {
            probe: None,
            scenario,
            trace,
            findings,
        }
    }
}
