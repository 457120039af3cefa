//! The harness: scenario bytes in, a trace and its findings out, against a named target.
//!
//! The fuzz targets, the `run` campaign, `replay` and the tests all go through [`Harness`], so
//! a finding made anywhere replays everywhere.

use std::fmt;
use std::str::FromStr;

use crate::oracle::{judge, Finding};
use crate::scenario::executor::Executor;
use crate::scenario::Scenario;
use crate::target::{harness_config, harness_policy, reference_target, Fixture, FIXTURES};
use crate::trace::{Policy, Trace};

/// A target the harness can build in process, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetSpec {
    /// The reference server: no finding allowed.
    Reference,
    /// The reference with one bug switched on.
    Fixture(&'static Fixture),
}

impl TargetSpec {
    /// Every in-process target, as `list targets` prints them.
    pub fn all() -> impl Iterator<Item = TargetSpec> {
        std::iter::once(TargetSpec::Reference).chain(FIXTURES.iter().map(TargetSpec::Fixture))
    }

    /// A line about it.
    pub fn about(&self) -> &'static str {
        match self {
            TargetSpec::Reference => "the reference server, built on the models (must stay clean)",
            TargetSpec::Fixture(fixture) => fixture.about,
        }
    }
}

impl fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetSpec::Reference => f.write_str("reference"),
            TargetSpec::Fixture(fixture) => write!(f, "fixture:{}", fixture.name),
        }
    }
}

/// Why a target name was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetSpecError {
    #[error("unknown fixture {0:?} (see `list fixtures`)")]
    UnknownFixture(String),
    #[error("unknown target {0:?}: expected `reference` or `fixture:NAME`")]
    Unknown(String),
}

impl FromStr for TargetSpec {
    type Err = TargetSpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once(':') {
            None if text == "reference" => Ok(TargetSpec::Reference),
            Some(("fixture", name)) => Fixture::named(name)
                .map(TargetSpec::Fixture)
                .ok_or_else(|| TargetSpecError::UnknownFixture(name.to_owned())),
            _ => Err(TargetSpecError::Unknown(text.to_owned())),
        }
    }
}

/// What one scenario run gave.
#[derive(Debug)]
pub struct Verdict {
    pub scenario: Scenario,
    pub trace: Trace,
    pub findings: Vec<Finding>,
}

/// Runs scenarios against one in-process target on one reused executor.
#[derive(Debug)]
pub struct Harness {
    spec: TargetSpec,
    policy: Policy,
    executor: Executor,
}

impl Harness {
    /// A harness for `spec`, judged by the reference's harness policy (a fixture breaks a
    /// limit, it does not change what is expected).
    pub fn new(spec: TargetSpec) -> Self {
        Self {
            spec,
            policy: harness_policy(),
            executor: Executor::new(),
        }
    }

    pub fn spec(&self) -> TargetSpec {
        self.spec
    }

    /// Runs the scenario `bytes` read as, and judges its trace.
    pub fn run(&mut self, bytes: &[u8]) -> Verdict {
        let scenario = Scenario::from_bytes(bytes);
        let config = match self.spec {
            TargetSpec::Reference => harness_config(),
            TargetSpec::Fixture(fixture) => fixture.apply(harness_config()),
        };
        let name = self.spec.to_string();
        let trace = self.executor.run(
            || reference_target(&name, config).expect("the harness configuration is valid"),
            &scenario,
            self.policy,
        );
        let findings = judge(&trace);
        Verdict {
            scenario,
            trace,
            findings,
        }
    }
}
