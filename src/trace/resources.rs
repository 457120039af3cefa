//! What a target holds at one instant, as far as it can tell: the leak and cleanup evidence.

use serde::Serialize;

use crate::alloc::Heap;

/// A resource snapshot. Every count is `None` when the target cannot see it; an oracle judges
/// only what is `Some`. Counts named after the server's own notions (sessions, connections,
/// listeners, ...) come from the target; `heap` and `runtime_tasks` from the executor (in
/// process); `rss_bytes` and `open_fds` from /proc (a process).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Resources {
    /// What the server side holds on the executor's thread (in process only), from the
    /// counting allocator: the client's own blocks, such as the trace, are not in it.
    pub heap: Option<Heap>,
    /// Tasks alive in the executor's runtime (every task of an in-process target).
    pub runtime_tasks: Option<usize>,
    /// Tasks the target itself counts (requests, timers, monitors).
    pub server_tasks: Option<usize>,
    /// Sessions the server holds, as it counts them.
    pub sessions: Option<usize>,
    /// Stateless (2026-07-28) requests the server is still working on.
    pub stateless_requests: Option<usize>,
    /// Streams kept by sessions (live, or kept for resumption).
    pub streams: Option<usize>,
    /// Events kept in resumption logs.
    pub logged_events: Option<usize>,
    /// Response bodies the server tracks for clients.
    pub connections: Option<usize>,
    /// Request bodies the server holds (being read, or kept).
    pub uploads: Option<usize>,
    /// Bytes buffered for readers, over all connections.
    pub held_bytes: Option<usize>,
    /// The most bytes buffered for any one reader.
    pub max_held_bytes: Option<usize>,
    /// Subscription listeners the server holds (the reference's `subscribe` topics).
    pub listeners: Option<usize>,
    /// Periodic timers (intervals, monitors).
    pub timers: Option<usize>,
    /// Entries in the server's tool caches, per-session and global together.
    pub cache_entries: Option<usize>,
    /// Resident set size of the server's process group, in bytes, from /proc.
    pub rss_bytes: Option<u64>,
    /// Open file descriptors of the server's process group, from /proc (sockets included).
    pub open_fds: Option<usize>,
    /// Proportional set size of the group in bytes (shared pages divided among their users),
    /// from `/proc/PID/smaps_rollup` where the kernel offers it.
    pub pss_bytes: Option<u64>,
    /// Of [`Self::open_fds`], the sockets (connections and listeners).
    pub socket_fds: Option<usize>,
    /// Threads of the group's processes.
    pub threads: Option<usize>,
    /// CPU time the group has used so far (user and system), in milliseconds.
    pub cpu_ms: Option<u64>,
    /// Live bytes of the server's collected heap right after a forced collection, where the
    /// runtime lets the suite force one (Node's inspector: `heapUsed + external`).
    pub gc_heap_bytes: Option<u64>,
}
