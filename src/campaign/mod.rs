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
use std::sync::{mpsc, Barrier, Condvar, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::oracle::{Finding, Oracle};
use crate::runner::{Runner, RunnerError};
use crate::trace::Purpose;

/// The most inputs a job's pool keeps; past it, new inputs are still run but no longer kept.
pub const MAX_POOL: usize = 4096;

/// How many times the campaign (all jobs together) tries to confirm findings of one oracle
/// and kind that do not recur.
const MAX_CONFIRM_TRIES: u8 = 8;

/// How often the progress callback runs.
const TICK: Duration = Duration::from_millis(250);

/// Makes the runner of job `n`; an error stops the campaign before it starts.
pub type MakeRunner<'a> = dyn Fn(usize) -> Result<Box<dyn Runner>, RunnerError> + Sync + 'a;

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
    /// When the campaign stops, unless `until` stops it first.
    pub budget: Budget,
    /// Stop as soon as this oracle reports something.
    pub until: Option<Oracle>,
    /// The seed of job 0's mutator; job `n` uses `seed + n`.
    pub seed: u64,
    /// Seed inputs: job 0 runs each as it is first, and every job's pool starts with them.
    pub corpus: Vec<Vec<u8>>,
    /// Jobs run in parallel, one thread each (at least 1).
    pub jobs: usize,
}

/// One deduplicated finding: the first time its oracle and kind were seen.
#[derive(Debug, Clone)]
pub struct Found {
    /// The finding, as its oracle first reported it.
    pub finding: Finding,
    /// The input that produced it.
    pub input: Vec<u8>,
    /// Scenarios run when it was first seen (over all jobs).
    pub scenarios: u64,
    /// Wall time from the start of the campaign to when it was first seen.
    pub elapsed: Duration,
}

/// What a campaign did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Scenarios run, over all jobs.
    pub scenarios: u64,
    /// Requests sent (trace exchanges), over all jobs.
    pub requests: u64,
    /// Wall time the campaign ran.
    pub elapsed: Duration,
    /// Distinct behaviour features seen (summed over jobs).
    pub features: u64,
    /// Kinds of request sent at least once (initialize, call, resume, ...), of [`PURPOSES`].
    pub purposes: u32,
    /// One finding per oracle and kind, in the order they were reported.
    pub findings: Vec<Found>,
    /// Findings of a non-deterministic runner that did not recur when their input ran again
    /// alone (they needed other jobs' traffic, or timing): not reported, kept for a look.
    pub unconfirmed: Vec<Found>,
}

/// The kinds of request a scenario can send, for the coverage figure.
pub const PURPOSES: u32 = 12;

/// Waits, when dropped, until every job has dropped its own.
struct WaitForAll<'a>(&'a Barrier);

impl Drop for WaitForAll<'_> {
    fn drop(&mut self) {
        self.0.wait();
    }
}

/// Whether job 0 made its runner. The other jobs make theirs only after it did (job 0's may
/// start the server they all talk to), and not at all when it could not.
#[derive(Default)]
struct FirstRunner {
    made: Mutex<Option<bool>>,
    changed: Condvar,
}

impl FirstRunner {
    /// Records the outcome; the first one recorded stands.
    fn set(&self, made: bool) {
        let mut state = self.made.lock().unwrap_or_else(PoisonError::into_inner);
        state.get_or_insert(made);
        self.changed.notify_all();
    }

    /// Waits for the outcome.
    fn wait(&self) -> bool {
        let state = self.made.lock().unwrap_or_else(PoisonError::into_inner);
        let state = self
            .changed
            .wait_while(state, |made| made.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        state.unwrap_or(false)
    }
}

/// Records, when dropped, that job 0 made no runner unless it recorded otherwise (so that a
/// panic while making it does not leave the other jobs waiting).
struct Announce<'a>(&'a FirstRunner);

impl Drop for Announce<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// What jobs tell the campaign.
enum Report {
    Found(Found),
    Unconfirmed(Found),
    Failed(RunnerError),
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
    judged: Mutex<Judged>,
}

