//! What the server holds, counted: the numbers the leak and cleanup oracles compare.

use crate::model::Ledger;

/// Counts of a [`Ledger`], as plain numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerTotals {
    /// Buffers held: chunks and log entries.
    pub buffers: usize,
    /// Bytes held in those buffers.
    pub buffered_bytes: usize,
    /// Timers armed.
    pub timers: usize,
    /// Live handles: connections, stream states, session states.
    pub handles: usize,
    /// A release found nothing to release: a bug of the model.
    pub overdrawn: bool,
}

impl LedgerTotals {
    /// Nothing is held, and no release was ever overdrawn.
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

impl From<&Ledger> for LedgerTotals {
    fn from(ledger: &Ledger) -> Self {
        Self {
            buffers: ledger.buffers(),
            buffered_bytes: ledger.buffered_bytes(),
            timers: ledger.timers(),
            handles: ledger.handles(),
            overdrawn: ledger.overdrawn(),
        }
    }
}

/// Live tasks of the server, by job. Every task ends with what it serves: a stream timer with
/// its stream, the others with their session at the latest (or, for the tasks a
/// [`super::Bug`] leaks, with the server's last handle).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskCounts {
    /// One per live response stream: applies its idle and duration deadlines.
    pub stream_timers: usize,
    /// One per live session: ends it when idle (and one more per session hidden by
    /// [`super::Bug::StateAfterDelete`]: keeps it from idling out).
    pub session_timers: usize,
    /// One per request being answered (and one per failed upload kept under
    /// [`super::Bug::NoAbortCleanup`]).
    pub requests: usize,
    /// One per running `monitor` tool.
    pub monitors: usize,
}

impl TaskCounts {
    /// Live tasks, all jobs together.
    pub fn total(&self) -> usize {
        self.stream_timers + self.session_timers + self.requests + self.monitors
    }
}

/// Everything the server holds at one instant. With no session live and no request body
/// being read, every count is zero and both ledgers are zero (unless a [`super::Bug`] is
/// switched on: what it keeps is counted here too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Live sessions in the session store (not counting the stateless requests' own).
    pub sessions: usize,
    /// Stateless (2026-07-28) requests in progress: each holds a session no client can name,
    /// from its arrival until its stream goes or its response is delivered.
    pub stateless_requests: usize,
    /// Streams of the session store (live, or kept after a disconnect for resumption).
    pub streams: usize,
    /// Events in the streams' resumption logs.
    pub logged_events: usize,
    /// Response bodies the server still tracks (open, or ended with a terminal event the body
    /// has not read yet).
    pub connections: usize,
    /// Connections whose bounded stream is still open (holds its deadlines and buffers).
    pub open_connections: usize,
    /// Bytes buffered for readers, over all connections.
    pub held_bytes: usize,
    /// The most bytes buffered for one reader: at most the high-water mark plus one chunk.
    pub max_held_bytes: usize,
    /// Logged frames waiting for room in a connection (a resume's replay, or the one frame a
    /// producer was refused at the high-water mark).
    pub backlog_frames: usize,
    /// Request bodies the server holds: being read (or kept after a failed upload, under
    /// [`super::Bug::NoAbortCleanup`]).
    pub uploads: usize,
    /// `subscribe` listeners over all sessions (and on the global list of
    /// [`super::Bug::ListenerAccumulation`]).
    pub listeners: usize,
    /// Running `monitor` tools over all sessions (and those of ended sessions, under
    /// [`super::Bug::IntervalLeak`]).
    pub monitors: usize,
    /// `fetch_cached` entries over all sessions (or in the global map of
    /// [`super::Bug::UnboundedCache`]).
    pub cache_entries: usize,
    /// Live tasks of the server, by job.
    pub tasks: TaskCounts,
    /// What the session store holds: sessions, streams and log entries.
    pub session_ledger: LedgerTotals,
    /// What the connections' bounded streams hold: buffers, deadline timers, handles.
    pub stream_ledger: LedgerTotals,
}

impl Snapshot {
    /// Nothing is held at all: no session, connection, task, entry or ledger count.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}
