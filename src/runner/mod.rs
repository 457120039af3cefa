//! Runners: one scenario against one target, and its verdict.
//!
//! A [`Runner`] turns scenario bytes into a [`Verdict`]: the scenario they read as, the trace
//! the executor recorded, and what the oracles found in it. Two runners, side by side:
//! - [`InProcessRunner`]: a target built in this process by name ([`TargetSpec`]), on a
//!   paused clock, so the same bytes always give the same verdict;
//! - [`BlackBoxRunner`]: a server behind a socket ([`Endpoint`]), in real time.
//!
//! [`RunTarget`] is the user's choice between them. The campaign drives either through the
//! trait; the fuzz targets, `replay` and the tests use them directly.

mod black_box;
mod in_process;
mod listing;
mod run_target;
mod service;
mod spec;

pub use black_box::{BlackBoxRunner, Endpoint};
pub use in_process::InProcessRunner;
pub use run_target::{PolicyLimits, RunTarget};
pub use service::ServiceRunner;
pub use spec::{TargetSpec, TargetSpecError};

use crate::adapter::HttpError;
use crate::oracle::Finding;
use crate::scenario::Scenario;
use crate::trace::{ProbeTrace, Trace};

/// What one scenario run gave.
#[derive(Debug)]
pub struct Verdict {
    /// The scenario the bytes read as.
    pub scenario: Scenario,
    /// What the executor observed.
    pub trace: Trace,
    /// What the oracles found in the trace (and, for a black box, the crashes of its server).
    pub findings: Vec<Finding>,
    /// For a resource probe, its readings (`replay --verbose` prints them).
    pub probe: Option<ProbeTrace>,
}

/// Something that runs scenario bytes against a target and judges the trace.
pub trait Runner {
    /// Runs the scenario `bytes` read as, and judges its trace.
    fn run(&mut self, bytes: &[u8]) -> Verdict {
        self.run_scenario(Scenario::from_bytes(bytes))
    }

    /// Runs `scenario` (one that may have no byte form, such as a shrinker's candidate holding
    /// free text), and judges its trace.
    fn run_scenario(&mut self, scenario: Scenario) -> Verdict;

    /// Whether the same bytes always give the same verdict (in process, on virtual time).
    /// When not (a server behind a socket, in real time, shared by every job), the campaign
    /// reports a finding only after running its input again alone, with the other jobs
    /// paused, and seeing the same oracle and kind again.
    fn deterministic(&self) -> bool {
        true
    }

    /// The resource probes this runner would run before fuzzing, each as its reproducer holds
    /// it; none for a runner that cannot read its server's process group.
    fn probe_specs(&mut self) -> Vec<Vec<u8>> {
        Vec::new()
    }

    /// Runs the probe `spec` (one of [`Runner::probe_specs`], or a reproducer's) and judges
    /// it; `None` when this runner cannot probe or `spec` is not a probe.
    fn probe(&mut self, spec: &[u8]) -> Option<Verdict> {
        let _ = spec;
        None
    }
}

/// Why a runner could not be made. Each message is one line that says what to do.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// The tokio runtime could not be built.
    #[error("cannot build a runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The server's address is not allowed, or its command did not start a server.
    #[error(transparent)]
    Server(#[from] HttpError),
    /// The server the suite started died while it was asked for its tools.
    #[error("the server crashed while listing its tools: {crash}")]
    CrashedListingTools {
        /// What the process reported.
        crash: String,
    },
    /// The server did not answer `initialize` and `tools/list` as an MCP server does. The
    /// message is the reason alone: the caller names the server.
    #[error("{reason}")]
    NotMcp {
        /// The server's URL.
        server: String,
        /// What went wrong, in one line.
        reason: String,
    },
}
