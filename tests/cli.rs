//! The `sse decode` and `sse encode` commands, run as a user runs them.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const EXAMPLE: &str = "examples/stream.sse";

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-transport-fuzz"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn decode_prints_one_compact_json_object_per_record() {
    let output = run(&["sse", "decode", EXAMPLE], b"");
    assert!(output.status.success());
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0], r#"{"retry":3000}"#);
    assert!(lines[1].starts_with(
        r#"{"event":"message","data":"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress"#
    ));
    assert!(lines[1].ends_with(r#"","id":"0"}"#));
    assert!(lines[2].ends_with(r#"","id":"1"}"#));
}

#[test]
fn every_chunking_prints_the_same() {
    let whole = stdout(&run(&["sse", "decode", EXAMPLE], b""));
    for args in [
        vec!["--chunk-size", "1"],
        vec!["--chunk-size", "7"],
        vec!["--split-seed", "0"],
        vec!["--split-seed", "12345"],
    ] {
        let mut all = vec!["sse", "decode", EXAMPLE];
        all.extend(args.iter());
        assert_eq!(stdout(&run(&all, b"")), whole, "{args:?}");
    }
}

#[test]
fn decode_reads_stdin_when_no_file_or_dash() {
    let input = b"event: e\r\nid: 5\r\ndata: a\r\ndata: b\r\n\r\n";
    let expected = "{\"event\":\"e\",\"data\":\"a\\nb\",\"id\":\"5\"}\n";
    assert_eq!(stdout(&run(&["sse", "decode"], input)), expected);
    assert_eq!(stdout(&run(&["sse", "decode", "-"], input)), expected);
}

#[test]
fn raw_view_prints_blocks_as_written() {
    let output = run(&["sse", "decode", "--raw"], b": hi\nData: x\nid\n\n");
    assert_eq!(
        stdout(&output),
        "{\"lines\":[{\"comment\":\" hi\"},{\"name\":\"Data\",\"value\":\"x\"},{\"name\":\"id\",\"value\":\"\"}]}\n"
    );
}

#[test]
fn unreadable_file_is_one_line_and_exit_2() {
    let output = run(&["sse", "decode", "no/such/file.sse"], b"");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no/such/file.sse"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn over_limit_input_prints_what_came_before_then_exits_1() {
    let output = run(
        &["sse", "decode", "--max-bytes", "8"],
        b"data: ok\n\ndata: too long\n\n",
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&output),
        "{\"event\":\"message\",\"data\":\"ok\",\"id\":\"\"}\n"
    );
}

#[test]
fn bad_arguments_exit_2() {
    assert_eq!(
        run(&["sse", "decode", "--chunk-size", "0"], b"")
            .status
            .code(),
        Some(2)
    );
    assert_eq!(run(&["sse", "frobnicate"], b"").status.code(), Some(2));
}

#[test]
fn encode_writes_safe_events_that_decode_back() {
    let input = concat!(
        r#"{"data":"hello\n\ndata: injected\n\n","event":"note","id":"1"}"#,
        "\n",
        r#"{"data":{"jsonrpc":"2.0","id":1,"result":{}},"retry":500}"#,
        "\n",
    );
    let encoded = run(&["sse", "encode"], input.as_bytes());
    assert!(encoded.status.success());
    assert_eq!(
        stdout(&encoded),
        "event: note\nid: 1\ndata: hello\ndata:\ndata: data: injected\ndata:\ndata:\n\nretry: 500\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"
    );
    let decoded = stdout(&run(&["sse", "decode"], &encoded.stdout));
    assert_eq!(
        decoded,
        concat!(
            r#"{"event":"note","data":"hello\n\ndata: injected\n\n","id":"1"}"#,
            "\n",
            r#"{"retry":500}"#,
            "\n",
            r#"{"event":"message","data":"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}","id":"1"}"#,
            "\n",
        )
    );
}

#[test]
fn encode_stops_at_an_invalid_record_naming_line_and_field() {
    let input = "{\"data\":\"a\"}\n{\"data\":\"b\",\"id\":\"7\"}\n{\"data\":\"c\",\"id\":\"x\\ny\"}\n{\"data\":\"d\"}\n";
    let output = run(&["sse", "encode"], input.as_bytes());
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "data: a\n\nid: 7\ndata: b\n\n");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("line 3") && stderr.contains("`id`"),
        "{stderr}"
    );
}

#[test]
fn encode_rejects_a_line_that_is_not_a_record() {
    let output = run(&["sse", "encode"], b"{\"data\":\"a\"}\nnot json\n");
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "data: a\n\n");
    assert!(String::from_utf8(output.stderr).unwrap().contains("line 2"));
}
