//! Resource probes: what a server behind a socket holds, read from /proc alone, around units
//! of work the suite repeats.
//!
//! One reading of a collected heap proves nothing, so each probe compares readings:
//! - [`ProbeKind::Dose`] and [`ProbeKind::AbortedDose`]: a unit of work (a session that calls
//!   one tool with fresh, heavy arguments and ends; or, for a tool that streams, a session
//!   whose heavy stream the client closes after 4 KiB) repeated N, 2N and 4N times after a
//!   warm-up;
//! - [`ProbeKind::Unread`]: a heavy stream left unread, beside a control that reads it all;
//! - [`ProbeKind::Abort`]: an endless stream ([`Shape::Endless`]) closed by the client after
//!   4 KiB, then its session ended: the CPU the server uses after each, and the descriptors
//!   and memory it holds once quiet again;
//! - [`ProbeKind::StatelessAbort`]: the same endless stream asked for by a 2026-07-28 client
//!   (no session) and closed after 4 KiB: from that revision on the close cancels the request,
//!   so the CPU the server uses in the window after it is work nobody will receive. Planned
//!   only when the server lists 2026-07-28 in `server/discover`.
//!
//! Each probe is a [`ProbeSpec`] (its reproducer, as JSON), runs through the executor with a
//! catalog pinned to one tool ([`ToolCatalog::pinned`]), and yields a [`ProbeTrace`] that
//! [`crate::oracle::judge_probe`] judges. Before each reading the server gets a quiet settle:
//! its CPU time must stop advancing. A Node server started with its inspector
//! (`--node-inspect`) also gets an exact heap reading after a forced collection.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::sleep;

use crate::adapter::socket::inspector::live_heap_after_gc;
use crate::adapter::Target;
use crate::executor::{execute_with_tools, Deadlines, Shape, ToolCatalog};
use crate::oracle::Oracle;
use crate::scenario::{CacheKey, Era, Op, Scenario, Slot, StreamPick, ToolCall, Upload, Version};
use crate::trace::{CheckpointKind, Policy, ProbeTrace, Resources, Trace};

/// The units between the first two readings of a dose probe, unless the user says otherwise.
pub const DEFAULT_DOSE: u32 = 8;

/// How long an unread stream is held before its reading, and the window after a close in which
/// the server's CPU time is watched.
const HOLD: Duration = Duration::from_millis(1000);

/// How long the abort probe waits between the client's close and the session's DELETE: long
/// enough for the server to see the close, and short, as work that goes on while the session
/// lives is not judged (before 2026-07-28 a disconnect is not a cancel).
const CLOSE_WINDOW: Duration = Duration::from_millis(250);

/// How many bytes of a heavy stream a sizing read takes at most (8 reads of 64 KiB - 1).
const SIZING_READS: usize = 8;

/// A tool whose heavy call streams at least this much within the sizing reads is probed with
/// streams (aborted doses, unread, abort).
const HEAVY_STREAM_BYTES: u64 = 256 << 10;

/// The findings a probe can give, which `replay` recognises in a sidecar: those of its
/// readings, and the byte cap of the stream its unread probe's control reads to the end.
pub const PROBE_FINDINGS: [(Oracle, &str); 7] = [
    (Oracle::Leak, "grows-with-dose"),
    (Oracle::Backpressure, "held-while-unread"),
    (Oracle::CancelCleanup, "work-after-session-end"),
    (Oracle::Cancellation, "work-after-close"),
    (Oracle::CancelCleanup, "descriptors-kept-after-close"),
    (Oracle::CancelCleanup, "memory-kept-after-close"),
    (Oracle::ByteCap, "over-cap"),
];

/// What one probe gave.
#[derive(Debug)]
pub struct ProbeRun {
    /// The unit of work it repeats.
    pub scenario: Scenario,
    /// Its readings.
    pub probe: ProbeTrace,
    /// The trace of a heavy stream read to its end (the unread probe's control), for the
    /// byte cap.
    pub control: Option<Trace>,
}

/// What a probe does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeKind {
    /// Sessions that call the tool once with fresh, heavy arguments, then DELETE.
    Dose,
    /// Sessions that call the tool with heavy arguments, read 4 KiB, close the stream, DELETE.
    AbortedDose,
    /// A heavy stream left unread, and a control that reads it all.
    Unread,
    /// A heavy stream read a little, closed, and the server's CPU time watched.
    Abort,
    /// As [`ProbeKind::Abort`], from a 2026-07-28 client: the close alone cancels.
    StatelessAbort,
}

/// One probe, as its reproducer file holds it (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeSpec {
    /// What it does.
    pub kind: ProbeKind,
    /// The tool its units call.
    pub tool: String,
    /// N, for the dose probes.
    pub dose: u32,
}

