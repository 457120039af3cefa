//! The `run` campaign: generated scenarios against one target, on one or more jobs, with
//! deduplicated findings.
//!
//! Each job has its own [`Runner`] (so its own runtime and, in process, its own target) and its
//! own [`Mutator`], seeded `seed + job`, over a pool that starts as the seed corpus (run as it
//! is by job 0) and grows with every input whose trace shows something new (a new [`features`]
//! value) or produced a finding. Findings are deduplicated by oracle and kind across jobs. With
//! one job and a scenario budget, the same seed and corpus always run the same scenarios.

mod features;
mod mutate;

pub use features::features;
pub use mutate::{Mutator, MAX_INPUT_BYTES};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Barrier, RwLock};
use std::time::{Duration, Instant};

use crate::harness::Verdict;
use crate::oracle::{Finding, Oracle};
use crate::trace::Purpose;

/// The most inputs a job's pool keeps; past it, new inputs are still run but no longer kept.
pub const MAX_POOL: usize = 4096;

/// How many times a job tries to confirm findings of one oracle and kind that do not recur.
const MAX_CONFIRM_TRIES: u8 = 3;

/// How often the progress callback runs.
const TICK: Duration = Duration::from_millis(250);

/// Something that runs scenario bytes against a target and judges the trace.
pub trait Runner {
    fn run(&mut self, bytes: &[u8]) -> Verdict;

    /// Whether the same bytes always give the same verdict (in process, on virtual time).
    /// When not (a server behind a socket, in real time, shared by every job), the campaign
    /// reports a finding only after running its input again alone, with the other jobs
    /// paused, and seeing the same oracle and kind again.
    fn deterministic(&self) -> bool {
        true
    }
}

/// Makes the runner of job `n`; an error stops the campaign before it starts.
pub type MakeRunner<'a> = dyn Fn(usize) -> Result<Box<dyn Runner>, String> + Sync + 'a;

/// When a campaign stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// After this much wall time.
    Duration(Duration),
    /// After this many scenarios (over all jobs).
    Scenarios(u64),
}

/// What a campaign is asked to do.
#[derive(Debug, Clone)]
pub struct Plan {
    pub budget: Budget,
    /// Stop as soon as this oracle reports something.
    pub until: Option<Oracle>,
    pub seed: u64,
    pub corpus: Vec<Vec<u8>>,
    /// Jobs run in parallel, one thread each (at least 1).
    pub jobs: usize,
}

/// One deduplicated finding: the first time its oracle and kind were seen.
#[derive(Debug, Clone)]
pub struct Found {
    pub finding: Finding,
    /// The input that produced it.
    pub input: Vec<u8>,
    /// Scenarios run when it was first seen (over all jobs).
    pub scenarios: u64,
    pub elapsed: Duration,
}

/// What a campaign did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub scenarios: u64,
    pub requests: u64,
    pub elapsed: Duration,
    /// Distinct behaviour features seen (summed over jobs).
    pub features: u64,
    /// Kinds of request sent at least once (initialize, call, resume, ...), of [`PURPOSES`].
    pub purposes: u32,
    pub findings: Vec<Found>,
    /// Findings of a non-deterministic runner that did not recur when their input ran again
    /// alone (they needed other jobs' traffic, or timing): not reported, kept for a look.
    pub unconfirmed: Vec<Found>,
}

/// The kinds of request a scenario can send, for the coverage figure.
pub const PURPOSES: u32 = 8;

/// Waits, when dropped, until every job has dropped its own.
struct WaitForAll<'a>(&'a Barrier);

impl Drop for WaitForAll<'_> {
    fn drop(&mut self) {
        self.0.wait();
    }
}

/// What jobs tell the campaign.
enum Report {
    Found(Found),
    Unconfirmed(Found),
    Failed(String),
}

/// Counters the jobs share.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    /// Scenarios claimed against a [`Budget::Scenarios`].
    claimed: AtomicU64,
    /// Scenarios run to their verdict.
    scenarios: AtomicU64,
    requests: AtomicU64,
    features: AtomicU64,
    purposes: AtomicU64,
    /// Held shared while a job runs a scenario, and exclusively while one confirms a finding.
    alone: RwLock<()>,
}

