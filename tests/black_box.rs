//! `run --url` end to end: this crate's own `serve` as the server behind the socket. The
//! reference must stay clean as a black box, fixtures must be found by their oracles and their
//! reproducers must replay, and bad targets must be one-line errors with exit code 2.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_mcp-transport-fuzz");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mtf-blackbox-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    dir
}

/// `--url` and `--cmd` of a server this binary serves: `target` is `reference` or
/// `fixture:NAME`.
fn endpoint(target: &str, dir: &Path) -> Vec<String> {
    vec![
        "--url".into(),
        format!("http://127.0.0.1:{}/mcp", free_port()),
        "--cmd".into(),
        format!("exec '{BIN}' serve --target {target} --port \"$PORT\""),
        "--server-log".into(),
        dir.join("server.log").display().to_string(),
    ]
}

fn fuzz(target: &str, dir: &Path, extra: &[&str]) -> (Output, Vec<String>) {
    let endpoint = endpoint(target, dir);
    let output = Command::new(BIN)
        .arg("run")
        .args(&endpoint)
        .args(["--jobs", "2", "--seed", "3"])
        // The protocol campaign; the resource probes have tests of their own.
        .args(["--probe-dose", "0"])
        .arg("--report")
        .arg(dir.join("report.jsonl"))
        .arg("--findings-dir")
        .arg(dir.join("findings"))
        .args(extra)
        .output()
        .expect("the binary runs");
    (output, endpoint)
}

fn report(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("report.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON lines"))
        .collect()
}

#[test]
fn the_reference_is_clean_as_a_black_box() {
    let dir = scratch("reference");
    let (output, _) = fuzz("reference", &dir, &["--duration", "8s"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(report(&dir).is_empty());
    assert!(
        stderr.contains("request kinds 12/12"),
        "every kind of request was sent: {stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fixtures_are_found_through_the_socket_and_replay() {
    for (fixture, oracle) in [
        ("sse-injection", "framing"),
        ("missing-origin-check", "lifecycle"),
        ("wrong-status-unknown-session", "lifecycle"),
        // The liveness fixture: in process its seed gives no-response; here, over a socket.
        ("stuck-after-aborted-upload", "liveness"),
    ] {
        let dir = scratch(fixture);
        let (output, endpoint) = fuzz(
            &format!("fixture:{fixture}"),
            &dir,
            &["--duration", "60s", "--until", oracle],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{fixture}: {stderr}");
        let found = report(&dir);
        let line = found
            .iter()
            .find(|line| line["oracle"] == oracle)
            .unwrap_or_else(|| panic!("{fixture}: {oracle} not reported: {found:?}"));
        let reproducer = line["reproducer"].as_str().expect("a reproducer");
        let replay = Command::new(BIN)
            .arg("replay")
            .args(&endpoint)
            .arg(reproducer)
            .output()
            .expect("the binary runs");
        let stdout = String::from_utf8_lossy(&replay.stdout);
        assert_eq!(replay.status.code(), Some(1), "{fixture}: {stdout}");
        assert!(
            stdout.contains(&format!("still fails: [{oracle}/")),
            "{fixture}: {stdout}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Exit 2, a first line on stderr that says what is wrong, and no panic.
fn assert_one_line_error(args: &[&str], expected: &str) {
    let output = Command::new(BIN)
        .args(args)
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    let first = stderr
        .lines()
        .find(|l| l.starts_with("mcp-transport-fuzz:") || l.starts_with("error:"))
        .unwrap_or_default();
    assert!(first.contains(expected), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
}

#[test]
fn bad_targets_are_one_line_errors() {
    let dir = scratch("errors");
    let log = dir.join("server.log").display().to_string();
    let url = format!("http://127.0.0.1:{}/mcp", free_port());
    assert_one_line_error(&["run", "--url", &url, "--duration", "1s"], "refused");
    assert_one_line_error(
        &[
            "run",
            "--url",
            &url,
            "--cmd",
            "echo broken; exit 3",
            "--server-log",
            &log,
        ],
        "exited",
    );
    assert_one_line_error(
        &[
            "run",
            "--url",
            "http://192.0.2.1:80/mcp",
            "--duration",
            "1s",
        ],
        "loopback",
    );
    assert_one_line_error(&["run", "--target", "fixture:nope"], "nope");
    assert_one_line_error(&["run", "--jobs", "0"], "jobs");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_server_that_never_answers_is_one_plain_sentence() {
    // Accepts connections and never writes a byte, for as long as the test runs.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!("http://{}/mcp", listener.local_addr().expect("an address"));
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(64).collect();
        std::thread::sleep(std::time::Duration::from_secs(60));
        drop(held);
    });
    let output = Command::new(BIN)
        .args(["run", "--url", &url, "--duration", "1s"])
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.starts_with("mcp-transport-fuzz:"))
        .unwrap_or_default();
    assert!(
        line.contains("initialize got no response within"),
        "{stderr}"
    );
    assert_eq!(
        line.matches(url.as_str()).count(),
        1,
        "the URL once: {line}"
    );
    for debug in ["{", "Millis(", "TimedOut"] {
        assert!(!line.contains(debug), "no Debug output: {line}");
    }
}
