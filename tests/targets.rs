//! The real servers of `targets/` as black boxes: each is installed from its lock files, started
//! by `run --cmd`, fuzzed for a bounded time, and its report and SARIF log are checked; then every
//! reproducer it wrote, and every one kept in `reproducers/NAME/` for the README's findings, is
//! replayed against a fresh server.
//!
//! Ignored by default: they need Node, Python and the package registries. `.ci/run` runs them:
//! `cargo test --release --test targets -- --ignored --test-threads 1`. `MCP_FUZZ_TARGET_SECONDS`
//! sets each campaign's length (30 s by default, at most 120).

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use mcp_transport_fuzz::oracle::Oracle;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mcp-transport-fuzz");

/// How long each campaign runs.
fn campaign_seconds() -> u64 {
    std::env::var("MCP_FUZZ_TARGET_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30)
        .clamp(1, 120)
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("an address").port()
}

/// Runs `command`, killing it if it outlives `limit`.
fn run_bounded(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stdout.read_to_end(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.read_to_end(&mut text);
        text
    });
    let until = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("waitable") {
            break status;
        }
        if Instant::now() > until {
            let _ = child.kill();
            panic!("{command:?} outlived {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out.join().expect("stdout"),
        stderr: err.join().expect("stderr"),
    }
}

fn install(target: &str) {
    let output = run_bounded(
        &mut Command::new(format!("targets/{target}/install.sh")),
        Duration::from_secs(600),
    );
    assert!(
        output.status.success(),
        "targets/{target}/install.sh failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Fuzzes the server `command` starts, checks what the run wrote, and replays its findings.
fn campaign(name: &str, target: &str, command: &str) {
    install(target);
    let dir = std::env::temp_dir().join(format!("mtf-targets-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let url = format!("http://127.0.0.1:{}/mcp", free_port());
    let seconds = campaign_seconds();
    let report = dir.join("report.jsonl");
    let sarif = dir.join("report.sarif");
    let endpoint = [
        "--url",
        &url,
        "--cmd",
        command,
        "--server-log",
        &dir.join("server.log").display().to_string(),
    ]
    .map(str::to_owned);
    let output = run_bounded(
        Command::new(BIN)
            .arg("run")
            .args(&endpoint)
            .args(["--duration", &format!("{seconds}s"), "--seed", "1"])
            // The protocol campaign; the resource probes have tests of their own.
            .args(["--probe-dose", "0"])
            .arg("--report")
            .arg(&report)
            .arg("--sarif")
            .arg(&sarif)
            .arg("--findings-dir")
            .arg(dir.join("findings")),
        Duration::from_secs(seconds + 120),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The summary (scenarios/s, requests/s) and the verdict, for the CI log.
    for line in stderr.lines().filter(|l| l.starts_with("done: ")) {
        println!("{name}: {line}");
    }
    println!("{name}: {}", stderr.lines().last().unwrap_or_default());
    let code = output.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "{name}: exit {code:?}:\n{stderr}"
    );
    assert!(stderr.contains("done: "), "{name}: no summary:\n{stderr}");
    let lines = check_report(name, &report, &url);
    assert_eq!(
        code == Some(1),
        !lines.is_empty(),
        "{name}: exit 1 exactly when findings are reported"
    );
    check_sarif(name, &sarif, lines.len());
    for line in &lines {
        println!(
            "{name}: [{}/{}] {}",
            line["oracle"].as_str().unwrap_or_default(),
            line["kind"].as_str().unwrap_or_default(),
            line["summary"].as_str().unwrap_or_default()
        );
    }
    let mut files: Vec<PathBuf> = lines
        .iter()
        .filter_map(|line| line["reproducer"].as_str())
        .map(PathBuf::from)
        .collect();
    files.extend(known_reproducers(name));
    replay(name, &endpoint, &files);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every line is a finding with the fields the harness promises; returns them.
fn check_report(name: &str, report: &Path, url: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(report).expect("the report was written");
    let oracles: Vec<&str> = Oracle::ALL.iter().map(|oracle| oracle.name()).collect();
    text.lines()
        .map(|line| {
            let finding: Value = serde_json::from_str(line).expect("each line is JSON");
            let oracle = finding["oracle"].as_str().unwrap_or_default();
            assert!(oracles.contains(&oracle), "{name}: oracle {oracle:?}");
            for field in ["severity", "level", "summary", "kind", "reproducer"] {
                assert!(
                    finding[field].as_str().is_some_and(|s| !s.is_empty()),
                    "{name}: {field} in {line}"
                );
            }
            assert!(!finding["evidence"].is_null(), "{name}: evidence in {line}");
            assert!(
                finding["rule"]["text"]
                    .as_str()
                    .is_some_and(|t| !t.is_empty()),
                "{name}: rule in {line}"
            );
            assert_ne!(
                finding["level"], "hardening",
                "{name}: hardening is off by default"
            );
            assert_eq!(finding["target"], url, "{name}: target in {line}");
            let reproducer = PathBuf::from(finding["reproducer"].as_str().unwrap_or_default());
            assert!(
                reproducer.is_file(),
                "{name}: {} exists",
                reproducer.display()
            );
            finding
        })
        .collect()
}

fn check_sarif(name: &str, sarif: &Path, findings: usize) {
    let schema: Value = serde_json::from_str(include_str!("data/sarif-schema-2.1.0.json"))
        .expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let log: Value = serde_json::from_str(&std::fs::read_to_string(sarif).expect("written"))
        .expect("the SARIF log is JSON");
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "{name}: SARIF errors:\n{}",
        errors.join("\n")
    );
    let results = log["runs"][0]["results"].as_array().map_or(0, Vec::len);
    assert_eq!(results, findings, "{name}: one SARIF result per finding");
}

/// The reproducers of the findings the README reports on target `name`
/// (`reproducers/NAME/*.scenario`), so that each run checks they still hold.
fn known_reproducers(name: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(Path::new("reproducers").join(name)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "scenario"))
        .collect();
    files.sort();
    files
}

/// Replays every reproducer against a fresh server; each must fail again with some finding.
/// Prints which reproduce their own finding (real time can shift a finding's kind).
fn replay(name: &str, endpoint: &[String], files: &[PathBuf]) {
    if files.is_empty() {
        return;
    }
    let output = run_bounded(
        Command::new(BIN).arg("replay").args(endpoint).args(files),
        Duration::from_secs(60 + 30 * files.len() as u64),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    print!("{stdout}");
    assert_eq!(
        output.status.code(),
        Some(1),
        "{name}: replay exits 1 when findings fail again:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let passing: Vec<&str> = stdout.lines().filter(|l| l.contains(": passes")).collect();
    assert!(
        passing.is_empty(),
        "{name}: reproducers that no longer fail:\n{}",
        passing.join("\n")
    );
}

#[test]
#[ignore = "needs Node and the npm registry; .ci/run runs it"]
fn ts_sdk_with_a_store_per_session() {
    campaign(
        "ts-sdk-per-session",
        "ts-sdk",
        "STORE=per-session exec targets/ts-sdk/start.sh",
    );
}

#[test]
#[ignore = "needs Node and the npm registry; .ci/run runs it"]
fn ts_sdk_with_a_shared_store() {
    campaign(
        "ts-sdk-shared",
        "ts-sdk",
        "STORE=shared exec targets/ts-sdk/start.sh",
    );
}

#[test]
#[ignore = "needs Node and the npm registry; .ci/run runs it"]
fn server_everything() {
    campaign(
        "server-everything",
        "server-everything",
        "QUIET=1 exec targets/server-everything/start.sh",
    );
}

#[test]
#[ignore = "needs Python and the PyPI registry; .ci/run runs it"]
fn python_sdk() {
    campaign("py-sdk", "py-sdk", "exec targets/py-sdk/start.sh");
}

/// What probing the server `command` starts (with `BUG` set to `bug`, probing only `tools`)
/// reports: `(oracle, kind)` of every finding, and the report's lines. A probe finding replays
/// against a fresh server.
fn probe(name: &str, command: &str, env: &[(&str, &str)], extra: &[&str]) -> Vec<(String, String)> {
    let dir = std::env::temp_dir().join(format!("mtf-probe-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let url = format!("http://127.0.0.1:{}/mcp", free_port());
    let report = dir.join("report.jsonl");
    let endpoint = [
        "--url",
        &url,
        "--cmd",
        command,
        "--server-log",
        &dir.join("server.log").display().to_string(),
    ]
    .map(str::to_owned);
    let mut run = Command::new(BIN);
    run.arg("run")
        .args(&endpoint)
        .args(extra)
        .args(["--scenarios", "1", "--jobs", "1", "--seed", "1"])
        .arg("--report")
        .arg(&report)
        .arg("--findings-dir")
        .arg(dir.join("findings"));
    for (key, value) in env {
        run.env(key, value);
    }
    let output = run_bounded(&mut run, Duration::from_secs(300));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{name}: exit {:?}\n{stderr}",
        output.status
    );
    let found: Vec<(String, String)> = check_report(name, &report, &url)
        .iter()
        .map(|line| {
            let oracle = line["oracle"].as_str().unwrap_or_default().to_owned();
            let kind = line["kind"].as_str().unwrap_or_default().to_owned();
            (oracle, kind)
        })
        .collect();
    println!(
        "{name}: {found:?} ({})",
        stderr.lines().last().unwrap_or_default()
    );
    let files: Vec<PathBuf> = check_report(name, &report, &url)
        .iter()
        .map(|line| PathBuf::from(line["reproducer"].as_str().unwrap_or_default()))
        .collect();
    if !files.is_empty() {
        let mut again = Command::new(BIN);
        again.arg("replay").args(&endpoint).args(extra).args(&files);
        for (key, value) in env {
            again.env(key, value);
        }
        let output = run_bounded(&mut again, Duration::from_secs(300));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(1), "{name}: replay\n{stdout}");
        assert_eq!(
            stdout.matches("still fails").count(),
            files.len(),
            "{name}: every probe finding shows again\n{stdout}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    found
}

/// A `BUG` value, the tool it is in, the oracle and kind that must find it, and the server's
/// environment for it.
type BugCase = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Each resource bug of a leaky server, found from outside (HTTP and /proc, plus the Node
/// inspector's heap for Node), by the probe of the tool it is in; the correct server, probed
/// on every tool, shows none.
/// `stateless`: the target speaks 2026-07-28, where closing a stream cancels its request, so
/// the work its BUG=no-abort-cleanup keeps up after the close is `cancellation/work-after-close`
/// too (a server that does not speak it gets no stateless probe).
fn resource_bugs(target: &str, extra: &[&str], stateless: bool) {
    install(target);
    let command = format!("exec targets/{target}/start.sh");
    // The server's own 8 MiB byte cap also bounds what an unread or abandoned stream costs:
    // the stream bugs are shown at full strength with the cap raised to 1 GiB.
    const UNCAPPED: &[(&str, &str)] = &[("MAX_STREAM_BYTES", "1073741824")];
    let cases: [BugCase; 7] = [
        ("unbounded-cache", "lookup", "leak", "grows-with-dose", &[]),
        (
            "listener-accumulation",
            "watch",
            "leak",
            "grows-with-dose",
            &[],
        ),
        ("interval-leak", "monitor", "leak", "grows-with-dose", &[]),
        (
            "no-backpressure",
            "stream",
            "backpressure",
            "held-while-unread",
            UNCAPPED,
        ),
        (
            "no-abort-cleanup",
            "stream",
            "cancel-cleanup",
            "work-after-session-end",
            UNCAPPED,
        ),
        ("no-byte-cap", "stream", "byte-cap", "over-cap", &[]),
        // A handle left open by every aborted stream: descriptors that grow with the aborts.
        (
            "abort-handle-leak",
            "stream",
            "leak",
            "grows-with-dose",
            UNCAPPED,
        ),
    ];
    // The server's cap counts notification bytes; the SSE framing adds a little.
    let mut with_cap = extra.to_vec();
    with_cap.extend(["--max-stream-bytes", "9437184"]);
    let clean = probe(
        &format!("{target}-none"),
        &command,
        &[("BUG", "none")],
        &with_cap,
    );
    assert!(clean.is_empty(), "{target} BUG=none: {clean:?}");
    for (bug, tool, oracle, kind, env) in cases {
        let mut args = with_cap.clone();
        args.extend(["--probe-tools", tool]);
        let mut env = env.to_vec();
        env.push(("BUG", bug));
        let found = probe(&format!("{target}-{bug}"), &command, &env, &args);
        assert!(
            found.contains(&(oracle.to_owned(), kind.to_owned())),
            "{target} BUG={bug}: {oracle}/{kind} not found: {found:?}"
        );
        if bug == "no-abort-cleanup" {
            let after_close = ("cancellation".to_owned(), "work-after-close".to_owned());
            assert_eq!(
                found.contains(&after_close),
                stateless,
                "{target} BUG={bug}, stateless {stateless}: {found:?}"
            );
        }
    }
}

/// The seed scenarios of the two limits: a flood of slow calls for one session, a chunked body
/// eight times the limit, and a gzip bomb that inflates to eight times it.
const LIMIT_SEEDS: [&str; 3] = [
    "corpus/harness_reference/flood-slow-calls",
    "corpus/harness_reference/oversized-chunked-body",
    "corpus/harness_reference/gzip-bomb",
];

/// `(oracle, kind)` of every finding that replaying [`LIMIT_SEEDS`] against a fresh server
/// started by `command` (with `env`) shows.
fn limit_findings(command: &str, env: &[(&str, &str)], extra: &[&str]) -> Vec<(String, String)> {
    replay_findings(command, env, extra, &LIMIT_SEEDS)
}

/// `(oracle, kind)` of every finding that replaying `seeds` against a fresh server started by
/// `command` (with `env`) shows.
fn replay_findings(
    command: &str,
    env: &[(&str, &str)],
    extra: &[&str],
    seeds: &[&str],
) -> Vec<(String, String)> {
    let url = format!("http://127.0.0.1:{}/mcp", free_port());
    let log = std::env::temp_dir().join(format!("mtf-limits-{}.log", std::process::id()));
    let mut replay = Command::new(BIN);
    replay
        .args(["replay", "--url", &url, "--cmd", command, "--server-log"])
        .arg(&log)
        .args(extra)
        .args(seeds);
    for (key, value) in env {
        replay.env(key, value);
    }
    let output = run_bounded(&mut replay, Duration::from_secs(300));
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{command} {env:?}:\n{stdout}");
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "replay: {:?}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::remove_file(&log);
    stdout
        .lines()
        .filter_map(|line| line.split_once(": fails: [")?.1.split_once(']'))
        .filter_map(|(name, _)| name.split_once('/'))
        .map(|(oracle, kind)| (oracle.to_owned(), kind.to_owned()))
        .collect()
}

/// The limit bugs of a leaky server, each found from outside by its seed; the correct server
/// shows none of them.
fn limit_bugs(target: &str) {
    install(target);
    let command = format!("exec targets/{target}/start.sh");
    let clean = limit_findings(&command, &[("BUG", "none")], &[]);
    assert!(clean.is_empty(), "{target} BUG=none: {clean:?}");
    let cases = [
        ("no-stream-cap", "connection-cap", "no-stream-cap"),
        ("no-body-limit", "request-size", "read-before-refusing"),
        (
            "no-body-limit",
            "request-size",
            "bomb-inflated-before-refusing",
        ),
        (
            "inflate-unbounded",
            "request-size",
            "bomb-inflated-before-refusing",
        ),
    ];
    for (bug, oracle, kind) in cases {
        let found = limit_findings(&command, &[("BUG", bug)], &[]);
        assert!(
            found.contains(&(oracle.to_owned(), kind.to_owned())),
            "{target} BUG={bug}: {oracle}/{kind} not found: {found:?}"
        );
    }
}

#[test]
#[ignore = "needs Node and the npm registry; .ci/run runs it"]
fn leaky_node_resource_bugs() {
    resource_bugs("leaky-node", &["--node-inspect"], false);
    limit_bugs("leaky-node");
}

#[test]
#[ignore = "needs Python and the PyPI registry; .ci/run runs it"]
fn leaky_python_resource_bugs() {
    resource_bugs("leaky-py", &[], true);
    limit_bugs("leaky-py");
}

/// What a served target must show: `(target, None)` for nothing, or the `(oracle, kind)` it
/// must include.
type ServedCase = (&'static str, Option<(&'static str, &'static str)>);

/// Serves each case's target with `serve` (the reference or a fixture) and checks what `find`
/// (given the case's target and the command that serves it) reports against the case.
fn check_served(cases: &[ServedCase], mut find: impl FnMut(&str, &str) -> Vec<(String, String)>) {
    for &(target, expected) in cases {
        let command = format!("exec '{BIN}' serve --target {target} --port \"$PORT\"");
        let found = find(target, &command);
        match expected {
            None => assert!(found.is_empty(), "{target}: {found:?}"),
            Some((oracle, kind)) => assert!(
                found.contains(&(oracle.to_owned(), kind.to_owned())),
                "{target}: {oracle}/{kind} not found: {found:?}"
            ),
        }
    }
}

#[test]
#[ignore = "starts the suite's own served reference; .ci/run runs it"]
fn served_fixture_limits_are_found_from_outside() {
    // The served reference takes 16 KiB bodies: the policy says so, and the bodies are 8 MiB
    // (a bomb of 8 KiB on the wire).
    let extra = ["--max-request-bytes", "16384"];
    let cases = [
        ("reference", None),
        (
            "fixture:no-stream-cap",
            Some(("connection-cap", "no-stream-cap")),
        ),
        (
            "fixture:no-body-limit",
            Some(("request-size", "read-before-refusing")),
        ),
        (
            "fixture:inflate-unbounded",
            Some(("request-size", "bomb-inflated-before-refusing")),
        ),
    ];
    check_served(&cases, |_, command| limit_findings(command, &[], &extra));
}

/// The seeds of the 2026-07-28 fixtures that a black box can see (cancellation needs the
/// target's own counts).
const STATELESS_SEEDS: [&str; 5] = [
    "corpus/harness_reference/stateless-concurrent-calls",
    "corpus/harness_reference/listen-one-resource",
    "corpus/harness_reference/wrong-name-header",
    "corpus/harness_reference/stale-session-id",
    "corpus/harness_reference/monitor-without-log-level",
];

#[test]
#[ignore = "starts the suite's own served reference and py-sdk; .ci/run runs it"]
fn stateless_bugs_are_found_from_outside() {
    let era = ["--era", "2026"];
    let cases = [
        ("reference", None),
        (
            "fixture:shared-response-stream",
            Some(("cross-request", "foreign-progress")),
        ),
        (
            "fixture:listen-ignores-filter",
            Some(("subscription", "not-opted-in")),
        ),
        (
            "fixture:no-header-checks",
            Some(("headers", "header-mismatch-not-refused")),
        ),
        (
            "fixture:legacy-session-echo",
            Some(("legacy-ignore", "session-echoed")),
        ),
        (
            "fixture:logs-without-level",
            Some(("logging", "log-without-level")),
        ),
    ];
    check_served(&cases, |_, command| {
        replay_findings(command, &[], &era, &STATELESS_SEEDS)
    });
    // The Python SDK serves 2026-07-28 as the revision asks, on every one of them.
    install("py-sdk");
    let found = replay_findings("exec targets/py-sdk/start.sh", &[], &era, &STATELESS_SEEDS);
    assert!(found.is_empty(), "py-sdk: {found:?}");
}

#[test]
#[ignore = "starts the suite's own served reference; .ci/run runs it"]
fn served_fixture_leaks_are_found_from_outside() {
    let leak = Some(("leak", "grows-with-dose"));
    let cases: [ServedCase; 4] = [
        ("reference", None),
        ("fixture:unbounded-cache", leak),
        ("fixture:listener-accumulation", leak),
        ("fixture:interval-leak", leak),
    ];
    // Each fixture's probe is of the tool its leak is in; the reference's, of every tool.
    let tool_of = |target: &str| match target {
        "fixture:unbounded-cache" => Some("fetch_cached"),
        "fixture:listener-accumulation" => Some("subscribe"),
        "fixture:interval-leak" => Some("monitor"),
        _ => None,
    };
    check_served(&cases, |target, command| {
        let extra: Vec<&str> = tool_of(target)
            .map(|tool| vec!["--probe-tools", tool])
            .unwrap_or_default();
        probe(&target.replace(':', "-"), command, &[], &extra)
    });
}
