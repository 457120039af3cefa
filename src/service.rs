//! Fuzz a Streamable HTTP service of your own from a test: the library entry point.
//!
//! [`Fuzz`] takes a function that builds the service (any tower `Service` over `http`
//! requests: an rmcp `StreamableHttpService`, an axum `Router`, a hand-written one), runs a
//! campaign against fresh instances of it in process, on a paused clock (the same seed and
//! budget give the same findings), and returns a [`Fuzzed`] that a test asserts on. Each
//! finding names its rule and level, and its reproducer is written for [`Fuzz::replay`] to
//! turn into a regression test.
//!
//! ```no_run
//! # fn make_service() -> tower::util::BoxCloneService<http::Request<mcp_transport_fuzz::adapter::RequestBody>, http::Response<String>, std::convert::Infallible> { unimplemented!() }
//! use mcp_transport_fuzz::oracle::Level;
//! use mcp_transport_fuzz::service::Fuzz;
//!
//! let fuzzed = Fuzz::service(make_service).scenarios(500).seed(1).run().unwrap();
//! fuzzed.assert_none_at(Level::Must);
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, Uri};
use tower_service::Service;

use crate::adapter::{BoxError, RequestBody, ENDPOINT};
use crate::campaign::{self, Budget, Plan, Summary};
use crate::oracle::{Finding, Level};
use crate::report::write_reproducer;
use crate::runner::{PolicyLimits, Runner, RunnerError, ServiceRunner};
use crate::scenario::Era;
use crate::trace::Policy;

/// The scenarios a [`Fuzz`] runs unless told otherwise: a few seconds of a test's time.
pub const DEFAULT_SCENARIOS: u64 = 1_000;

/// A campaign against a service of your own, built with its options, then [run](Fuzz::run).
pub struct Fuzz<F> {
    name: String,
    endpoint: Uri,
    make: Arc<F>,
    limits: PolicyLimits,
    budget: Budget,
    seed: u64,
    corpus: Vec<Vec<u8>>,
    findings_dir: PathBuf,
    jobs: usize,
    known: Vec<String>,
}

impl<F> fmt::Debug for Fuzz<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fuzz")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .field("limits", &self.limits)
            .field("budget", &self.budget)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

/// Why a campaign or a replay could not run (not what it found).
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    /// The service could not be driven: it listed no tools, say.
    #[error("{name}: {source}")]
    Runner {
        /// The service's name.
        name: String,
        /// What went wrong.
        #[source]
        source: RunnerError,
    },
    /// A reproducer could not be written or read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
}

