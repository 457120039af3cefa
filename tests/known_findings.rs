//! The findings the README reports on rmcp, kept as reproducers in `reproducers/rmcp-*/`: each
//! must still give its sidecar's finding, the same findings on every run. rmcp is pinned by
//! Cargo.lock; when an upgrade fixes a bug, this test names the reproducer to retire. (The
//! black-box targets' reproducers are replayed against their servers by `tests/targets.rs`.)

use std::path::{Path, PathBuf};

use mcp_transport_fuzz::oracle::Finding;
use mcp_transport_fuzz::report::read_sidecar;
use mcp_transport_fuzz::runner::{InProcessRunner, TargetSpec};

/// How many times each reproducer runs.
const RUNS: usize = 3;

fn reproducers(folder: &str) -> Vec<PathBuf> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("reproducers")
        .join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|entry| entry.expect("a readable folder").path())
        .filter(|path| path.extension().is_some_and(|e| e == "scenario"))
        .collect();
    files.sort();
    files
}

fn kinds(findings: &[Finding]) -> Vec<(String, &'static str)> {
    findings
        .iter()
        .map(|f| (f.oracle.name().to_owned(), f.kind))
        .collect()
}

fn check(folder: &str) {
    let files = reproducers(folder);
    assert!(!files.is_empty(), "reproducers/{folder} holds reproducers");
    for file in files {
        let sidecar = read_sidecar(&file).unwrap_or_else(|| panic!("{}: sidecar", file.display()));
        let spec: TargetSpec = sidecar.target.parse().expect("an in-process target");
        let bytes = std::fs::read(&file).expect("readable");
        let mut runner = InProcessRunner::new(spec);
        let first = kinds(&runner.run(&bytes).findings);
        assert!(
            first
                .iter()
                .any(|(oracle, kind)| *oracle == sidecar.oracle && *kind == sidecar.kind),
            "{}: no longer gives [{}/{}] on {spec}; it gives {first:?}",
            file.display(),
            sidecar.oracle,
            sidecar.kind
        );
        for _ in 1..RUNS {
            assert_eq!(
                kinds(&runner.run(&bytes).findings),
                first,
                "{}: the same findings on every run",
                file.display()
            );
        }
    }
}

#[test]
fn rmcp_local_findings_still_hold() {
    check("rmcp-local");
}

#[test]
fn rmcp_event_store_findings_still_hold() {
    check("rmcp-event-store");
}

/// The cause of rmcp's two liveness findings, over a real socket, as plain HTTP requests (the
/// form of an upstream report; `reproducers/rmcp-local/head-of-line.md` writes them out).
///
/// rmcp's session worker hands each message to its request's stream with
/// `tx.send(message).await` on a channel of 16 (`SessionConfig::DEFAULT_CHANNEL_CAPACITY`),
/// inline. When a client leaves one response stream unread, that send waits, and the worker
/// serves nothing else: every other request of the session (a new call, a resume, a GET) gets
/// no response head. (Progress notifications go to the request's stream only when the request
/// carries `_meta.progressToken`.) In process there is no transport buffer, so 16 unread
/// messages are enough; over a socket the kernel's buffers take a few MiB first, so here the
/// unread stream is large (1000 events of 64 KiB).
mod head_of_line {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// `serve --target rmcp:local` on a free port, killed when dropped.
    struct Served {
        child: Child,
        port: u16,
    }

    impl Drop for Served {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn serve() -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-transport-fuzz"))
            .args(["serve", "--target", "rmcp:local", "--port", "0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("its stdout"))
            .read_line(&mut line)
            .expect("the listening line");
        let port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|tail| tail.trim_end_matches("/mcp").parse().ok())
            .unwrap_or_else(|| panic!("a port in {line:?}"));
        Served { child, port }
    }

    /// Sends one POST of `body` on a new connection and returns the connection unread.
    fn post(port: u16, session: Option<&str>, body: &str) -> TcpStream {
        let mut socket = TcpStream::connect(("127.0.0.1", port)).expect("connects");
        let session = session
            .map(|id| format!("Mcp-Session-Id: {id}\r\nMCP-Protocol-Version: 2025-06-18\r\n"))
            .unwrap_or_default();
        let request = format!(
            "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\n{session}Content-Length: {}\r\n\r\n\
             {body}",
            body.len()
        );
        socket.write_all(request.as_bytes()).expect("sent");
        socket
    }

    /// The response head, if it comes within `wait`.
    fn head(socket: &mut TcpStream, wait: Duration) -> Option<String> {
        socket.set_read_timeout(Some(wait)).expect("a timeout");
        let until = Instant::now() + wait;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && Instant::now() < until {
            match socket.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                _ => return None,
            }
        }
        head.ends_with(b"\r\n\r\n")
            .then(|| String::from_utf8_lossy(&head).into_owned())
    }

    fn session(port: u16) -> String {
        let mut socket = post(
            port,
            None,
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"head-of-line","version":"1"}}}"#,
        );
        let answer = head(&mut socket, Duration::from_secs(5)).expect("initialize answers");
        let id = answer
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("mcp-session-id")
                    .then(|| value.trim().to_owned())
            })
            .expect("a session id");
        let mut initialized = post(
            port,
            Some(&id),
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        );
        assert!(head(&mut initialized, Duration::from_secs(5)).is_some_and(|h| h.contains(" 202 ")));
        id
    }

    const ECHO: &str = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{"text":"ping"}}}"#;

    #[test]
    fn one_unread_stream_stops_every_other_request_of_its_session() {
        let served = serve();
        // Control: the echo call is answered at once.
        let id = session(served.port);
        let mut echo = post(served.port, Some(&id), ECHO);
        let answered = head(&mut echo, Duration::from_secs(5));
        assert!(answered.is_some_and(|h| h.contains(" 200 ")), "the control");

        // A call whose stream the client does not read yet, then the same echo call.
        let id = session(served.port);
        let _unread = post(
            served.port,
            Some(&id),
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"stream","arguments":{"count":1000,"size":65536,"delay_ms":0},"_meta":{"progressToken":"p2"}}}"#,
        );
        std::thread::sleep(Duration::from_secs(1));
        let mut echo = post(served.port, Some(&id), ECHO);
        let answered = head(&mut echo, Duration::from_secs(5));
        assert_eq!(
            answered, None,
            "rmcp answered a request of a session with an unread stream: the head-of-line \
             blocking is fixed; retire reproducers/rmcp-*/liveness-* and the README's row"
        );
        // Another session is not affected.
        let other = session(served.port);
        let mut echo = post(served.port, Some(&other), ECHO);
        assert!(head(&mut echo, Duration::from_secs(5)).is_some_and(|h| h.contains(" 200 ")));
    }
}
