//! The `run` campaign: generated scenarios against one in-process target, deduplicated
//! findings with reproducers.
//!
//! Inputs come from the [`Mutator`] over a pool that starts as the seed corpus and grows with
//! every input whose trace shows something new (a new [`features`] value), and with every
//! input that produced a finding. Each scenario runs through the same [`Harness`] as the fuzz
//! targets, so every reproducer replays there too.

mod features;
mod mutate;

pub use features::features;
pub use mutate::{Mutator, MAX_INPUT_BYTES};

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::harness::{Harness, TargetSpec};
use crate::oracle::{Finding, Oracle};

/// The most inputs the pool keeps; past it, new inputs are still run but no longer kept.
pub const MAX_POOL: usize = 4096;

/// When a campaign stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// After this much wall time.
    Duration(Duration),
    /// After this many scenarios.
    Scenarios(u64),
}

/// One deduplicated finding: the first time its oracle and kind were seen.
#[derive(Debug, Clone)]
pub struct Found {
    pub finding: Finding,
    /// The input that produced it.
    pub input: Vec<u8>,
    /// Scenarios run when it was first seen (this one included).
    pub scenarios: u64,
    pub elapsed: Duration,
}

/// What a campaign did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub scenarios: u64,
    pub requests: u64,
    pub elapsed: Duration,
    /// Inputs in the pool at the end (seeds and what the campaign kept).
    pub pool: usize,
    pub findings: Vec<Found>,
}

/// A campaign against one target.
#[derive(Debug)]
pub struct Campaign {
    harness: Harness,
    mutator: Mutator,
    pool: Vec<Vec<u8>>,
    seen_features: BTreeSet<u64>,
    seen_findings: BTreeSet<(Oracle, &'static str)>,
}

impl Campaign {
    /// A campaign on `spec`, drawing inputs from `seed` and starting from `corpus`.
    pub fn new(spec: TargetSpec, seed: u64, corpus: Vec<Vec<u8>>) -> Self {
        Self {
            harness: Harness::new(spec),
            mutator: Mutator::new(seed),
            pool: corpus,
            seen_features: BTreeSet::new(),
            seen_findings: BTreeSet::new(),
        }
    }

    /// Runs until `budget` is spent, or until `until` (if given) reports something: first
    /// every corpus input as it is, then mutations. `on_finding` sees each new finding as it
    /// is found; `on_progress` is called after every scenario with the summary so far.
    pub fn run(
        &mut self,
        budget: Budget,
        until: Option<Oracle>,
        mut on_finding: impl FnMut(&Found),
        mut on_progress: impl FnMut(&Summary),
    ) -> Summary {
        let start = Instant::now();
        let mut summary = Summary::default();
        let seeds = self.pool.len();
        loop {
            summary.elapsed = start.elapsed();
            let done = match budget {
                Budget::Duration(limit) => summary.elapsed >= limit,
                Budget::Scenarios(limit) => summary.scenarios >= limit,
            };
            let reached = until.is_some_and(|oracle| {
                summary
                    .findings
                    .iter()
                    .any(|found| found.finding.oracle == oracle)
            });
            if done || reached {
                break;
            }
            let input = match usize::try_from(summary.scenarios) {
                Ok(n) if n < seeds => self.pool[n].clone(),
                _ => self.mutator.next(&self.pool),
            };
            let verdict = self.harness.run(&input);
            summary.scenarios += 1;
            summary.requests += verdict.trace.exchanges.len() as u64;
            let mut keep = false;
            for feature in features(&verdict.trace) {
                keep |= self.seen_features.insert(feature);
            }
            for finding in verdict.findings {
                if self.seen_findings.insert((finding.oracle, finding.kind)) {
                    keep = true;
                    let found = Found {
                        finding,
                        input: input.clone(),
                        scenarios: summary.scenarios,
                        elapsed: start.elapsed(),
                    };
                    on_finding(&found);
                    summary.findings.push(found);
                }
            }
            if keep && summary.scenarios as usize > seeds && self.pool.len() < MAX_POOL {
                self.pool.push(input);
            }
            summary.pool = self.pool.len();
            on_progress(&summary);
        }
        summary.elapsed = start.elapsed();
        summary
    }
}
