//! Hand-built traces for the oracles' tests: a small builder that records what an executor
//! would, one request or event at a time.

use serde_json::json;

use crate::model::Millis;
use crate::scenario::Version;
use crate::trace::Resources;
use crate::trace::{
    Checkpoint, CheckpointKind, EventRecord, Exchange, IdSource, LastEventId, Observation, Outcome,
    Purpose, Rungs, SessionHeader, SessionRecord, StreamEnd, StreamRecord, Trace, UploadRecord,
};

/// Builds a [`Trace`]; every request gets the next step and a clock 10 ms later.
#[derive(Debug, Default)]
pub(crate) struct Build {
    pub trace: Trace,
}

/// A JSON-RPC response to request `rpc`.
pub(crate) fn response(rpc: u64) -> String {
    json!({ "jsonrpc": "2.0", "id": rpc, "result": {} }).to_string()
}

/// A progress notification about request `rpc`.
pub(crate) fn progress(rpc: u64, n: u64) -> String {
    json!({
        "jsonrpc": "2.0",
        "method": "notifications/progress",
        "params": { "progressToken": rpc, "progress": n },
    })
    .to_string()
}

/// An event with `id` (if any) and `data`.
pub(crate) fn event(id: Option<&str>, data: &str) -> EventRecord {
    EventRecord {
        id: id.map(str::to_owned),
        data: data.to_owned(),
        data_lines: usize::from(!data.is_empty()),
        ..EventRecord::default()
    }
}

impl Build {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Opens a session with `id`, negotiating `version`: an initialize answered 200 with an
    /// SSE stream carrying its response (event id `init-N`).
    pub(crate) fn session(&mut self, id: Option<&str>, version: &str) -> usize {
        let session = self.trace.sessions.len();
        let exchange = self.request(Purpose::Initialize, None);
        self.trace.exchanges[exchange].session = Some(session);
        let stream = self.stream(exchange);
        let rpc = self.rpc(exchange);
        self.event(stream, Some(&format!("init-{session}")), &response(rpc));
        self.trace.sessions.push(SessionRecord {
            slot: session,
            id: id.map(str::to_owned),
            canary: format!("mcp-canary-{session:04}x"),
            requested: Version::V2025_06_18,
            negotiated: Some(version.to_owned()),
            stateless: version == crate::scenario::STATELESS_VERSION,
            speaks_stateless: false,
            exchange,
            deleted_by: None,
        });
        session
    }

    /// A 2026-07-28 client: a `server/discover` answered 200 with an SSE stream listing that
    /// revision, and no session.
    pub(crate) fn client(&mut self) -> usize {
        let client = self.trace.sessions.len();
        let exchange = self.request(Purpose::Discover, None);
        self.trace.exchanges[exchange].session = Some(client);
        let stream = self.stream(exchange);
        let rpc = self.rpc(exchange);
        let result = json!({ "jsonrpc": "2.0", "id": rpc,
            "result": { "supportedVersions": [crate::scenario::STATELESS_VERSION] } });
        self.event(stream, None, &result.to_string());
        self.trace.sessions.push(SessionRecord {
            slot: client,
            id: None,
            canary: format!("mcp-canary-{client:04}x"),
            requested: Version::V2025_11_25,
            negotiated: Some(crate::scenario::STATELESS_VERSION.to_owned()),
            stateless: true,
            speaks_stateless: true,
            exchange,
            deleted_by: None,
        });
        client
    }

    /// Sends a request of `purpose` in `session` (live, or ended once deleted), answered 200.
    pub(crate) fn request(&mut self, purpose: Purpose, session: Option<usize>) -> usize {
        let index = self.trace.exchanges.len();
        let method = match purpose {
            Purpose::Resume | Purpose::OpenGet => "GET",
            Purpose::Delete => "DELETE",
            _ => "POST",
        };
        let rpc_id = matches!(
            purpose,
            Purpose::Initialize
                | Purpose::ListTools
                | Purpose::Call { .. }
                | Purpose::Misstep(_)
                | Purpose::Discover
                | Purpose::Listen { .. }
                | Purpose::Stateless { .. }
        )
        .then_some(index as u64 + 1);
        let session_header = match session {
            Some(s) if self.trace.sessions[s].deleted_by.is_some() => SessionHeader::Ended(s),
            Some(s) => SessionHeader::Live(s),
            None => SessionHeader::Absent,
        };
        let at = Millis(10 * index as u64);
        self.trace.exchanges.push(Exchange {
            step: index,
            sent_at: at,
            method: method.to_owned(),
            purpose,
            rpc_id,
            session,
            session_header,
            last_event_id: None,
            upload: UploadRecord::default(),
            outcome: Outcome::Responded {
                at,
                status: 200,
                content_type: Some("text/event-stream".to_owned()),
                session_id: None,
            },
            stream: None,
            rungs: Rungs::default(),
            budget: None,
            response_headers: Vec::new(),
            param_values: Vec::new(),
        });
        index
    }

