//! In-process targets by name: `reference`, `fixture:NAME`, `rmcp[:VARIANT]`.

use std::fmt;
use std::str::FromStr;

use crate::adapter::{harness_policy, RmcpVariant};
use crate::fixture::{Fixture, FIXTURES};
use crate::trace::Policy;

/// A target the in-process runner can build, by name.
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
            TargetSpec::Rmcp(RmcpVariant::Stateless) => {
                "rmcp (official Rust SDK) in process, legacy session mode off: stateless 2026-07-28 only"
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
    /// `fixture:NAME` names no fixture; holds the name.
    #[error("unknown fixture {0:?} (see `list fixtures`)")]
    UnknownFixture(String),
    /// `rmcp:VARIANT` names a variant other than `local`, `event-store` or `stateless`; holds
    /// the variant.
    #[error("unknown rmcp variant {0:?}: expected `local`, `event-store` or `stateless`")]
    UnknownVariant(String),
    /// The name is none of `reference`, `rmcp[:VARIANT]` or `fixture:NAME`; holds it whole.
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
