//! The executor: runs a scenario against a target and records everything in a [`Trace`].
//!
//! In-process targets run on one reused current-thread tokio runtime with paused time
//! ([`Executor`]): the clock only moves when every task waits, so the same scenario always
//! gives the same trace. Every await has a deadline ([`Deadlines`]); a target that does not
//! answer in time is recorded as such (the `liveness` oracle reports it), never waited on.
//!
//! After the scenario's ops, the teardown drains every request stream (to its end, or to the
//! drain deadline), drops the standalone and resumed streams, deletes every session the client
//! still holds, lets the target settle and takes the `Teardown` snapshot.

mod ids;
mod oversized;
mod pressure;
mod reading;
mod requests;
mod stateless;
mod tools;

use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::Method;
use serde_json::{json, Value};
use tokio::runtime::{Builder, Runtime};
use tokio::time::{sleep, timeout, Instant};

pub use self::oversized::{MIN_OVERSIZE, OVERSIZE_FACTOR};
use self::reading::{AfterRead, OpenBody, ReadPlan};
use self::requests::{Headers, MCP_SESSION_ID};
use self::tools::Fresh;
pub use self::tools::{Shape, Tool, ToolCatalog, ENDLESS_CEILING, HEAVY_CEILING, LONG_STRING};
use crate::adapter::{RequestBody, Target};
use crate::alloc::{self, charged_to, on_side, Heap, Side};
use crate::chunking::cut_cycling;
use crate::model::Millis;
use crate::scenario::{
    Deviation, Era, Interests, Misstep, Op, Scenario, Slot, StreamPick, ToolCall, Upload, Version,
    MAX_SESSIONS, STATELESS_VERSION,
};
use crate::trace::{
    Checkpoint, CheckpointKind, Exchange, LastEventId, Outcome, Policy, Purpose, Resources, Rungs,
    SessionHeader, SessionRecord, StreamEnd, StreamRecord, Trace, UploadRecord,
};

/// How long the client waits for each thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// For a response head.
    pub head: Duration,
    /// A read gives up when nothing arrives for this long.
    pub quiet: Duration,
    /// The teardown's drain of one request stream.
    pub drain: Duration,
    /// The time a target gets to react to a drop, an abort or a DELETE.
    pub settle: Duration,
    /// The time a target gets, once every session was deleted, to end what they held, before
    /// the `Teardown` snapshot (work still running then counts as left behind).
    pub wind_down: Duration,
    /// The longest a `Stall` op waits.
    pub max_stall: Duration,
    /// How long a budgeted call may take ([`Rungs::budgeted`]) before the client cancels it.
    pub budget: Duration,
    /// The time a target gets to stop the work of a stateless request whose stream the client
    /// closed (a server may notice the close only when it next writes) before the `AfterDrop`
    /// snapshot; zero where no target counts that work (a process behind a socket).
    pub cancel_grace: Duration,
}

impl Deadlines {
    /// Virtual time (in process): generous, as waiting costs nothing; the drain outlasts the
    /// policy's maximum duration, or without one the longest `stream` call a scenario can make.
    pub fn virtual_time(policy: &Policy) -> Self {
        let duration = policy.max_duration.map_or(STREAM_TOOL_LONGEST_MS, |d| d.0) + policy.slack.0;
        Self {
            head: Duration::from_secs(60),
            quiet: Duration::from_secs(2),
            drain: Duration::from_millis(duration),
            settle: Duration::from_millis(10),
            wind_down: Duration::from_secs(5),
            max_stall: Duration::MAX,
            budget: Duration::from_millis(duration),
            cancel_grace: Duration::from_millis(STREAM_TOOL_MAX_DELAY_MS + 1_000),
        }
    }

    /// Real time (a process behind a socket on loopback): short, so that a scenario takes
    /// milliseconds unless the target is slow. A read gives up after 10 ms without data, a
    /// stall lasts at most 20 ms (on loopback, long enough for a server to fill the socket
    /// buffers of a reader that stopped), and a request stream gets 2 s to end (black-box tool
    /// calls are paced to end well before, see [`ToolCatalog::in_real_time`]); a budgeted call
    /// gets 100 ms, enough for megabytes on loopback.
    pub fn real_time() -> Self {
        Self {
            head: Duration::from_secs(5),
            quiet: Duration::from_millis(10),
            drain: Duration::from_secs(2),
            settle: Duration::from_millis(2),
            wind_down: Duration::from_millis(10),
            max_stall: Duration::from_millis(20),
            budget: Duration::from_millis(100),
            cancel_grace: Duration::ZERO,
        }
    }
}

/// The longest delay between two events of a `stream` tool call in virtual time (see
/// `tools.rs`).
const STREAM_TOOL_MAX_DELAY_MS: u64 = 2_000;

/// The longest a `stream` tool call of a scenario takes in virtual time: 255 events, 2 s
/// apart, plus a little.
const STREAM_TOOL_LONGEST_MS: u64 = 255 * STREAM_TOOL_MAX_DELAY_MS + 10_000;

