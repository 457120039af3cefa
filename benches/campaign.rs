//! Throughput of the in-process campaign, and how fast it finds each fixture's bug.
//!
//! - `throughput`: the `run` campaign (one job, seed 1, `run`'s default corpus
//!   `corpus/harness_reference`, mutating what it finds) against each in-process target for `SECONDS` of wall time. It is the code a
//!   harness fuzz target runs per input, without libFuzzer and its coverage instrumentation, so
//!   it is the ceiling of that target's exec/s. Each line gives the figure beside the issue's
//!   goal (5 000 for the reference, 2 000 for rmcp) as a ratio:
//!   `target=NAME scenarios_per_s=N requests_per_s=N goal=N ratio=R`
//! - `time_to_find`: for every fixture, the campaign from an empty corpus, one job, seeds 1 to
//!   `SEEDS`, stopping at the first report of the fixture's oracle (60 s at most); the median and
//!   the slowest time to that report, against the 60 s goal (a seed that found nothing counts
//!   as the slowest; `none` where that leaves no figure):
//!   `fixture=NAME oracle=O found=F/SEEDS median_ms=N max_ms=N`
//!
//! Run: `cargo bench --bench campaign` (about 3 minutes), or name one part:
//! `cargo bench --bench campaign -- throughput`; name fixtures to time only them, and set the
//! seeds with `SEEDS`: `SEEDS=15 cargo bench --bench campaign -- time_to_find no-backpressure`.

use std::path::Path;
use std::time::Duration;

use mcp_transport_fuzz::adapter::RmcpVariant;
use mcp_transport_fuzz::campaign::{self, Budget, Plan};
use mcp_transport_fuzz::commands::run::read_corpus;
use mcp_transport_fuzz::fixture::FIXTURES;
use mcp_transport_fuzz::runner::{InProcessRunner, Runner, TargetSpec};

#[global_allocator]
static ALLOCATOR: mcp_transport_fuzz::alloc::Counting = mcp_transport_fuzz::alloc::Counting;

const SECONDS: u64 = 10;
const SEEDS: u64 = 5;
const FIND_LIMIT: Duration = Duration::from_secs(60);

fn campaign(spec: TargetSpec, plan: &Plan) -> campaign::Summary {
    let make_runner = |_job: usize| Ok(Box::new(InProcessRunner::new(spec)) as Box<dyn Runner>);
    campaign::run(plan, &make_runner, |_| {}, |_| {}).expect("in-process runners always build")
}

fn throughput() {
    let targets = [
        (TargetSpec::Reference, 5_000.0),
        (TargetSpec::Rmcp(RmcpVariant::Local), 2_000.0),
        (TargetSpec::Rmcp(RmcpVariant::EventStore), 2_000.0),
    ];
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/harness_reference");
    let corpus = read_corpus(Path::new(folder)).expect("the seed corpus is readable");
    for (spec, goal) in targets {
        let plan = Plan {
            budget: Budget::Duration(Duration::from_secs(SECONDS)),
            until: None,
            seed: 1,
            corpus: corpus.clone(),
            jobs: 1,
        };
        let summary = campaign(spec, &plan);
        let seconds = summary.elapsed.as_secs_f64();
        let scenarios = summary.scenarios as f64 / seconds;
        let requests = summary.requests as f64 / seconds;
        println!(
            "target={spec} scenarios_per_s={scenarios:.0} requests_per_s={requests:.0} goal={goal:.0} ratio={:.2}",
            scenarios / goal
        );
    }
}

/// Time to find, for the fixtures named in `only` (every fixture when it is empty), seeds 1 to
/// `seeds`.
fn time_to_find(only: &[String], seeds: u64) {
    let wanted = FIXTURES
        .iter()
        .filter(|fixture| only.is_empty() || only.iter().any(|name| name == fixture.name));
    for fixture in wanted {
        let mut times: Vec<Duration> = (1..=seeds)
            .filter_map(|seed| {
                let plan = Plan {
                    budget: Budget::Duration(FIND_LIMIT),
                    until: Some(fixture.oracle),
                    seed,
                    corpus: Vec::new(),
                    jobs: 1,
                };
                let summary = campaign(TargetSpec::Fixture(fixture), &plan);
                summary
                    .findings
                    .iter()
                    .find(|found| found.finding.oracle == fixture.oracle)
                    .map(|found| found.elapsed)
            })
            .collect();
        times.sort();
        let found = times.len();
        // A seed that did not find it counts as slower than every seed that did: the median
        // is known while more than half found it, the slowest only when every seed did.
        let millis = |time: Option<&Duration>| {
            time.map_or_else(|| "none".to_owned(), |t| t.as_millis().to_string())
        };
        let median = millis(times.get(seeds as usize / 2));
        let max = millis(times.last().filter(|_| found == seeds as usize));
        println!(
            "fixture={} oracle={} found={found}/{seeds} median_ms={median} max_ms={max}",
            fixture.name, fixture.oracle
        );
    }
}

/// Runs the parts named on the command line (`cargo bench --bench campaign -- throughput`), or
/// all of them. Other words name fixtures, to time only those
/// (`-- time_to_find no-backpressure`); `SEEDS=N` in the environment sets the seeds of
/// `time_to_find` (default 5).
fn main() {
    const PARTS: [&str; 2] = ["throughput", "time_to_find"];
    let words: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let (parts, fixtures): (Vec<String>, Vec<String>) = words
        .into_iter()
        .partition(|word| PARTS.contains(&word.as_str()));
    if let Some(unknown) = fixtures
        .iter()
        .find(|name| !FIXTURES.iter().any(|fixture| fixture.name == name.as_str()))
    {
        eprintln!("campaign: no part or fixture is named {unknown:?}");
        std::process::exit(2);
    }
    let seeds = match std::env::var("SEEDS") {
        Ok(value) => match value.parse::<u64>() {
            Ok(seeds) if seeds > 0 => seeds,
            _ => {
                eprintln!("campaign: SEEDS must be a positive number, not {value:?}");
                std::process::exit(2);
            }
        },
        Err(_) => SEEDS,
    };
    let wanted = |part: &str| parts.is_empty() || parts.iter().any(|p| p == part);
    if wanted("throughput") {
        throughput();
    }
    if wanted("time_to_find") {
        time_to_find(&fixtures, seeds);
    }
}