/// Runs `plan`, calling `on_finding` for each new finding and `on_progress` about four times a
/// second, both on the calling thread. Fails when a job's runner cannot be made.
pub fn run(
    plan: &Plan,
    make_runner: &MakeRunner<'_>,
    mut on_finding: impl FnMut(&Found),
    mut on_progress: impl FnMut(&Summary),
) -> Result<Summary, String> {
    let start = Instant::now();
    let shared = Shared::default();
    let (reports, inbox) = mpsc::channel();
    let mut summary = Summary::default();
    let mut failure = None;
    // No job lets its runner go before every job has finished its last scenario: job 0's
    // runner may own the server the others are still talking to.
    let finished = Barrier::new(plan.jobs.max(1));
    std::thread::scope(|scope| {
        for job in 0..plan.jobs.max(1) {
            let reports = reports.clone();
            let shared = &shared;
            let finished = &finished;
            scope.spawn(move || {
                let mut job =
                    make_runner(job).map(|runner| Job::new(plan, job, runner, shared, start));
                // Declared after the job, so dropped (also when unwinding) before its runner.
                let _wait = WaitForAll(finished);
                match &mut job {
                    Ok(job) => job.run(&reports),
                    Err(error) => {
                        shared.stop.store(true, Ordering::Relaxed);
                        let _ = reports.send(Report::Failed(std::mem::take(error)));
                    }
                }
            });
        }
        drop(reports);
        let mut seen = BTreeSet::new();
        let mut last_tick = Instant::now();
        loop {
            match inbox.recv_timeout(TICK) {
                Ok(Report::Found(found)) => {
                    if seen.insert((found.finding.oracle, found.finding.kind)) {
                        on_finding(&found);
                        if plan.until == Some(found.finding.oracle) {
                            shared.stop.store(true, Ordering::Relaxed);
                        }
                        summary.findings.push(found);
                    }
                }
                Ok(Report::Unconfirmed(found)) => {
                    let key = (found.finding.oracle, found.finding.kind);
                    if !summary
                        .unconfirmed
                        .iter()
                        .any(|u| (u.finding.oracle, u.finding.kind) == key)
                    {
                        summary.unconfirmed.push(found);
                    }
                }
                Ok(Report::Failed(error)) => {
                    failure.get_or_insert(error);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
            if let Budget::Duration(limit) = plan.budget {
                if start.elapsed() >= limit {
                    shared.stop.store(true, Ordering::Relaxed);
                }
            }
            if last_tick.elapsed() >= TICK {
                last_tick = Instant::now();
                shared.fill(&mut summary, start);
                on_progress(&summary);
            }
        }
    });
    shared.fill(&mut summary, start);
    match failure {
        Some(error) => Err(error),
        None => Ok(summary),
    }
}

impl Shared {
    fn fill(&self, summary: &mut Summary, start: Instant) {
        summary.elapsed = start.elapsed();
        summary.scenarios = self.scenarios.load(Ordering::Relaxed);
        summary.requests = self.requests.load(Ordering::Relaxed);
        summary.features = self.features.load(Ordering::Relaxed);
        summary.purposes = self.purposes.load(Ordering::Relaxed).count_ones();
    }
}

/// One job: a runner, a mutator and a pool.
struct Job<'a> {
    runner: Box<dyn Runner>,
    mutator: Mutator,
    pool: Vec<Vec<u8>>,
    /// Inputs of the pool still to run as they are (job 0 runs the seeds first).
    seeds_left: usize,
    budget: Budget,
    shared: &'a Shared,
    start: Instant,
    seen_features: BTreeSet<u64>,
    seen_findings: BTreeSet<(Oracle, &'static str)>,
    /// Findings seen but not confirmed, with how often.
    unconfirmed: BTreeMap<(Oracle, &'static str), u8>,
}

impl<'a> Job<'a> {
    fn new(
        plan: &Plan,
        job: usize,
        runner: Box<dyn Runner>,
        shared: &'a Shared,
        start: Instant,
    ) -> Self {
        Self {
            runner,
            mutator: Mutator::new(plan.seed.wrapping_add(job as u64)),
            pool: plan.corpus.clone(),
            seeds_left: if job == 0 { plan.corpus.len() } else { 0 },
            budget: plan.budget,
            shared,
            start,
            seen_features: BTreeSet::new(),
            seen_findings: BTreeSet::new(),
            unconfirmed: BTreeMap::new(),
        }
    }

    /// Claims the next scenario of the budget, or says it is spent.
    fn claim(&self) -> bool {
        if self.shared.stop.load(Ordering::Relaxed) {
            return false;
        }
        match self.budget {
            Budget::Duration(_) => true,
            Budget::Scenarios(limit) => self.shared.claimed.fetch_add(1, Ordering::Relaxed) < limit,
        }
    }

    /// Whether `finding` recurs when `input` runs again with every other job paused; always
    /// for a deterministic runner.
    fn confirm(&mut self, input: &[u8], finding: &Finding) -> bool {
        if self.runner.deterministic() {
            return true;
        }
        let _alone = self.shared.alone.write().unwrap_or_else(|p| p.into_inner());
        self.runner
            .run(input)
            .findings
            .iter()
            .any(|again| again.oracle == finding.oracle && again.kind == finding.kind)
    }

    fn run(&mut self, reports: &mpsc::Sender<Report>) {
        let seeds = self.seeds_left;
        while self.claim() {
            let input = if self.seeds_left > 0 {
                self.seeds_left -= 1;
                self.pool[seeds - self.seeds_left - 1].clone()
            } else {
                self.mutator.next(&self.pool)
            };
            let verdict = {
                let _shared = self.shared.alone.read().unwrap_or_else(|p| p.into_inner());
                self.runner.run(&input)
            };
            let scenarios = self.shared.scenarios.fetch_add(1, Ordering::Relaxed) + 1;
            self.shared
                .requests
                .fetch_add(verdict.trace.exchanges.len() as u64, Ordering::Relaxed);
            let mut keep = false;
            for feature in features(&verdict.trace) {
                if self.seen_features.insert(feature) {
                    keep = true;
                    self.shared.features.fetch_add(1, Ordering::Relaxed);
                }
            }
            let purposes = verdict.trace.exchanges.iter().fold(0u64, |bits, exchange| {
                bits | 1 << purpose_bit(&exchange.purpose)
            });
            self.shared.purposes.fetch_or(purposes, Ordering::Relaxed);
            for finding in verdict.findings {
                let key = (finding.oracle, finding.kind);
                let tries = self.unconfirmed.get(&key).copied().unwrap_or(0);
                if self.seen_findings.contains(&key) || tries >= MAX_CONFIRM_TRIES {
                    continue;
                }
                keep = true;
                let confirmed = self.confirm(&input, &finding);
                if !confirmed {
                    self.unconfirmed.insert(key, tries + 1);
                }
                let found = Found {
                    finding,
                    input: input.clone(),
                    scenarios,
                    elapsed: self.start.elapsed(),
                };
                let report = if confirmed {
                    self.seen_findings.insert(key);
                    Report::Found(found)
                } else {
                    Report::Unconfirmed(found)
                };
                if reports.send(report).is_err() {
                    return;
                }
            }
            if keep && self.seeds_left == 0 && self.pool.len() < MAX_POOL {
                self.pool.push(input);
            }
        }
    }
}

/// A bit per kind of request, below [`PURPOSES`].
fn purpose_bit(purpose: &Purpose) -> u32 {
    match purpose {
        Purpose::Initialize => 0,
        Purpose::Initialized => 1,
        Purpose::ListTools => 2,
        Purpose::Call { .. } => 3,
        Purpose::Resume => 4,
        Purpose::OpenGet => 5,
        Purpose::Delete => 6,
        Purpose::Misstep(_) => 7,
    }
}