/// Runs scenarios against in-process targets on one reused current-thread runtime with paused
/// time.
#[derive(Debug)]
pub struct Executor {
    runtime: Runtime,
}

impl Default for Executor {
    fn default() -> Self {
        Self::new()
    }
}

impl Executor {
    /// An executor with a fresh current-thread runtime whose clock is paused.
    pub fn new() -> Self {
        Self {
            runtime: paused_runtime(),
        }
    }

    /// Runs `scenario` against the target `make` creates (inside the runtime, so its clock
    /// starts with the run), judged against `policy`. Before returning, waits until every task
    /// the target spawned has ended; if some never end (a target that leaks tasks forever),
    /// the runtime is replaced, so the next run starts clean either way.
    pub fn run<T: Target>(
        &mut self,
        make: impl FnOnce() -> T,
        scenario: &Scenario,
        policy: Policy,
    ) -> Trace {
        self.run_with_tools(make, scenario, policy, &ToolCatalog::builtin())
    }

    /// [`Executor::run`], with calls going to the tools of `tools` (a target whose tools are
    /// not the built-in ones, learnt from its `tools/list`).
    pub fn run_with_tools<T: Target>(
        &mut self,
        make: impl FnOnce() -> T,
        scenario: &Scenario,
        policy: Policy,
        tools: &ToolCatalog,
    ) -> Trace {
        let trace = self.runtime.block_on(async {
            let mut target = make();
            let deadlines = Deadlines::virtual_time(&policy);
            // The client's own work is charged to it, so that the server's heap is what the
            // target holds (see `alloc`); the target's code runs inside `Side::Server` polls.
            let run = Box::pin(execute_with_tools(
                &mut target,
                scenario,
                policy,
                deadlines,
                tools,
            ));
            let trace = charged_to(Side::Client, run).await;
            drop(target);
            trace
        });
        if !self.runtime.block_on(quiesce()) {
            self.runtime = paused_runtime();
        }
        trace
    }
}

fn millis(duration: Duration) -> Millis {
    Millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

fn paused_runtime() -> Runtime {
    Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime with only a timer cannot fail to build")
}

/// Lets time pass until the runtime has no task left; false if some outlive an hour.
async fn quiesce() -> bool {
    let handle = tokio::runtime::Handle::current();
    for _ in 0..3_600 {
        if handle.metrics().num_alive_tasks() == 0 {
            return true;
        }
        sleep(Duration::from_secs(1)).await;
    }
    handle.metrics().num_alive_tasks() == 0
}

/// Runs `scenario` against `target` on the current runtime and returns what happened; calls
/// go to the built-in tools.
pub async fn execute(
    target: &mut dyn Target,
    scenario: &Scenario,
    policy: Policy,
    deadlines: Deadlines,
) -> Trace {
    execute_with_tools(target, scenario, policy, deadlines, &ToolCatalog::builtin()).await
}

/// [`execute`], with calls going to the tools of `tools` (see [`ToolCatalog`]).
pub async fn execute_with_tools(
    target: &mut dyn Target,
    scenario: &Scenario,
    policy: Policy,
    deadlines: Deadlines,
    tools: &ToolCatalog,
) -> Trace {
    let mut run = Run {
        trace: Trace {
            server: target.name().to_owned(),
            policy,
            ..Trace::default()
        },
        target,
        deadlines,
        start: Instant::now(),
        slots: [SlotState::Empty; MAX_SESSIONS as usize],
        open: Vec::new(),
        next_rpc_id: 0,
        fresh: tools.fresh(),
        tools,
        step: 0,
        heap_origin: alloc::server_heap(),
        era: policy.era,
    };
    run.checkpoint(CheckpointKind::Baseline);
    for (step, op) in scenario.ops.iter().enumerate() {
        run.step = step;
        run.op(op).await;
    }
    run.step = scenario.ops.len();
    run.teardown().await;
    run.trace
}

/// What a scenario slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    Empty,
    /// A session the client uses (index into the trace's sessions).
    Live(usize),
    /// A session the client deleted; its id is still sent by the ops of this slot.
    Deleted(usize),
}

struct Run<'t> {
    target: &'t mut dyn Target,
    deadlines: Deadlines,
    start: Instant,
    trace: Trace,
    slots: [SlotState; MAX_SESSIONS as usize],
    /// Response bodies the client holds, in the order they arrived.
    open: Vec<OpenBody>,
    next_rpc_id: u64,
    fresh: Fresh,
    tools: &'t ToolCatalog,
    step: usize,
    /// The server side's heap when the run began: readings are counted from it, so the same
    /// scenario reads the same whatever the thread ran before.
    heap_origin: Option<Heap>,
    /// The era the run speaks (from the policy).
    era: Era,
}

