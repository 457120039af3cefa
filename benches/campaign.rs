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
//! - `era_rate`: the same requests (`echo` calls) against rmcp in each era, and the ratio of
//!   the 2026 era's rate to the 2025 era's:
//!   `era=E target=rmcp:local scenarios=N requests_per_s=N`, then `era_ratio=R`.
//!
//! Run: `cargo bench --bench campaign` (about 3 minutes), or name one part:
//! `cargo bench --bench campaign -- throughput`; name fixtures to time only them, and set the
//! seeds with `SEEDS`: `SEEDS=15 cargo bench --bench campaign -- time_to_find no-backpressure`.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, HOST};
use http::{HeaderMap, Request};
use http_body::Frame;
use http_body_util::BodyExt;
use mcp_transport_fuzz::adapter::{rmcp_target, RequestBody, RmcpVariant, Target, ENDPOINT};
use mcp_transport_fuzz::campaign::{self, Budget, Plan};
use mcp_transport_fuzz::commands::run::read_corpus;
use mcp_transport_fuzz::fixture::FIXTURES;
use mcp_transport_fuzz::input::{Piece, Untrusted};
use mcp_transport_fuzz::runner::{InProcessRunner, Runner, TargetSpec};
use mcp_transport_fuzz::scenario::{Deviation, Op, Scenario, Slot, ToolCall, Upload, Version};
use serde_json::{json, Value};

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

/// The same work in each era against rmcp in process (`rmcp:local`, the default service, which
/// answers both): 62 `echo` calls after `initialize` and `notifications/initialized` (2025), or
/// 63 after `server/discover` (2026), run over and over for `SECONDS` each; requests per second
/// in each era, and the 2026 era's as a ratio of the 2025 era's. Unlike two campaigns, whose
/// scenarios differ, this compares one request kind, so the ratio is the cost of a stateless
/// request against a session's (through the executor and every oracle, as `run` pays it).
fn era_rate() {
    let slot = Slot::of_index(0);
    let echo = || ToolCall::Echo {
        text: Untrusted(vec![Piece::Space]),
    };
    let mut sessions = vec![
        Op::Initialize {
            session: slot,
            version: Version::V2025_11_25,
        },
        Op::Initialized { session: slot },
    ];
    sessions.extend((0..62).map(|_| Op::Call {
        session: slot,
        call: echo(),
        upload: Upload {
            chunks: Vec::new(),
            abort_after: None,
        },
    }));
    let mut stateless = vec![Op::Discover { client: slot }];
    stateless.extend((0..63).map(|_| Op::Stateless {
        client: slot,
        call: echo(),
        deviation: Deviation::None,
    }));
    let mut rates = Vec::new();
    for (era, ops) in [("2025", sessions), ("2026", stateless)] {
        let mut runner = InProcessRunner::new(TargetSpec::Rmcp(RmcpVariant::Local));
        let scenario = Scenario { ops };
        let started = Instant::now();
        let (mut scenarios, mut requests) = (0u64, 0u64);
        while started.elapsed() < Duration::from_secs(SECONDS) {
            let verdict = runner.run_scenario(scenario.clone());
            requests += verdict.trace.exchanges.len() as u64;
            scenarios += 1;
        }
        let rate = requests as f64 / started.elapsed().as_secs_f64();
        println!("era={era} target=rmcp:local scenarios={scenarios} requests_per_s={rate:.0}");
        rates.push(rate);
    }
    println!(
        "era_ratio={:.2} (2026 against 2025, same work)",
        rates[1] / rates[0]
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let alone: Vec<f64> = ["2025", "2026"]
        .into_iter()
        .map(|era| {
            let rate = runtime.block_on(rmcp_alone(era == "2026"));
            println!("era={era} target=rmcp:local alone requests_per_s={rate:.0}");
            rate
        })
        .collect();
    println!(
        "era_ratio_alone={:.2} (the same requests straight to rmcp's service: its own ceiling)",
        alone[1] / alone[0]
    );
}

/// The `echo` calls of [`era_rate`] sent straight to rmcp's service for `SECONDS`, each body
/// read to its end, with no executor and no oracle: rmcp's own rate in one era, in requests
/// per second (the 2025 era's `initialize` and `notifications/initialized` counted too).
async fn rmcp_alone(stateless: bool) -> f64 {
    let mut target = rmcp_target(RmcpVariant::Local);
    let started = Instant::now();
    let mut requests = 0u64;
    let mut session = None;
    if !stateless {
        let initialize = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "bench", "version": "0"}}});
        let head = send(&mut target, initialize, &[]).await;
        session = head
            .get("mcp-session-id")
            .and_then(|id| id.to_str().ok())
            .map(str::to_owned);
        let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let id = session.clone().expect("rmcp gives a session id");
        send(&mut target, initialized, &[("mcp-session-id", &id)]).await;
        requests += 2;
    }
    while started.elapsed() < Duration::from_secs(SECONDS) {
        let mut params = json!({"name": "echo", "arguments": {"text": "hello"}});
        let mut headers = vec![("mcp-protocol-version", "2025-11-25")];
        if stateless {
            params["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
            });
            headers = vec![
                ("mcp-protocol-version", "2026-07-28"),
                ("mcp-method", "tools/call"),
                ("mcp-name", "echo"),
                ("mcp-param-text", "hello"),
            ];
        }
        if let Some(id) = &session {
            headers.push(("mcp-session-id", id));
        }
        let call =
            json!({"jsonrpc": "2.0", "id": requests, "method": "tools/call", "params": params});
        send(&mut target, call, &headers).await;
        requests += 1;
    }
    requests as f64 / started.elapsed().as_secs_f64()
}

/// POSTs `message` with `headers` and reads the response body to its end; the head's headers.
async fn send(target: &mut impl Target, message: Value, headers: &[(&str, &str)]) -> HeaderMap {
    let (mut sender, body) = RequestBody::new(1);
    let sent = sender.try_send(Frame::data(Bytes::from(message.to_string())));
    assert!(sent.is_ok(), "a one-frame channel takes one frame");
    drop(sender);
    let mut request = Request::post(ENDPOINT)
        .header(HOST, "127.0.0.1")
        .header(CONTENT_TYPE, "application/json")
        .header(ACCEPT, "application/json, text/event-stream");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(body).expect("a valid request");
    let response = target.call(request).await.expect("rmcp answers");
    let (head, body) = response.into_parts();
    let read = body.collect().await.expect("the body reads to its end");
    assert!(
        head.status.is_success() && (!read.to_bytes().is_empty() || head.status == 202),
        "rmcp refused a bench request: {}",
        head.status
    );
    head.headers
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
    const PARTS: [&str; 3] = ["throughput", "time_to_find", "era_rate"];
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
    if wanted("era_rate") {
        era_rate();
    }
}