impl ProbeSpec {
    /// The spec as its reproducer file holds it.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a spec always serialises")
    }

    /// The spec a reproducer file holds, if it holds one.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }

    /// What one unit does, in words.
    fn unit_words(&self) -> &'static str {
        match self.kind {
            ProbeKind::Dose => {
                "a session calls the tool once with fresh, heavy arguments, then DELETE"
            }
            ProbeKind::AbortedDose => {
                "a session calls the tool with heavy arguments, reads 4 KiB, closes the stream, \
                 then DELETE"
            }
            ProbeKind::Unread | ProbeKind::Abort | ProbeKind::StatelessAbort => "one heavy call",
        }
    }
}

/// Runs probes against one server whose process group the target reads.
pub struct Prober<'a> {
    target: &'a mut dyn Target,
    tools: &'a ToolCatalog,
    policy: Policy,
    /// The port of the server's Node inspector, for exact heap readings.
    inspector: Option<u16>,
    /// Fresh values of each unit start here, so no two units repeat an argument.
    next_fresh: u64,
    /// Whether the server lists 2026-07-28 in `server/discover`, once asked.
    speaks_stateless: Option<bool>,
}

impl<'a> Prober<'a> {
    /// A prober of `target`, calling the tools of `tools`; `inspector` is the port of the
    /// server's Node inspector, if it has one.
    pub fn new(
        target: &'a mut dyn Target,
        tools: &'a ToolCatalog,
        policy: Policy,
        inspector: Option<u16>,
    ) -> Self {
        Self {
            target,
            tools,
            policy,
            inspector,
            next_fresh: 1 << 32,
            speaks_stateless: None,
        }
    }

    /// Whether the target shows its server's resources (it started the server itself).
    pub fn can_probe(&self) -> bool {
        self.target.resources().rss_bytes.is_some()
    }

    /// The probes worth running, learnt by calling each tool (of `only`, when it names any)
    /// once with heavy arguments: for a tool that streams at least [`HEAVY_STREAM_BYTES`], an
    /// aborted dose, an unread stream and an abort (and a stateless abort, when the run's era
    /// takes 2026-07-28 and the server speaks it); for any other, a dose.
    pub async fn plan(&mut self, dose: u32, only: &[String]) -> Vec<ProbeSpec> {
        let mut specs = Vec::new();
        let tools = self.tools.tools().iter().map(|t| t.name.clone());
        for tool in tools.filter(|tool| only.is_empty() || only.contains(tool)) {
            let mut ops = session_ops();
            ops.push(call());
            ops.extend((0..SIZING_READS).map(|_| Op::Read {
                stream: StreamPick(0),
                bytes: u16::MAX,
            }));
            ops.push(Op::DropResponse {
                stream: StreamPick(0),
            });
            ops.push(delete());
            let trace = self.unit(&tool, Shape::Heavy, &ops).await;
            let mut kinds = if streamed(&trace) >= HEAVY_STREAM_BYTES {
                vec![ProbeKind::AbortedDose, ProbeKind::Unread, ProbeKind::Abort]
            } else {
                vec![ProbeKind::Dose]
            };
            if kinds.contains(&ProbeKind::Abort) && self.speaks_stateless(&tool).await {
                kinds.push(ProbeKind::StatelessAbort);
            }
            specs.extend(kinds.iter().map(|&kind| ProbeSpec {
                kind,
                tool: tool.clone(),
                dose,
            }));
        }
        // Doses first: the memory that unread and endless streams churn would be released
        // during a later dose and hide its growth.
        specs.sort_by_key(|spec| spec.kind);
        specs
    }

    /// Runs `spec`.
    pub async fn run(&mut self, spec: &ProbeSpec) -> ProbeRun {
        match spec.kind {
            ProbeKind::Dose | ProbeKind::AbortedDose => self.dose(spec).await,
            ProbeKind::Unread => self.unread(spec).await,
            ProbeKind::Abort => self.abort(spec).await,
            ProbeKind::StatelessAbort => self.stateless_abort(spec).await,
        }
    }

    /// Whether the run's era takes 2026-07-28 and the server lists it in `server/discover`
    /// (asked once, in a unit pinned to `tool`).
    async fn speaks_stateless(&mut self, tool: &str) -> bool {
        if self.policy.era == Era::Sessions {
            return false;
        }
        if let Some(speaks) = self.speaks_stateless {
            return speaks;
        }
        // In a run of both eras, a client whose server does not list 2026-07-28 opens a
        // session instead: the record says which it got.
        let asking = Policy {
            era: Era::Both,
            ..self.policy
        };
        let discover = [Op::Discover {
            client: Slot::of_index(0),
        }];
        let trace = self.unit_in(asking, tool, Shape::Heavy, &discover).await;
        let speaks = trace.sessions.first().is_some_and(|s| s.stateless);
        self.speaks_stateless = Some(speaks);
        speaks
    }

