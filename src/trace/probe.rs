//! What a resource probe observed: readings of a server's process group (from /proc) around
//! repeated units of work, for the oracles that judge resources from outside.

use serde::Serialize;

use super::Resources;

/// The readings of one probe, by kind of probe.
// A run makes a handful of these (one per probe), never a collection: boxing the larger
// variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "probe", rename_all = "kebab-case")]
pub enum ProbeTrace {
    /// Dose-response: the group after a warm-up of `dose` units, then after `dose`, `2 *
    /// dose` and `4 * dose` units in all, each reading taken once the server was quiet.
    Dose {
        /// The tool each unit calls.
        tool: String,
        /// What one unit does, in words.
        unit: &'static str,
        /// N: the units between the first two readings.
        dose: u32,
        /// Readings at 0 (after the warm-up), N, 2N and 4N units.
        points: [Resources; 4],
    },
    /// Backpressure: a heavy stream left unread, beside a control that reads the same stream
    /// to its end.
    Unread {
        /// The tool called.
        tool: String,
        /// Before the unread call.
        unread_before: Resources,
        /// While the stream was held open and unread, `held_ms` after the call.
        unread_held: Resources,
        /// How long the stream was held unread before the reading, in milliseconds.
        held_ms: u64,
        /// Before the control call.
        control_before: Resources,
        /// After the control read its stream to the end (and the server was quiet).
        control_after: Resources,
        /// Bytes the control read.
        control_bytes: u64,
    },
    /// Cancel cleanup: a heavy stream read a little, then closed by the client, then its
    /// session ended by DELETE; the group just after the close and `close_window_ms` later, just
    /// after the DELETE and `window_ms` later, and once quiet before the call and after all of it.
    Abort {
        /// The tool called.
        tool: String,
        /// Bytes read before the close.
        read_bytes: u64,
        /// Before the call (the server quiet).
        before: Resources,
        /// After the second window (the server quiet again).
        settled: Resources,
        /// Right after the close.
        after_close: Resources,
        /// `close_window_ms` after that, with the session still live.
        after_window: Resources,
        /// The time between the close and the session's DELETE, in milliseconds.
        close_window_ms: u64,
        /// Right after the session's DELETE was answered.
        after_end: Resources,
        /// `window_ms` after that.
        after_end_window: Resources,
        /// The time between the two readings after the DELETE, in milliseconds.
        window_ms: u64,
    },
    /// Cancellation in the 2026-07-28 era: a heavy stream of a client without a session,
    /// read a little, then closed (which cancels its request); the group just after the close
    /// and `window_ms` later, and once quiet before the call and after all of it.
    StatelessAbort {
        /// The tool called.
        tool: String,
        /// Bytes read before the close.
        read_bytes: u64,
        /// Before the call (the server quiet).
        before: Resources,
        /// After the window (the server quiet again).
        settled: Resources,
        /// Right after the close.
        after_close: Resources,
        /// `window_ms` after that.
        after_window: Resources,
        /// The time between the two readings after the close, in milliseconds.
        window_ms: u64,
    },
}