/// An oracle and a kind of finding.
type FindingKey = (Oracle, &'static str);

/// What the jobs together made of the findings they saw, so that no job confirms again what
/// another one reported (each confirmation pauses every job).
#[derive(Default)]
struct Judged {
    reported: BTreeSet<FindingKey>,
    /// Findings that did not recur when run again, with how often.
    unconfirmed: BTreeMap<FindingKey, u8>,
}

/// Runs `plan`, calling `on_finding` for each new finding and `on_progress` about four times a
/// second, both on the calling thread. Fails when a job's runner cannot be made.
pub fn run(
    plan: &Plan,
    make_runner: &MakeRunner<'_>,
    mut on_finding: impl FnMut(&Found),
    mut on_progress: impl FnMut(&Summary),
) -> Result<Summary, RunnerError> {
    let start = Instant::now();
    let shared = Shared::default();
    let (reports, inbox) = mpsc::channel();
    let mut summary = Summary::default();
    let mut failure = None;
    // No job lets its runner go before every job has finished its last scenario: job 0's
    // runner may own the server the others are still talking to.
    let finished = Barrier::new(plan.jobs.max(1));
    let first = FirstRunner::default();
    std::thread::scope(|scope| {
        for job in 0..plan.jobs.max(1) {
            let reports = reports.clone();
            let shared = &shared;
            let finished = &finished;
            let first = &first;
            scope.spawn(move || {
                // Waits for the other jobs when dropped: here if making the runner panics.
                let mut waiting = Some(WaitForAll(finished));
                // `Err(None)`: job 0 could not make its runner, and said why.
                let made = if job == 0 {
                    let announce = Announce(first);
                    let made = make_runner(0);
                    announce.0.set(made.is_ok());
                    made.map_err(Some)
                } else if first.wait() {
                    make_runner(job).map_err(Some)
                } else {
                    Err(None)
                };
                let mut job = made.map(|runner| Job::new(plan, job, runner, shared, start));
                // Declared after the job, so dropped (also when unwinding) before its runner.
                let _wait = waiting.take();
                match &mut job {
                    Ok(job) => job.run(&reports),
                    Err(error) => {
                        shared.stop.store(true, Ordering::Relaxed);
                        if let Some(error) = error.take() {
                            let _ = reports.send(Report::Failed(error));
                        }
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
                    let key = (found.finding.oracle, found.finding.kind);
                    // Confirmed after all: no longer listed as unconfirmed.
                    summary
                        .unconfirmed
                        .retain(|u| (u.finding.oracle, u.finding.kind) != key);
                    if seen.insert(key) {
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
    /// Whether this job runs its runner's probes first (job 0).
    probes: bool,
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
            probes: job == 0,
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

    /// Whether a finding of `key` is news: not reported yet, nor failed to recur too often.
    fn worth_confirming(&self, key: FindingKey) -> bool {
        let judged = self
            .shared
            .judged
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        !judged.reported.contains(&key)
            && judged.unconfirmed.get(&key).copied().unwrap_or(0) < MAX_CONFIRM_TRIES
    }

    /// Records what confirming a finding of `key` gave.
    fn record(&self, key: FindingKey, confirmed: bool) {
        let mut judged = self
            .shared
            .judged
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if confirmed {
            judged.reported.insert(key);
        } else {
            *judged.unconfirmed.entry(key).or_default() += 1;
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

    /// Runs the runner's resource probes with every other job paused, for at most half of a
    /// time budget, and reports what they find (a probe repeats its unit of work at three
    /// doses, so it needs no confirmation).
    fn probe(&mut self, reports: &mpsc::Sender<Report>) {
        let _alone = self.shared.alone.write().unwrap_or_else(|p| p.into_inner());
        let half = match self.budget {
            Budget::Duration(limit) => limit / 2,
            Budget::Scenarios(_) => Duration::MAX,
        };
        for spec in self.runner.probe_specs() {
            if self.shared.stop.load(Ordering::Relaxed) || self.start.elapsed() >= half {
                break;
            }
            let Some(verdict) = self.runner.probe(&spec) else {
                continue;
            };
            for finding in verdict.findings {
                let key = (finding.oracle, finding.kind);
                if !self.worth_confirming(key) {
                    continue;
                }
                self.record(key, true);
                let found = Found {
                    finding,
                    input: spec.clone(),
                    scenarios: self.shared.scenarios.load(Ordering::Relaxed),
                    elapsed: self.start.elapsed(),
                };
                let _ = reports.send(Report::Found(found));
            }
        }
    }

    fn run(&mut self, reports: &mpsc::Sender<Report>) {
        if self.probes {
            self.probe(reports);
        }
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
                if !self.worth_confirming(key) {
                    continue;
                }
                keep = true;
                let confirmed = self.confirm(&input, &finding);
                self.record(key, confirmed);
                let found = Found {
                    finding,
                    input: input.clone(),
                    scenarios,
                    elapsed: self.start.elapsed(),
                };
                let report = if confirmed {
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
        Purpose::Oversized { .. } => 8,
        Purpose::Discover => 9,
        Purpose::Listen { .. } => 10,
        Purpose::Stateless { .. } => 11,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::runner::Verdict;
    use crate::scenario::Scenario;
    use crate::trace::Trace;

    /// A runner that finds nothing.
    struct Quiet;

    impl Runner for Quiet {
        fn run_scenario(&mut self, scenario: Scenario) -> Verdict {
            Verdict {
                probe: None,
                scenario,
                trace: Trace::default(),
                findings: Vec::new(),
            }
        }
    }

    fn plan(jobs: usize) -> Plan {
        Plan {
            budget: Budget::Scenarios(40),
            until: None,
            seed: 1,
            corpus: Vec::new(),
            jobs,
        }
    }

    #[test]
    fn a_failed_first_runner_fails_the_campaign_at_once() {
        let made = AtomicUsize::new(0);
        let make = |job: usize| -> Result<Box<dyn Runner>, RunnerError> {
            made.fetch_add(1, Ordering::Relaxed);
            if job == 0 {
                Err(RunnerError::NotMcp {
                    server: "http://127.0.0.1:1/mcp".to_owned(),
                    reason: "the server did not start".to_owned(),
                })
            } else {
                Ok(Box::new(Quiet))
            }
        };
        let result = run(&plan(4), &make, |_| {}, |_| {});
        assert_eq!(
            result.err().map(|e| e.to_string()).as_deref(),
            Some("the server did not start")
        );
        assert_eq!(made.load(Ordering::Relaxed), 1, "only job 0 tried");
    }

    #[test]
    fn other_jobs_make_their_runners_after_the_first() {
        let first_made = AtomicBool::new(false);
        let early = AtomicUsize::new(0);
        let make = |job: usize| -> Result<Box<dyn Runner>, RunnerError> {
            if job == 0 {
                std::thread::sleep(Duration::from_millis(50));
                first_made.store(true, Ordering::SeqCst);
            } else if !first_made.load(Ordering::SeqCst) {
                early.fetch_add(1, Ordering::SeqCst);
            }
            Ok(Box::new(Quiet))
        };
        let summary = run(&plan(3), &make, |_| {}, |_| {}).expect("every runner is made");
        assert_eq!(summary.scenarios, 40);
        assert_eq!(early.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_panic_while_making_the_first_runner_does_not_hang_the_others() {
        let make = |job: usize| -> Result<Box<dyn Runner>, RunnerError> {
            if job == 0 {
                panic!("job 0 cannot make its runner");
            }
            Ok(Box::new(Quiet))
        };
        let outcome = std::panic::catch_unwind(|| run(&plan(2), &make, |_| {}, |_| {}));
        assert!(outcome.is_err(), "the panic reaches the caller");
    }
}