    async fn dose(&mut self, spec: &ProbeSpec) -> ProbeRun {
        let mut ops = session_ops();
        ops.push(call());
        if spec.kind == ProbeKind::AbortedDose {
            ops.push(Op::Read {
                stream: StreamPick(0),
                bytes: 4096,
            });
            ops.push(Op::DropResponse {
                stream: StreamPick(0),
            });
        }
        ops.push(delete());
        let dose = spec.dose.max(1);
        let mut points = [Resources::default(); 4];
        for (point, units) in points.iter_mut().zip([dose, dose, dose, 2 * dose]) {
            for _ in 0..units {
                self.unit(&spec.tool, Shape::Heavy, &ops).await;
            }
            *point = self.quiet_reading().await;
        }
        let probe = ProbeTrace::Dose {
            tool: spec.tool.clone(),
            unit: spec.unit_words(),
            dose,
            points,
        };
        ProbeRun {
            scenario: Scenario { ops },
            probe,
            control: None,
        }
    }

    async fn unread(&mut self, spec: &ProbeSpec) -> ProbeRun {
        let mut ops = session_ops();
        ops.push(call());
        ops.push(Op::Stall {
            millis: HOLD.as_millis() as u16,
        });
        ops.push(Op::DropResponse {
            stream: StreamPick(0),
        });
        ops.push(delete());
        let unread_before = self.quiet_reading().await;
        // The exact heap is read while the stream is held (the inspector needs no part of the
        // target); RSS comes from the reading the executor takes when the hold ends.
        let inspector = self.inspector;
        let held_heap = async move {
            sleep(HOLD * 3 / 4).await;
            match inspector {
                Some(port) => live_heap_after_gc(port).await,
                None => None,
            }
        };
        let (trace, gc_heap_bytes) =
            tokio::join!(self.unit(&spec.tool, Shape::Heavy, &ops), held_heap);
        let unread_held = Resources {
            gc_heap_bytes,
            ..trace
                .checkpoints
                .iter()
                .find(|c| c.kind == CheckpointKind::AfterStall)
                .map(|c| c.resources)
                .unwrap_or_default()
        };
        let mut control = session_ops();
        control.push(call());
        let control_before = self.quiet_reading().await;
        let trace = self.unit(&spec.tool, Shape::Heavy, &control).await;
        let control_after = self.quiet_reading().await;
        let probe = ProbeTrace::Unread {
            tool: spec.tool.clone(),
            unread_before,
            unread_held,
            held_ms: HOLD.as_millis() as u64,
            control_before,
            control_after,
            control_bytes: streamed(&trace),
        };
        ProbeRun {
            scenario: Scenario { ops },
            probe,
            control: Some(trace),
        }
    }

    async fn abort(&mut self, spec: &ProbeSpec) -> ProbeRun {
        let hold = Op::Stall {
            millis: HOLD.as_millis() as u16,
        };
        let mut ops = session_ops();
        ops.push(call());
        ops.push(Op::Read {
            stream: StreamPick(0),
            bytes: 4096,
        });
        ops.push(Op::DropResponse {
            stream: StreamPick(0),
        });
        let window = ops.len();
        ops.push(Op::Stall {
            millis: CLOSE_WINDOW.as_millis() as u16,
        });
        ops.push(delete());
        let ended = ops.len();
        // A reading as soon as the DELETE is answered, then the second window.
        ops.push(Op::Stall { millis: 0 });
        ops.push(hold);
        let before = self.quiet_reading().await;
        let trace = self.unit(&spec.tool, Shape::Endless, &ops).await;
        let settled = self.quiet_reading().await;
        let at = |kind, step| checkpoint(&trace, kind, step);
        let probe = ProbeTrace::Abort {
            tool: spec.tool.clone(),
            read_bytes: streamed(&trace),
            before,
            settled,
            after_close: at(CheckpointKind::AfterDrop, window - 1),
            after_window: at(CheckpointKind::AfterStall, window),
            after_end: at(CheckpointKind::AfterStall, ended),
            after_end_window: at(CheckpointKind::AfterStall, ended + 1),
            close_window_ms: CLOSE_WINDOW.as_millis() as u64,
            window_ms: HOLD.as_millis() as u64,
        };
        ProbeRun {
            scenario: Scenario { ops },
            probe,
            control: None,
        }
    }

