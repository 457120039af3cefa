//! Fuzz a Streamable HTTP service of your own from `cargo test`, the way proptest is used.
//!
//! ```sh
//! cargo test --example fuzz_your_service    # the tests at the bottom
//! cargo run --example fuzz_your_service     # what a campaign finds on each service
//! ```
//!
//! Two services are defined here, as a user's crate would define them:
//! - `notes`: an rmcp server with one tool, `note`, that saves a note and says what the previous
//!   one was. Its planted bug keeps "the previous note" once for the whole server instead of
//!   once per session, so one client reads what another wrote: the suite's canaries, carried in
//!   every string argument, show it as `cross-session/canary-leak`.
//! - `plain`: a hand-written axum handler that answers JSON-RPC with JSON, keeps no session
//!   (which is allowed) and checks no header: the suite finds that it serves a foreign
//!   `Origin` (DNS rebinding) and an unsupported `MCP-Protocol-Version`.
//!
//! Both are fuzzed in process on a paused clock: the same seed and scenario budget give the
//! same findings, and a reproducer replays the same way every time.

use std::sync::{Arc, Mutex};

use mcp_transport_fuzz::service::{Fuzz, Fuzzed};

/// Counts the heap each side of an in-process run holds, for the leak oracles (optional).
#[global_allocator]
static ALLOCATOR: mcp_transport_fuzz::alloc::Counting = mcp_transport_fuzz::alloc::Counting;

/// The rmcp server, with and without its planted bug.
mod notes {
    use super::*;
    use rmcp::handler::server::router::tool::ToolRouter;
    use rmcp::handler::server::wrapper::Parameters;
    use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
    use rmcp::transport::streamable_http_server::{
        StreamableHttpServerConfig, StreamableHttpService,
    };
    use rmcp::{schemars, tool, tool_handler, tool_router, ServerHandler};
    use serde::Deserialize;

    /// Where "the previous note" lives.
    #[derive(Debug, Clone, Copy)]
    pub enum Memory {
        /// Once per session: each client reads only its own notes.
        PerSession,
        /// Once for the whole server: the planted bug.
        SharedByEveryone,
    }

    #[derive(Debug, Deserialize, schemars::JsonSchema)]
    #[schemars(crate = "rmcp::schemars")]
    pub struct NoteArgs {
        /// The note to save.
        pub text: String,
    }

    /// One session's server: rmcp builds one per session with the factory below.
    #[derive(Clone)]
    pub struct Notes {
        previous: Arc<Mutex<String>>,
        tool_router: ToolRouter<Self>,
    }

    #[tool_router]
    impl Notes {
        #[tool(description = "Saves a note and says what the previous note was.")]
        async fn note(&self, Parameters(args): Parameters<NoteArgs>) -> String {
            let mut previous = self.previous.lock().unwrap_or_else(|p| p.into_inner());
            let before = std::mem::replace(&mut *previous, args.text);
            format!("saved; the previous note was {before:?}")
        }
    }

    #[tool_handler(router = self.tool_router)]
    impl ServerHandler for Notes {}

    /// The service, as the user's own binary would serve it with axum or hyper.
    pub fn service(memory: Memory) -> StreamableHttpService<Notes, LocalSessionManager> {
        let everyone = Arc::new(Mutex::new(String::new()));
        let factory = move || {
            let previous = match memory {
                Memory::PerSession => Arc::new(Mutex::new(String::new())),
                Memory::SharedByEveryone => everyone.clone(),
            };
            Ok(Notes {
                previous,
                tool_router: Notes::tool_router(),
            })
        };
        // On the suite's paused clock, timers must be tokio's: rmcp's SSE keep-alive re-arms
        // from the wall clock, so it is off here (keep it on in production).
        let config = StreamableHttpServerConfig::default()
            .with_sse_keep_alive(None)
            .with_allowed_origins(["http://127.0.0.1"]);
        StreamableHttpService::new(factory, Arc::new(LocalSessionManager::default()), config)
    }
}

/// A hand-written axum handler: JSON-RPC answered with JSON, no sessions kept.
mod plain {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use axum::Router;
    use serde_json::{json, Value};

    /// `/mcp`: POST handles a message; GET and DELETE are refused with 405.
    pub fn router() -> Router {
        Router::new().route(
            "/mcp",
            post(handle)
                .get(|| async { StatusCode::METHOD_NOT_ALLOWED })
                .delete(|| async { StatusCode::METHOD_NOT_ALLOWED }),
        )
    }