impl<F, S, B> Fuzz<F>
where
    F: Fn() -> S + Send + Sync + 'static,
    S: Service<Request<RequestBody>, Response = Response<B>> + Clone + 'static,
    S::Future: 'static,
    S::Error: fmt::Display,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    /// A campaign against the services `make` builds (one fresh service per scenario),
    /// serving `http://127.0.0.1/mcp`: both eras, [`DEFAULT_SCENARIOS`] scenarios, seed 0,
    /// no limits asserted, reproducers into `findings/`.
    pub fn service(make: F) -> Self {
        Self {
            name: "service".to_owned(),
            endpoint: Uri::from_static(ENDPOINT),
            make: Arc::new(make),
            limits: PolicyLimits::default(),
            budget: Budget::Scenarios(DEFAULT_SCENARIOS),
            seed: 0,
            corpus: Vec::new(),
            findings_dir: PathBuf::from("findings"),
            jobs: 1,
            known: Vec::new(),
        }
    }

    /// The service's name in findings and reproducers' sidecars.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The endpoint the service serves: its path is where requests go, its authority the
    /// `Host` they carry.
    pub fn endpoint(mut self, endpoint: Uri) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// The protocol era to speak (default [`Era::Both`]).
    pub fn era(mut self, era: Era) -> Self {
        self.limits.era = era;
        self
    }

    /// The limits the service is judged against (byte cap, idle and duration limits, request
    /// size, streams per principal, hardening), as `run`'s options assert them. Their era
    /// replaces the one [`Fuzz::era`] set.
    pub fn limits(mut self, limits: PolicyLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Stop after this many scenarios (the default budget, and the deterministic one).
    pub fn scenarios(mut self, scenarios: u64) -> Self {
        self.budget = Budget::Scenarios(scenarios);
        self
    }

    /// Stop after this much wall time instead (what it finds then depends on the machine).
    pub fn duration(mut self, duration: Duration) -> Self {
        self.budget = Budget::Duration(duration);
        self
    }

    /// The seed of the scenario generator: the same seed runs the same scenarios.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Seed inputs, run first and mutated (scenario bytes, such as reproducers); without any,
    /// the built-in seed scenarios.
    pub fn corpus(mut self, inputs: Vec<Vec<u8>>) -> Self {
        self.corpus = inputs;
        self
    }

    /// Where reproducers go (default `findings/`, relative to the working directory).
    pub fn findings_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.findings_dir = dir.into();
        self
    }

    /// Parallel jobs, one thread each (default 1). More jobs make a duration budget find more;
    /// with a scenario budget, which job runs which scenario depends on timing.
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs.max(1);
        self
    }

    /// Findings already triaged, as `oracle/kind` (`id-uniqueness/duplicate-id`): still
    /// found and listed, but [`Fuzzed::failing`] and [`Fuzzed::assert_none_at`] pass them.
    pub fn known<I>(mut self, known: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.known = known.into_iter().map(Into::into).collect();
        self
    }

    fn policy(&self) -> Policy {
        self.limits.apply(Policy::default())
    }

    fn runner(&self) -> Result<ServiceRunner<F>, FuzzError> {
        ServiceRunner::new(
            self.name.clone(),
            self.endpoint.clone(),
            self.make.clone(),
            self.policy(),
        )
        .map_err(|source| FuzzError::Runner {
            name: self.name.clone(),
            source,
        })
    }

    /// Runs the campaign, and writes a reproducer of each finding (with its sidecar) into the
    /// findings folder.
    pub fn run(&self) -> Result<Fuzzed, FuzzError> {
        let plan = Plan {
            budget: self.budget,
            until: None,
            seed: self.seed,
            corpus: self.corpus.clone(),
            jobs: self.jobs,
        };
        let make_runner = |_job: usize| -> Result<Box<dyn Runner>, RunnerError> {
            self.runner()
                .map(|runner| Box::new(runner) as Box<dyn Runner>)
                .map_err(|error| match error {
                    FuzzError::Runner { source, .. } => source,
                    FuzzError::Io { .. } => unreachable!("making a runner writes no file"),
                })
        };
        let summary = campaign::run(&plan, &make_runner, |_| {}, |_| {}).map_err(|source| {
            FuzzError::Runner {
                name: self.name.clone(),
                source,
            }
        })?;
        let reproducers = summary
            .findings
            .iter()
            .map(|found| {
                write_reproducer(&self.findings_dir, &self.name, &found.finding, &found.input)
                    .map_err(|source| FuzzError::Io {
                        path: self.findings_dir.clone(),
                        source,
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Fuzzed {
            name: self.name.clone(),
            summary,
            reproducers,
            known: self.known.clone(),
        })
    }

    /// The findings the reproducer at `path` (scenario bytes a [`Fuzz::run`] wrote) shows on a
    /// fresh service: none once its bug is fixed. On a paused clock, one run says it all.
    pub fn replay(&self, path: impl AsRef<Path>) -> Result<Vec<Finding>, FuzzError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| FuzzError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(self.runner()?.run(&bytes).findings)
    }
}

/// What a campaign found.
#[derive(Debug)]
pub struct Fuzzed {
    name: String,
    /// What the campaign did: scenarios, requests, and one finding per oracle and kind.
    pub summary: Summary,
    /// The reproducer of each finding of `summary.findings`, in the same order.
    pub reproducers: Vec<PathBuf>,
    known: Vec<String>,
}

impl Fuzzed {
    /// Every finding, in the order they were first seen.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.summary.findings.iter().map(|found| &found.finding)
    }

    /// The findings whose rule is at `level` or stronger (`Level::Should` takes must and
    /// should findings).
    pub fn at_or_above(&self, level: Level) -> Vec<&Finding> {
        self.findings()
            .filter(|finding| finding.level() <= level)
            .collect()
    }

    /// Whether `finding` is one of the [known](Fuzz::known) ones.
    pub fn is_known(&self, finding: &Finding) -> bool {
        let name = format!("{}/{}", finding.oracle, finding.kind);
        self.known.contains(&name)
    }

    /// The findings at `level` or stronger that are not [known](Fuzz::known).
    pub fn failing(&self, level: Level) -> Vec<&Finding> {
        self.at_or_above(level)
            .into_iter()
            .filter(|finding| !self.is_known(finding))
            .collect()
    }

    /// Panics, listing every finding, if one at `level` or stronger is not known.
    #[track_caller]
    pub fn assert_none_at(&self, level: Level) {
        if !self.failing(level).is_empty() {
            panic!("{self}");
        }
    }
}

impl fmt::Display for Fuzzed {
    /// One line per finding: its level, oracle and kind, summary, rule and reproducer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} scenarios, {} requests, {} finding(s)",
            self.name,
            self.summary.scenarios,
            self.summary.requests,
            self.summary.findings.len()
        )?;
        for (finding, reproducer) in self.findings().zip(&self.reproducers) {
            let known = if self.is_known(finding) {
                " (known)"
            } else {
                ""
            };
            writeln!(
                f,
                "  {}{known} [{}/{}] {}\n    rule ({}): {}\n    reproducer: {}",
                finding.level(),
                finding.oracle,
                finding.kind,
                finding.summary,
                finding.rule.source,
                finding.rule.text,
                reproducer.display()
            )?;
        }
        Ok(())
    }
}