/// A request to send.
struct Send {
    method: Method,
    purpose: Purpose,
    slot: Option<Slot>,
    rpc_id: Option<u64>,
    body: Bytes,
    upload: Option<Upload>,
    last_event_id: Option<LastEventId>,
    misstep: Option<Misstep>,
    rungs: Rungs,
    /// A body made elsewhere, sent instead of `body` and `upload`, with its own headers.
    prepared: Option<Prepared>,
    /// The 2026-07-28 headers of a stateless client's request.
    form: Option<stateless::Form>,
    /// A session id left over from the 2025 era, sent by a stateless client.
    stale_session: Option<String>,
}

/// A request body made by its op, with what the exchange records of it and the headers that
/// describe it.
struct Prepared {
    body: RequestBody,
    record: UploadRecord,
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
}

impl Send {
    fn new(method: Method, purpose: Purpose, slot: Option<Slot>) -> Self {
        Self {
            method,
            purpose,
            slot,
            rpc_id: None,
            body: Bytes::new(),
            upload: None,
            last_event_id: None,
            misstep: None,
            rungs: Rungs::default(),
            prepared: None,
            form: None,
            stale_session: None,
        }
    }
}

impl Run<'_> {
    fn now(&self) -> Millis {
        let elapsed = Instant::now().saturating_duration_since(self.start);
        Millis(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
    }

    fn clock(&self) -> impl Fn() -> Millis {
        let start = self.start;
        move || {
            let elapsed = Instant::now().saturating_duration_since(start);
            Millis(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        }
    }

    async fn op(&mut self, op: &Op) {
        match op {
            Op::Initialize { session, version } => match self.era {
                Era::Stateless => self.discover(*session).await,
                Era::Sessions | Era::Both => self.initialize(*session, *version).await,
            },
            Op::Discover { client } => match self.era {
                Era::Sessions => self.initialize(*client, Version::V2025_11_25).await,
                Era::Stateless | Era::Both => self.discover(*client).await,
            },
            Op::Listen { client, interests } => self.listen(*client, *interests).await,
            Op::Stateless {
                client,
                call,
                deviation,
            } => self.stateless_call(*client, call, *deviation).await,
            Op::Initialized { session } if self.is_stateless(*session) => {}
            Op::Initialized { session } => {
                let mut send = Send::new(Method::POST, Purpose::Initialized, Some(*session));
                send.body = requests::rpc_notification("notifications/initialized");
                self.send_and_finish(send).await;
            }
            Op::ListTools { session } => {
                let id = self.rpc_id();
                let mut send = Send::new(Method::POST, Purpose::ListTools, Some(*session));
                send.rpc_id = Some(id);
                self.set_body(&mut send, "tools/list", Value::Object(Default::default()));
                self.send_and_keep(send).await;
            }
            Op::Call {
                session,
                call,
                upload,
            } => self.call(*session, call, upload).await,
            Op::Read { stream, bytes } => self.read(*stream, u64::from(*bytes).max(1)).await,
            Op::Stall { millis } => {
                sleep(Duration::from_millis(u64::from(*millis)).min(self.deadlines.max_stall))
                    .await;
                self.checkpoint(CheckpointKind::AfterStall);
            }
            Op::DropResponse { stream } => self.drop_response(*stream).await,
            Op::Resume { session, id } => {
                let Some(asking) = self.session_of(*session) else {
                    return;
                };
                // A stateless client has no ids of its own: it resumes from another session's
                // id, or from the last one seen.
                let resolved = ids::resolve(&self.trace, &self.open, asking, *id);
                let last_event_id = match resolved {
                    Some(id) => id,
                    None if self.trace.sessions[asking].stateless => ids::stale(&self.trace),
                    None => return,
                };
                let mut send = Send::new(Method::GET, Purpose::Resume, Some(*session));
                send.last_event_id = Some(last_event_id);
                self.send_and_keep(send).await;
            }
            Op::OpenGet { session } => {
                self.send_and_keep(Send::new(Method::GET, Purpose::OpenGet, Some(*session)))
                    .await;
            }
            Op::Delete { session } => self.delete(*session).await,
            Op::Misstep { session, misstep } => {
                let id = self.rpc_id();
                let mut send = Send::new(Method::POST, Purpose::Misstep(*misstep), Some(*session));
                send.rpc_id = Some(id);
                self.set_body(&mut send, "tools/list", Value::Object(Default::default()));
                send.misstep = Some(*misstep);
                self.send_and_finish(send).await;
            }
            Op::Flood { session, streams } => self.flood(*session, *streams).await,
            Op::Oversize { session, body } => self.oversize(*session, *body).await,
        }
    }

    fn rpc_id(&mut self) -> u64 {
        self.next_rpc_id += 1;
        self.next_rpc_id
    }

    /// The session of `slot`, live or deleted.
    fn session_of(&self, slot: Slot) -> Option<usize> {
        match self.slots[slot.index()] {
            SlotState::Empty => None,
            SlotState::Live(session) | SlotState::Deleted(session) => Some(session),
        }
    }

    async fn initialize(&mut self, slot: Slot, version: Version) {
        let id = self.rpc_id();
        let mut send = Send::new(Method::POST, Purpose::Initialize, None);
        send.rpc_id = Some(id);
        send.body = requests::rpc_request(
            id,
            "initialize",
            requests::initialize_params(version.as_str()),
        );
        let exchange = self.send_and_finish(send).await;
        let record = &self.trace.exchanges[exchange];
        let Outcome::Responded {
            status, session_id, ..
        } = &record.outcome
        else {
            return;
        };
        if !(200..300).contains(status) {
            return;
        }
        let session = self.trace.sessions.len();
        let negotiated = record
            .stream
            .and_then(|stream| negotiated_version(&self.trace.streams[stream], id));
        self.trace.sessions.push(SessionRecord {
            slot: slot.index(),
            id: session_id.clone(),
            canary: format!("mcp-canary-{session:04}x"),
            requested: version,
            negotiated,
            stateless: false,
            speaks_stateless: false,
            exchange,
            deleted_by: None,
        });
        self.trace.exchanges[exchange].session = Some(session);
        self.slots[slot.index()] = SlotState::Live(session);
    }

    async fn call(&mut self, slot: Slot, call: &ToolCall, upload: &Upload) {
        let Some(session) = self.session_of(slot) else {
            return;
        };
        let mut send = self.call_request(slot, session, call);
        send.upload = Some(upload.clone());
        let exchange = self.send_and_keep(send).await;
        if self.trace.exchanges[exchange].upload.aborted {
            self.settle().await;
            self.checkpoint(CheckpointKind::AfterAbortedUpload);
        }
    }

    /// A `tools/call` request of `call` for `session` (in `slot`), its body whole.
    fn call_request(&mut self, slot: Slot, session: usize, call: &ToolCall) -> Send {
        self.call_departing(slot, session, call, None)
    }

    /// [`Run::call_request`], for a stateless client departing from the correct request as
    /// `deviation` says (a [`Purpose::Stateless`] exchange) if there is one.
    fn call_departing(
        &mut self,
        slot: Slot,
        session: usize,
        call: &ToolCall,
        deviation: Option<Deviation>,
    ) -> Send {
        let id = self.rpc_id();
        let canary = self.trace.sessions[session].canary.clone();
        let arguments = self.tools.arguments(call, &canary, &mut self.fresh);
        let marked = self.tools.marked_arguments(&arguments.tool);
        let values: Vec<(String, String)> = marked
            .into_iter()
            .filter_map(|(header, path)| {
                Some((header, stateless::argument_at(&arguments.value, &path)?))
            })
            .collect();
        let params = requests::call_params(&arguments.tool, arguments.value, id);
        let tool = arguments.tool;
        let purpose = match deviation {
            // A call with no marked argument has no Mcp-Param header to leave out or change.
            Some(Deviation::NoParamHeader | Deviation::WrongParamHeader) if values.is_empty() => {
                Purpose::Stateless {
                    tool: tool.clone(),
                    deviation: Deviation::None,
                }
            }
            Some(deviation) => Purpose::Stateless {
                tool: tool.clone(),
                deviation,
            },
            None => Purpose::Call { tool: tool.clone() },
        };
        let mut send = Send::new(Method::POST, purpose, Some(slot));
        send.rpc_id = Some(id);
        send.rungs = arguments.rungs;
        self.set_body(&mut send, "tools/call", params);
        if let Some(form) = &mut send.form {
            form.name = Some(tool);
            form.params = values;
        }
        send
    }

    /// Whether `slot` holds a 2026-07-28 client.
    fn is_stateless(&self, slot: Slot) -> bool {
        self.session_of(slot)
            .is_some_and(|session| self.trace.sessions[session].stateless)
    }

    /// Gives `send` the body of request `send.rpc_id` calling `method` with `params`: for a
    /// stateless client's slot in the 2026-07-28 form (`_meta` and the standard headers).
    fn set_body(&self, send: &mut Send, method: &str, params: Value) {
        let id = send.rpc_id.unwrap_or_default();
        if send.slot.is_some_and(|slot| self.is_stateless(slot)) {
            let deviation = match send.purpose {
                Purpose::Stateless { deviation, .. } => deviation,
                _ => Deviation::None,
            };
            send.body = requests::rpc_request(id, method, stateless::with_meta(params, deviation));
            send.form = Some(stateless::Form {
                deviation,
                method: method.to_owned(),
                name: None,
                params: Vec::new(),
            });
        } else {
            send.body = requests::rpc_request(id, method, params);
        }
    }

    /// `server/discover` for `slot`: a stateless client when the server lists 2026-07-28 among
    /// its versions (or, in a 2026-only run, whatever it answers); otherwise, in a run of both
    /// eras, a 2025-11-25 session instead.
    async fn discover(&mut self, slot: Slot) {
        let id = self.rpc_id();
        let mut send = Send::new(Method::POST, Purpose::Discover, None);
        send.rpc_id = Some(id);
        let params = stateless::with_meta(json!({}), Deviation::None);
        send.body = requests::rpc_request(id, "server/discover", params);
        send.form = Some(stateless::Form {
            deviation: Deviation::None,
            method: "server/discover".to_owned(),
            name: None,
            params: Vec::new(),
        });
        let exchange = self.send_and_finish(send).await;
        let speaks = self.trace.exchanges[exchange]
            .stream
            .is_some_and(|stream| discovered(&self.trace.streams[stream], id));
        if !speaks && self.era == Era::Both {
            return self.initialize(slot, Version::V2025_11_25).await;
        }
        let session = self.trace.sessions.len();
        self.trace.sessions.push(SessionRecord {
            slot: slot.index(),
            id: None,
            canary: format!("mcp-canary-{session:04}x"),
            requested: Version::V2025_11_25,
            negotiated: Some(STATELESS_VERSION.to_owned()),
            stateless: true,
            speaks_stateless: speaks,
            exchange,
            deleted_by: None,
        });
        self.trace.exchanges[exchange].session = Some(session);
        self.slots[slot.index()] = SlotState::Live(session);
    }

    /// `subscriptions/listen` from the stateless client in `slot`, opting in to `interests`;
    /// its stream stays open for later ops.
    async fn listen(&mut self, slot: Slot, interests: Interests) {
        if !self.is_stateless(slot) {
            return;
        }
        let id = self.rpc_id();
        let mut send = Send::new(Method::POST, Purpose::Listen { interests }, Some(slot));
        send.rpc_id = Some(id);
        let mut filter = serde_json::Map::new();
        for (wanted, key) in [
            (interests.tools_list_changed(), "toolsListChanged"),
            (interests.prompts_list_changed(), "promptsListChanged"),
            (interests.resources_list_changed(), "resourcesListChanged"),
        ] {
            if wanted {
                filter.insert(key.to_owned(), json!(true));
            }
        }
        let uris: Vec<String> = interests.resource_keys().map(requests::cache_uri).collect();
        if !uris.is_empty() {
            filter.insert("resourceSubscriptions".to_owned(), json!(uris));
        }
        self.set_body(
            &mut send,
            "subscriptions/listen",
            json!({ "notifications": filter }),
        );
        self.send_and_keep(send).await;
    }

    /// A `tools/call` of `call` from the stateless client in `slot`, departing from the
    /// correct request as `deviation` says; kept open like any call.
    async fn stateless_call(&mut self, slot: Slot, call: &ToolCall, deviation: Deviation) {
        let Some(session) = self.session_of(slot).filter(|_| self.is_stateless(slot)) else {
            return;
        };
        let mut send = self.call_departing(slot, session, call, Some(deviation));
        match deviation {
            Deviation::StaleSessionId => {
                let last = self.trace.sessions.iter().rev().find_map(|s| s.id.clone());
                send.stale_session =
                    Some(last.unwrap_or_else(|| requests::UNKNOWN_SESSION_ID.to_owned()));
            }
            Deviation::StaleLastEventId => {
                send.last_event_id = Some(ids::stale(&self.trace));
            }
            _ => {}
        }
        self.send_and_keep(send).await;
    }

    async fn read(&mut self, pick: StreamPick, want: u64) {
        let Some(index) = self.pick(pick) else {
            return;
        };
        let plan = ReadPlan {
            want,
            quiet: self.deadlines.quiet,
            until: Instant::now() + self.deadlines.drain,
        };
        self.read_open(index, plan).await;
    }

    /// Reads the `index`-th open body as `plan` says; an ended body is let go.
    async fn read_open(&mut self, index: usize, plan: ReadPlan) -> AfterRead {
        let clock = self.clock();
        let body = &mut self.open[index];
        let after = body
            .read(&mut self.trace.streams[body.stream], plan, clock)
            .await;
        if after == AfterRead::Ended {
            self.open.remove(index);
        }
        after
    }

    async fn drop_response(&mut self, pick: StreamPick) {
        let Some(index) = self.pick(pick) else {
            return;
        };
        let body = self.open.remove(index);
        let at = self.now();
        let stream = body.stream;
        self.trace.streams[stream].end = Some(StreamEnd::Dropped { at });
        drop(body);
        let exchange = self.trace.streams[stream].exchange;
        let stateless = self.trace.exchanges[exchange]
            .session
            .is_some_and(|session| self.trace.sessions[session].stateless);
        if stateless && !self.answered(stream) {
            self.await_cancellation().await;
        }
        self.settle().await;
        self.checkpoint(CheckpointKind::AfterDrop);
    }

    async fn delete(&mut self, slot: Slot) {
        let Some(session) = self.session_of(slot) else {
            return;
        };
        let exchange = self
            .send_and_finish(Send::new(Method::DELETE, Purpose::Delete, Some(slot)))
            .await;
        if self.accepted(exchange) && self.trace.sessions[session].deleted_by.is_none() {
            self.trace.sessions[session].deleted_by = Some(exchange);
            self.slots[slot.index()] = SlotState::Deleted(session);
        }
    }

    fn accepted(&self, exchange: usize) -> bool {
        self.trace.exchanges[exchange]
            .outcome
            .status()
            .is_some_and(|status| (200..300).contains(&status))
    }

    /// The index in `open` of the picked body.
    fn pick(&self, pick: StreamPick) -> Option<usize> {
        (!self.open.is_empty()).then(|| usize::from(pick.0) % self.open.len())
    }

    /// Sends and reads the whole response (bounded by the drain deadline).
    async fn send_and_finish(&mut self, send: Send) -> usize {
        let exchange = self.send(send).await;
        self.finish(exchange).await;
        exchange
    }

    /// Reads the response of `exchange` to its end (bounded by the drain deadline).
    async fn finish(&mut self, exchange: usize) {
        if let Some(index) = self
            .open
            .iter()
            .position(|body| Some(body.stream) == self.trace.exchanges[exchange].stream)
        {
            let plan = ReadPlan {
                want: u64::MAX,
                quiet: self.deadlines.drain,
                until: Instant::now() + self.deadlines.drain,
            };
            if self.read_open(index, plan).await == AfterRead::Open {
                let body = self.open.remove(index);
                let at = self.now();
                self.trace.streams[body.stream].end = Some(StreamEnd::Abandoned { at });
            }
        }
    }

    /// Sends and keeps a successful response's body open for later ops; reads an error
    /// response to its end.
    async fn send_and_keep(&mut self, send: Send) -> usize {
        let exchange = self.send(send).await;
        if !self.accepted(exchange) {
            if let Some(index) = self
                .open
                .iter()
                .position(|body| Some(body.stream) == self.trace.exchanges[exchange].stream)
            {
                let plan = ReadPlan {
                    want: u64::MAX,
                    quiet: self.deadlines.quiet,
                    until: Instant::now() + self.deadlines.quiet,
                };
                if self.read_open(index, plan).await == AfterRead::Open {
                    let body = self.open.remove(index);
                    let at = self.now();
                    self.trace.streams[body.stream].end = Some(StreamEnd::Dropped { at });
                }
            }
        }
        exchange
    }

    /// Sends one request, uploading its body as planned, and records the exchange; a
    /// response's body joins the open bodies.
    async fn send(&mut self, send: Send) -> usize {
        let session = send.slot.and_then(|slot| self.session_of(slot));
        let session_header = match send.slot.map(|slot| self.slots[slot.index()]) {
            Some(SlotState::Live(session)) => SessionHeader::Live(session),
            Some(SlotState::Deleted(session)) => SessionHeader::Ended(session),
            Some(SlotState::Empty) | None => SessionHeader::Absent,
        };
        let session_id = match &send.stale_session {
            Some(stale) => Some(stale.clone()),
            None => session.and_then(|session| self.trace.sessions[session].id.clone()),
        };
        let protocol_version = match &send.form {
            Some(form) => stateless::version_header(form.deviation).map(str::to_owned),
            None => session
                .and_then(|session| self.trace.sessions[session].negotiated.clone())
                .filter(|version| version.as_str() >= "2025-06-18"),
        };
        let (form_headers, param_values) = match &send.form {
            Some(form) => (
                stateless::headers(form),
                form.params.iter().map(|(_, value)| value.clone()).collect(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        let headers = Headers {
            session_id,
            protocol_version,
            last_event_id: send.last_event_id.as_ref().map(|id| id.value.clone()),
            misstep: send.misstep,
        };
        let (body, upload, extra) = match send.prepared {
            Some(prepared) => (prepared.body, prepared.record, prepared.headers),
            None => {
                let (body, record) = upload(send.body, send.upload.as_ref());
                (body, record, Vec::new())
            }
        };
        let mut request =
            requests::build(self.target.endpoint(), send.method.clone(), &headers, body);
        request.headers_mut().extend(extra);
        request.headers_mut().extend(form_headers);
        let sent_at = self.now();
        let call = on_side(Side::Server, || self.target.call(request));
        let budget = send.rungs.budgeted().then_some(self.deadlines.budget);
        let head = budget.map_or(self.deadlines.head, |budget| {
            budget.min(self.deadlines.head)
        });
        let outcome = timeout(head, charged_to(Side::Server, call)).await;
        let exchange = self.trace.exchanges.len();
        let mut record = Exchange {
            step: self.step,
            sent_at,
            method: send.method.to_string(),
            purpose: send.purpose,
            rpc_id: send.rpc_id,
            session,
            session_header: match send.misstep {
                Some(Misstep::MissingSessionId) => SessionHeader::Absent,
                Some(Misstep::UnknownSessionId) => {
                    SessionHeader::Unknown(requests::UNKNOWN_SESSION_ID.to_owned())
                }
                _ => match send.stale_session {
                    Some(stale) => SessionHeader::Unknown(stale),
                    None => session_header,
                },
            },
            last_event_id: send.last_event_id,
            upload,
            outcome: Outcome::TimedOut {
                at: self.now(),
                deadline: millis(head),
            },
            stream: None,
            rungs: send.rungs,
            budget: budget.map(millis),
            response_headers: Vec::new(),
            param_values,
        };
        match outcome {
            Err(_) => {}
            Ok(Err(error)) => {
                record.outcome = Outcome::Failed {
                    at: self.now(),
                    error: error.to_string(),
                }
            }
            Ok(Ok(response)) => {
                let (parts, body) = response.into_parts();
                let header = |name| {
                    parts
                        .headers
                        .get(name)
                        .and_then(|value| value.to_str().ok())
                        .map(str::to_owned)
                };
                let content_type = header(CONTENT_TYPE.as_str());
                let sse = content_type
                    .as_deref()
                    .is_some_and(|value| value.trim_start().starts_with("text/event-stream"));
                let opened_at = self.now();
                record.response_headers = parts
                    .headers
                    .keys()
                    .map(|name| name.as_str().to_owned())
                    .collect();
                record.outcome = Outcome::Responded {
                    at: opened_at,
                    status: parts.status.as_u16(),
                    content_type,
                    session_id: header(MCP_SESSION_ID),
                };
                let stream = self.trace.streams.len();
                self.trace.streams.push(StreamRecord {
                    exchange,
                    session,
                    sse,
                    opened_at,
                    ..StreamRecord::default()
                });
                record.stream = Some(stream);
                self.open.push(OpenBody::new(stream, body, sse));
            }
        }
        self.trace.exchanges.push(record);
        exchange
    }

    /// Gives the target up to [`Deadlines::cancel_grace`] to stop the work of the stateless
    /// requests whose streams the client closed: until it counts no more of them in progress
    /// than the client holds streams of (at once for a target that cancels at once).
    async fn await_cancellation(&mut self) {
        let until = Instant::now() + self.deadlines.cancel_grace;
        loop {
            self.settle().await;
            let working = self.resources_now().stateless_requests;
            let held = self.open_stateless();
            if working.is_none_or(|working| working <= held) || Instant::now() >= until {
                return;
            }
        }
    }

    /// The response bodies the client holds of stateless clients' requests.
    fn open_stateless(&self) -> usize {
        self.open
            .iter()
            .filter(|body| {
                let exchange = &self.trace.exchanges[self.trace.streams[body.stream].exchange];
                exchange
                    .session
                    .is_some_and(|session| self.trace.sessions[session].stateless)
            })
            .count()
    }

    /// Gives the target time to react, then lets every ready task run.
    async fn settle(&mut self) {
        sleep(self.deadlines.settle).await;
        for _ in 0..8 {
            tokio::task::yield_now().await;
        }
    }

    /// What the server side allocated and still holds since the run began.
    fn heap_since_origin(&self) -> Option<Heap> {
        let (origin, now) = (self.heap_origin?, alloc::server_heap()?);
        Some(Heap {
            bytes: now.bytes - origin.bytes,
            allocations: now.allocations - origin.allocations,
        })
    }

    /// What the target holds now, with the heap and the runtime's tasks in process.
    fn resources_now(&self) -> Resources {
        let in_process = self.target.in_process();
        Resources {
            runtime_tasks: in_process.then(|| {
                tokio::runtime::Handle::current()
                    .metrics()
                    .num_alive_tasks()
            }),
            heap: in_process.then(|| self.heap_since_origin()).flatten(),
            ..self.target.resources()
        }
    }

    fn checkpoint(&mut self, kind: CheckpointKind) {
        let resources = self.resources_now();
        self.checkpoint_of(kind, resources);
    }

    /// The checkpoint `kind`, of `resources` read now.
    fn checkpoint_of(&mut self, kind: CheckpointKind, resources: Resources) {
        let live_sessions = self
            .trace
            .sessions
            .iter()
            .filter(|session| session.deleted_by.is_none())
            .count();
        let open_stateless = self.open_stateless();
        self.trace.checkpoints.push(Checkpoint {
            step: self.step,
            at: self.now(),
            kind,
            open_bodies: self.open.len(),
            open_stateless,
            live_sessions,
            resources,
        });
    }

    /// Whether `stream` carried the JSON-RPC response to its own request.
    fn answered(&self, stream: usize) -> bool {
        let record = &self.trace.streams[stream];
        let Some(id) = self.trace.exchanges[record.exchange].rpc_id else {
            return false;
        };
        let of_request = |text: &str| {
            serde_json::from_str::<Value>(text).is_ok_and(|message| {
                message.get("id").and_then(Value::as_u64) == Some(id)
                    && (message.get("result").is_some() || message.get("error").is_some())
            })
        };
        if record.sse {
            record.events.iter().any(|event| of_request(&event.data))
        } else {
            of_request(&record.text)
        }
    }

    /// The client stops reading when the ops end, holding the bodies still open: a stall of
    /// no time. Where the target counts what it buffers for readers (in process), its
    /// `AfterStall` checkpoint is taken and judged like a `Stall` op's, so a server without
    /// backpressure shows what it buffered at once for unread streams in any scenario, not only
    /// in one that stalls after them. Elsewhere nothing is read (a black box's heap needs a
    /// real stall to grow, and /proc readings cost time).
    async fn stop_reading(&mut self) {
        if self.open.is_empty() || !self.target.in_process() {
            return;
        }
        sleep(Duration::ZERO).await;
        let resources = self.resources_now();
        if resources.held_bytes.is_some() {
            self.checkpoint_of(CheckpointKind::AfterStall, resources);
        }
    }

    async fn teardown(&mut self) {
        self.stop_reading().await;
        while let Some(body) = self.open.first() {
            let exchange = &self.trace.exchanges[self.trace.streams[body.stream].exchange];
            let request = !matches!(
                exchange.purpose,
                Purpose::OpenGet | Purpose::Resume | Purpose::Listen { .. }
            );
            let budget = exchange.budget;
            let wait = match budget {
                // What is left of the call's budget, counted from its request.
                Some(budget) => Duration::from_millis(
                    (exchange.sent_at.0 + budget.0).saturating_sub(self.now().0),
                ),
                None if request => self.deadlines.drain,
                None => self.deadlines.quiet,
            };
            let plan = ReadPlan {
                want: u64::MAX,
                quiet: wait,
                until: Instant::now() + wait,
            };
            if self.read_open(0, plan).await == AfterRead::Open {
                let body = self.open.remove(0);
                let at = self.now();
                // A budgeted call still working is cancelled; one that already answered and
                // kept its stream open was abandoned like any other.
                let cancelled = budget.is_some() && !self.answered(body.stream);
                self.trace.streams[body.stream].end = Some(if request && !cancelled {
                    StreamEnd::Abandoned { at }
                } else {
                    StreamEnd::Dropped { at }
                });
            }
        }
        let held: Vec<usize> = (0..self.trace.sessions.len())
            .filter(|&session| {
                let record = &self.trace.sessions[session];
                record.deleted_by.is_none() && record.id.is_some()
            })
            .collect();
        for session in held {
            let slot = self.trace.sessions[session].slot;
            // The slot may hold a later session: point it at this one for the DELETE.
            let kept = self.slots[slot];
            self.slots[slot] = SlotState::Live(session);
            let slot_of = Slot::of_index(slot);
            let exchange = self
                .send_and_finish(Send::new(Method::DELETE, Purpose::Delete, Some(slot_of)))
                .await;
            self.slots[slot] = kept;
            if self.accepted(exchange) {
                self.trace.sessions[session].deleted_by = Some(exchange);
            }
        }
        sleep(self.deadlines.wind_down).await;
        self.settle().await;
        self.checkpoint(CheckpointKind::Teardown);
    }
}

/// Splits `body` into the upload's chunks and queues them in a channel body, aborting after
/// the chosen chunk; every chunk is queued before the request is sent, so the upload never
/// waits on the target.
fn upload(body: Bytes, plan: Option<&Upload>) -> (RequestBody, UploadRecord) {
    let sizes: Vec<usize> = plan.map_or_else(Vec::new, |plan| {
        plan.chunks.iter().map(|&n| usize::from(n)).collect()
    });
    let chunks = cut_cycling(&body, &sizes);
    let abort_after = plan
        .and_then(|plan| plan.abort_after)
        .map(usize::from)
        .filter(|&after| after < chunks.len());
    let sent = abort_after.unwrap_or(chunks.len());
    let (mut sender, channel) = RequestBody::new(sent + 1);
    let mut record = UploadRecord {
        chunks: sent,
        aborted: abort_after.is_some(),
        ..UploadRecord::default()
    };
    for chunk in &chunks[..sent] {
        record.bytes += chunk.len();
        // The channel has room for every chunk, so this cannot fail.
        let _ = sender.try_send(http_body::Frame::data(body.slice_ref(chunk)));
    }
    if record.aborted {
        sender.abort("the client aborted the upload".into());
    }
    (channel, record)
}

/// The `protocolVersion` of the initialize result (request `rpc_id`) on `stream`.
fn negotiated_version(stream: &StreamRecord, rpc_id: u64) -> Option<String> {
    let from = |text: &str| {
        let value: Value = serde_json::from_str(text).ok()?;
        (value.get("id")?.as_u64()? == rpc_id)
            .then(|| {
                value
                    .pointer("/result/protocolVersion")?
                    .as_str()
                    .map(str::to_owned)
            })
            .flatten()
    };
    stream
        .events
        .iter()
        .find_map(|event| from(&event.data))
        .or_else(|| from(&stream.text))
}

/// Whether the `server/discover` result (request `rpc_id`) on `stream` lists 2026-07-28.
fn discovered(stream: &StreamRecord, rpc_id: u64) -> bool {
    let lists = |text: &str| {
        serde_json::from_str::<Value>(text).is_ok_and(|value| {
            value.get("id").and_then(Value::as_u64) == Some(rpc_id)
                && value
                    .pointer("/result/supportedVersions")
                    .and_then(Value::as_array)
                    .is_some_and(|versions| {
                        versions
                            .iter()
                            .any(|v| v.as_str() == Some(STATELESS_VERSION))
                    })
        })
    };
    stream.events.iter().any(|event| lists(&event.data)) || lists(&stream.text)
}
