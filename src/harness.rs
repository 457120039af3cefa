//! The harness: scenario bytes in, a trace and its findings out, against a named target.
//!
//! The fuzz targets, the `run` campaign, `replay` and the tests all go through [`Harness`], so
//! a finding made anywhere replays everywhere.

use std::fmt;
use std::str::FromStr;

use crate::oracle::{judge, Finding};
use crate::scenario::executor::Executor;
use crate::scenario::Scenario;
use crate::target::{
    harness_config, harness_policy, reference_target, rmcp_target, Fixture, RmcpVariant, FIXTURES,
};
use crate::trace::{Policy, Trace};

/// A target the harness can build in process, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetSpec {
    /// The reference server: no finding allowed.
    Reference,
    /// The reference with one bug switched on.
    Fixture(&'static Fixture),
    /// rmcp, the official Rust SDK, in process.
    Rmcp(RmcpVariant),
}

impl TargetSpec {
    /// Every in-process target, as `list targets` prints them.
    pub fn all() -> impl Iterator<Item = TargetSpec> {
        std::iter::once(TargetSpec::Reference)
            .chain(RmcpVariant::ALL.into_iter().map(TargetSpec::Rmcp))
            .chain(FIXTURES.iter().map(TargetSpec::Fixture))
    }

    /// The limits it is judged against when the user asserts none: the harness configuration's
    /// for the reference and its fixtures (a fixture breaks a limit, it does not change what is
    /// expected); none for a server that advertises none.
    pub fn default_policy(&self) -> Policy {
        match self {
            TargetSpec::Reference | TargetSpec::Fixture(_) => harness_policy(),
            TargetSpec::Rmcp(_) => Policy::default(),
        }
    }

    /// A line about it.
    pub fn about(&self) -> &'static str {
        match self {
            TargetSpec::Reference => "the reference server, built on the models (must stay clean)",
            TargetSpec::Fixture(fixture) => fixture.about,
            TargetSpec::Rmcp(RmcpVariant::Local) => {
                "rmcp (official Rust SDK) in process, LocalSessionManager without an event store"
            }
            TargetSpec::Rmcp(RmcpVariant::EventStore) => {
                "rmcp (official Rust SDK) in process, LocalSessionManager with an in-memory event store"
            }
        }
    }
}

impl fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetSpec::Reference => f.write_str("reference"),
            TargetSpec::Fixture(fixture) => write!(f, "fixture:{}", fixture.name),
            TargetSpec::Rmcp(variant) => write!(f, "rmcp:{variant}"),
        }
    }
}

/// Why a target name was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetSpecError {
    #[error("unknown fixture {0:?} (see `list fixtures`)")]
    UnknownFixture(String),
    #[error("unknown rmcp variant {0:?}: expected `local` or `event-store`")]
    UnknownVariant(String),
    #[error("unknown target {0:?}: expected `reference`, `rmcp[:VARIANT]` or `fixture:NAME`")]
    Unknown(String),
}

impl FromStr for TargetSpec {
    type Err = TargetSpecError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once(':') {
            None if text == "reference" => Ok(TargetSpec::Reference),
            None if text == "rmcp" => Ok(TargetSpec::Rmcp(RmcpVariant::Local)),
            Some(("rmcp", variant)) => variant
                .parse()
                .map(TargetSpec::Rmcp)
                .map_err(|_| TargetSpecError::UnknownVariant(variant.to_owned())),
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

impl crate::campaign::Runner for Harness {
    fn run(&mut self, bytes: &[u8]) -> Verdict {
        Harness::run(self, bytes)
    }
}

/// Runs scenarios against one in-process target on one reused executor.
#[derive(Debug)]
pub struct Harness {
    spec: TargetSpec,
    policy: Policy,
    executor: Executor,
}

impl Harness {
    /// A harness for `spec`, judged by its [default policy](TargetSpec::default_policy).
    pub fn new(spec: TargetSpec) -> Self {
        Self::with_policy(spec, spec.default_policy())
    }

    /// A harness for `spec`, judged by `policy`.
    pub fn with_policy(spec: TargetSpec, policy: Policy) -> Self {
        Self {
            spec,
            policy,
            executor: Executor::new(),
        }
    }

    pub fn spec(&self) -> TargetSpec {
        self.spec
    }

    /// Runs the scenario `bytes` read as, and judges its trace.
    pub fn run(&mut self, bytes: &[u8]) -> Verdict {
        let scenario = Scenario::from_bytes(bytes);
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
            scenario,
            trace,
            findings,
        }
    }
}
