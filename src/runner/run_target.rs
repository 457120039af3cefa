//! What `run` and `replay` drive, chosen by the user: a target built in process, or a server
//! behind a socket; and the limits the user asserts for it.

use std::time::Duration;

use super::{
    BlackBoxRunner, Endpoint, InProcessRunner, Runner, RunnerError, TargetSpec, TargetSpecError,
};
use crate::model::Millis;
use crate::scenario::Era;
use crate::trace::Policy;

/// What `run` drives.
#[derive(Debug, Clone)]
pub enum RunTarget {
    /// A target built in process (the reference, a fixture, rmcp).
    InProcess(TargetSpec),
    /// A server behind a socket.
    BlackBox(Endpoint),
}

impl RunTarget {
    /// Its name in reports and sidecars: `reference`, `fixture:NAME`, `rmcp:VARIANT`, a URL.
    pub fn name(&self) -> String {
        match self {
            RunTarget::InProcess(spec) => spec.to_string(),
            RunTarget::BlackBox(endpoint) => endpoint.url.clone(),
        }
    }

    /// The limits it is judged against, with the user's assertions on top.
    pub fn policy(&self, limits: &PolicyLimits) -> Policy {
        limits.apply(match self {
            RunTarget::InProcess(spec) => spec.default_policy(),
            RunTarget::BlackBox(_) => Policy::default(),
        })
    }

    /// The runner of job `job`. Of a server the suite starts, job 0 starts it and the other
    /// jobs connect to it once it is up (so only job 0 restarts it and reports crashes).
    pub fn runner(&self, policy: Policy, job: usize) -> Result<Box<dyn Runner>, RunnerError> {
        Ok(match self {
            RunTarget::InProcess(spec) => Box::new(InProcessRunner::with_policy(*spec, policy)),
            RunTarget::BlackBox(endpoint) => match &endpoint.launch {
                Some(launch) if job > 0 => {
                    let started_by_job_0 = Endpoint {
                        launch: None,
                        probe_dose: 0,
                        probe_tools: Vec::new(),
                        ..endpoint.clone()
                    };
                    let until = std::time::Instant::now() + launch.start_deadline;
                    loop {
                        match BlackBoxRunner::connect(&started_by_job_0, policy) {
                            Ok(runner) => break Box::new(runner),
                            Err(_) if std::time::Instant::now() < until => {
                                std::thread::sleep(Duration::from_millis(100));
                            }
                            Err(error) => return Err(error),
                        }
                    }
                }
                _ => Box::new(BlackBoxRunner::connect(endpoint, policy)?),
            },
        })
    }

    /// The target a sidecar names: an in-process target, or a URL (a server the user runs).
    pub fn from_sidecar(name: &str) -> Result<RunTarget, TargetSpecError> {
        if name.starts_with("http://") || name.starts_with("https://") {
            return Ok(RunTarget::BlackBox(Endpoint {
                url: name.to_owned(),
                launch: None,
                allow_remote: false,
                probe_dose: 0,
                probe_tools: Vec::new(),
                group: Default::default(),
            }));
        }
        name.parse().map(RunTarget::InProcess)
    }
}

/// Policy limits the user asserts for a target that does not advertise them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyLimits {
    /// `--max-stream-bytes`: the most bytes one response stream may carry.
    pub max_stream_bytes: Option<u64>,
    /// `--idle-timeout`: the longest a stream may go without the server writing.
    pub idle_timeout: Option<Millis>,
    /// `--max-duration`: the longest a stream may stay open.
    pub max_duration: Option<Millis>,
    /// `--hardening`: report what careful servers do beyond the specification too.
    pub hardening: bool,
    /// `--max-request-bytes`: the largest request body a server should take.
    pub max_request_bytes: Option<u64>,
    /// `--probe-streams`: how many streams a flood opens for one principal.
    pub probe_streams: Option<u32>,
    /// `--max-streams-per-principal`: the most concurrent streams of one principal.
    pub max_streams_per_principal: Option<u32>,
    /// `--era`: the protocol era the run speaks.
    pub era: Era,
}

impl PolicyLimits {
    /// `policy` with these assertions on top: each limit given replaces the policy's own, and
    /// the era and whether hardening findings are reported are always these.
    pub fn apply(&self, mut policy: Policy) -> Policy {
        if let Some(bytes) = self.max_stream_bytes {
            policy.max_stream_bytes = Some(bytes);
        }
        if let Some(idle) = self.idle_timeout {
            policy.idle_timeout = Some(idle);
        }
        if let Some(duration) = self.max_duration {
            policy.max_duration = Some(duration);
        }
        policy.hardening = self.hardening;
        if let Some(bytes) = self.max_request_bytes {
            policy.max_request_bytes = bytes;
        }
        if let Some(streams) = self.probe_streams {
            policy.probe_streams = streams;
        }
        if let Some(cap) = self.max_streams_per_principal {
            policy.max_streams_per_principal = Some(cap);
        }
        policy.era = self.era;
        policy
    }
}