    /// Sets the response status of `exchange`.
    pub(crate) fn status(&mut self, exchange: usize, status: u16) {
        if let Outcome::Responded { status: s, .. } = &mut self.trace.exchanges[exchange].outcome {
            *s = status;
        }
    }

    /// The JSON-RPC id of `exchange`'s request.
    pub(crate) fn rpc(&self, exchange: usize) -> u64 {
        self.trace.exchanges[exchange]
            .rpc_id
            .expect("a request with an id")
    }

    /// Opens the SSE response stream of `exchange`.
    pub(crate) fn stream(&mut self, exchange: usize) -> usize {
        let index = self.trace.streams.len();
        let record = &mut self.trace.exchanges[exchange];
        record.stream = Some(index);
        self.trace.streams.push(StreamRecord {
            exchange,
            session: record.session,
            sse: true,
            opened_at: record.sent_at,
            ..StreamRecord::default()
        });
        index
    }

    /// Appends an event with `id` and `data` to `stream`; returns its index.
    pub(crate) fn event(&mut self, stream: usize, id: Option<&str>, data: &str) -> usize {
        self.push(stream, event(id, data))
    }

    /// Appends `event` to `stream`, counting its bytes; returns its index.
    pub(crate) fn push(&mut self, stream: usize, event: EventRecord) -> usize {
        let record = &mut self.trace.streams[stream];
        record.bytes += (event.data.len() + event.id.as_ref().map_or(0, String::len) + 8) as u64;
        record.events.push(event);
        record.events.len() - 1
    }

    /// A `tools/call` of `echo` in `session` with its SSE stream.
    pub(crate) fn call(&mut self, session: usize) -> (usize, usize) {
        let exchange = self.request(
            Purpose::Call {
                tool: "echo".to_owned(),
            },
            Some(session),
        );
        (exchange, self.stream(exchange))
    }

    /// A resume in `session` from `source`, answered 200 with an SSE stream.
    pub(crate) fn resume(
        &mut self,
        session: usize,
        value: &str,
        source: IdSource,
    ) -> (usize, usize) {
        let exchange = self.request(Purpose::Resume, Some(session));
        self.trace.exchanges[exchange].last_event_id = Some(LastEventId {
            value: value.to_owned(),
            source,
        });
        (exchange, self.stream(exchange))
    }

    /// A DELETE of `session` answered 200.
    pub(crate) fn delete(&mut self, session: usize) -> usize {
        let exchange = self.request(Purpose::Delete, Some(session));
        self.trace.sessions[session].deleted_by = Some(exchange);
        exchange
    }

    /// Records `observations` on `stream`, and how it ended.
    pub(crate) fn observe(
        &mut self,
        stream: usize,
        observations: &[Observation],
        end: Option<StreamEnd>,
    ) {
        let record = &mut self.trace.streams[stream];
        record.observations.extend_from_slice(observations);
        record.end = end;
    }

    /// Takes a snapshot of kind `kind`.
    pub(crate) fn checkpoint(
        &mut self,
        kind: CheckpointKind,
        open_bodies: usize,
        live_sessions: usize,
        resources: Resources,
    ) {
        let step = self.trace.exchanges.len();
        self.trace.checkpoints.push(Checkpoint {
            step,
            at: Millis(10 * step as u64),
            kind,
            open_bodies,
            open_stateless: 0,
            live_sessions,
            resources,
        });
    }
}

/// The kinds of `findings`, in order.
pub(crate) fn kinds(findings: &[crate::oracle::Finding]) -> Vec<&'static str> {
    findings.iter().map(|finding| finding.kind).collect()
}