    fn json_response(status: StatusCode, body: Value) -> Response {
        (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response()
    }

    async fn handle(_headers: HeaderMap, body: Bytes) -> Response {
        let Ok(message) = serde_json::from_slice::<Value>(&body) else {
            let error = json!({"jsonrpc": "2.0", "id": null,
                "error": {"code": -32700, "message": "parse error"}});
            return json_response(StatusCode::BAD_REQUEST, error);
        };
        let Some(id) = message.get("id").cloned() else {
            return StatusCode::ACCEPTED.into_response(); // a notification
        };
        let method = message.get("method").and_then(Value::as_str).unwrap_or("");
        let result = match method {
            "initialize" => json!({
                "protocolVersion": message.pointer("/params/protocolVersion")
                    .cloned().unwrap_or(json!("2025-06-18")),
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "plain", "version": "0.1.0"},
            }),
            "tools/list" => json!({"tools": [{
                "name": "shout",
                "description": "Returns its text in capitals.",
                "inputSchema": {"type": "object",
                    "properties": {"text": {"type": "string"}}, "required": ["text"]},
            }]}),
            "tools/call" => {
                let text = message
                    .pointer("/params/arguments/text")
                    .and_then(Value::as_str);
                json!({"content": [{"type": "text",
                    "text": text.unwrap_or_default().to_uppercase()}]})
            }
            _ => {
                let error = json!({"jsonrpc": "2.0", "id": id,
                    "error": {"code": -32601, "message": "method not found"}});
                return json_response(StatusCode::OK, error);
            }
        };
        json_response(
            StatusCode::OK,
            json!({"jsonrpc": "2.0", "id": id, "result": result}),
        )
    }
}

/// The notes server as rmcp serves it.
type NotesService = rmcp::transport::streamable_http_server::StreamableHttpService<
    notes::Notes,
    rmcp::transport::streamable_http_server::session::local::LocalSessionManager,
>;

/// The campaign a test runs on the notes server: 300 scenarios of seed 1.
fn fuzz_notes(
    memory: notes::Memory,
    findings: &std::path::Path,
) -> Fuzz<impl Fn() -> NotesService + Send + Sync + 'static> {
    Fuzz::service(move || notes::service(memory))
        .name(format!("notes ({memory:?})"))
        .scenarios(300)
        .seed(1)
        .findings_dir(findings)
}

/// What rmcp 3.11 shows whatever tools it serves (triaged in the README's findings table).
const RMCP_KNOWN: [&str; 2] = [
    "id-uniqueness/duplicate-id",
    "session-cleanup/deleted-id-accepted",
];

fn main() {
    let findings = std::env::temp_dir().join("fuzz-your-service");
    for memory in [notes::Memory::SharedByEveryone, notes::Memory::PerSession] {
        report(fuzz_notes(memory, &findings).known(RMCP_KNOWN).run());
    }
    let plain = Fuzz::service(plain::router)
        .name("plain axum handler")
        .scenarios(300)
        .seed(1)
        .findings_dir(&findings);
    report(plain.run());
}

fn report(outcome: Result<Fuzzed, mcp_transport_fuzz::service::FuzzError>) {
    match outcome {
        Ok(fuzzed) => print!("{fuzzed}"),
        Err(error) => eprintln!("cannot fuzz: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mcp_transport_fuzz::oracle::{Level, Oracle};

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("fuzz-your-service-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    /// The planted bug is found, with its rule and level, and its reproducer is a regression
    /// test: it fails on the buggy server every time, and passes once the bug is fixed.
    #[test]
    fn the_planted_bug_is_found_and_its_reproducer_replays() {
        let dir = scratch("planted");
        let buggy = fuzz_notes(notes::Memory::SharedByEveryone, &dir);
        let fuzzed = buggy.run().expect("the notes server can be fuzzed");
        let (leak, reproducer) = fuzzed
            .findings()
            .zip(&fuzzed.reproducers)
            .find(|(finding, _)| finding.oracle == Oracle::CrossSession)
            .unwrap_or_else(|| panic!("the shared note is not found:\n{fuzzed}"));
        assert_eq!(leak.kind, "canary-leak", "{fuzzed}");
        assert_eq!(leak.level(), Level::Must);
        let again = buggy.replay(reproducer).expect("the reproducer reads");
        assert!(again.iter().any(|f| f.oracle == Oracle::CrossSession));
        let fixed = fuzz_notes(notes::Memory::PerSession, &dir);
        let after_the_fix = fixed.replay(reproducer).expect("the reproducer reads");
        assert!(after_the_fix.is_empty(), "{after_the_fix:?}");
    }

    /// The same server with one note per session shows nothing a correct server must not,
    /// but for what rmcp 3.11 itself shows (the README's findings table): every stream's
    /// priming event has id `0`, and a DELETE of a deleted session gets 202.
    #[test]
    fn the_fixed_server_passes() {
        let fuzzed = fuzz_notes(notes::Memory::PerSession, &scratch("fixed"))
            .known(RMCP_KNOWN)
            .run()
            .expect("the notes server can be fuzzed");
        assert!(fuzzed.summary.scenarios >= 300);
        fuzzed.assert_none_at(Level::Must);
    }

    /// A plain axum handler is fuzzed the same way: it serves a foreign `Origin`, which a
    /// server "MUST" answer with 403, and an unsupported protocol version ("MUST" be 400).
    #[test]
    fn a_plain_axum_handler_is_fuzzed_too() {
        let fuzzed = Fuzz::service(plain::router)
            .name("plain axum handler")
            .scenarios(300)
            .seed(1)
            .findings_dir(scratch("plain"))
            .run()
            .expect("the axum handler can be fuzzed");
        let must: Vec<String> = fuzzed
            .at_or_above(Level::Must)
            .iter()
            .map(|f| format!("{}/{}", f.oracle, f.kind))
            .collect();
        for expected in [
            "lifecycle/foreign-origin-accepted",
            "lifecycle/bad-version-not-400",
        ] {
            assert!(must.iter().any(|name| name == expected), "{fuzzed}");
        }
    }
}