    /// A 2026-07-28 client calls the tool endlessly, reads 4 KiB and closes the stream: the
    /// group right after the close and a window later, and once quiet before and after.
    async fn stateless_abort(&mut self, spec: &ProbeSpec) -> ProbeRun {
        let client = Slot::of_index(0);
        let mut ops = vec![Op::Discover { client }, call()];
        ops.push(Op::Read {
            stream: StreamPick(0),
            bytes: 4096,
        });
        ops.push(Op::DropResponse {
            stream: StreamPick(0),
        });
        let closed = ops.len() - 1;
        ops.push(Op::Stall {
            millis: HOLD.as_millis() as u16,
        });
        let before = self.quiet_reading().await;
        let stateless = Policy {
            era: Era::Stateless,
            ..self.policy
        };
        let trace = self
            .unit_in(stateless, &spec.tool, Shape::Endless, &ops)
            .await;
        let settled = self.quiet_reading().await;
        let at = |kind, step| checkpoint(&trace, kind, step);
        let probe = ProbeTrace::StatelessAbort {
            tool: spec.tool.clone(),
            read_bytes: streamed(&trace),
            before,
            settled,
            after_close: at(CheckpointKind::AfterDrop, closed),
            after_window: at(CheckpointKind::AfterStall, closed + 1),
            window_ms: HOLD.as_millis() as u64,
        };
        ProbeRun {
            scenario: Scenario { ops },
            probe,
            control: None,
        }
    }

    /// Runs one unit: `ops` with every call pinned to `tool` in `shape`, its fresh values never
    /// used before.
    async fn unit(&mut self, tool: &str, shape: Shape, ops: &[Op]) -> Trace {
        self.unit_in(self.policy, tool, shape, ops).await
    }

    /// [`Prober::unit`] under `policy` (the era of the unit's clients).
    async fn unit_in(&mut self, policy: Policy, tool: &str, shape: Shape, ops: &[Op]) -> Trace {
        self.next_fresh += 1 << 16;
        let Some(tools) = self.tools.pinned(tool, shape, self.next_fresh) else {
            return Trace::default();
        };
        let scenario = Scenario { ops: ops.to_vec() };
        let deadlines = Deadlines {
            max_stall: HOLD,
            // Long enough for the server to see a closed stream before the `AfterDrop` reading.
            settle: Duration::from_millis(50),
            ..Deadlines::real_time()
        };
        execute_with_tools(self.target, &scenario, policy, deadlines, &tools).await
    }

    /// The group's resources once the server is quiet: after its CPU time stopped advancing
    /// (at most 5 ms in 50 ms, for at most 2 s), the median of three readings 30 ms apart (by
    /// RSS).
    async fn quiet_reading(&mut self) -> Resources {
        sleep(Duration::from_millis(100)).await;
        for _ in 0..40 {
            let before = self.target.resources().cpu_ms;
            sleep(Duration::from_millis(50)).await;
            let after = self.target.resources().cpu_ms;
            match (before, after) {
                (Some(before), Some(after)) if after.saturating_sub(before) > 5 => {}
                _ => break,
            }
        }
        let mut readings = Vec::with_capacity(3);
        for _ in 0..3 {
            readings.push(self.target.resources());
            sleep(Duration::from_millis(30)).await;
        }
        readings.sort_by_key(|r| r.rss_bytes);
        let mut reading = readings[1];
        if let Some(port) = self.inspector {
            reading.gc_heap_bytes = live_heap_after_gc(port).await;
        }
        reading
    }
}

/// Initialize and initialized on session slot 0.
fn session_ops() -> Vec<Op> {
    let session = Slot::of_index(0);
    vec![
        Op::Initialize {
            session,
            version: Version::V2025_06_18,
        },
        Op::Initialized { session },
    ]
}

/// One call on session slot 0 (the pinned catalog decides its tool and arguments).
fn call() -> Op {
    Op::Call {
        session: Slot::of_index(0),
        call: ToolCall::FetchCached {
            key: CacheKey::Fresh,
        },
        upload: Upload {
            chunks: Vec::new(),
            abort_after: None,
        },
    }
}

fn delete() -> Op {
    Op::Delete {
        session: Slot::of_index(0),
    }
}

/// The reading the executor took at `kind` after op `step`, or none.
fn checkpoint(trace: &Trace, kind: CheckpointKind, step: usize) -> Resources {
    trace
        .checkpoints
        .iter()
        .find(|c| c.kind == kind && c.step == step)
        .map(|c| c.resources)
        .unwrap_or_default()
}

/// The body bytes the client received on the trace's first call's stream.
fn streamed(trace: &Trace) -> u64 {
    trace.streams.iter().map(|s| s.bytes).max().unwrap_or(0)
}
