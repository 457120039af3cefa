//! What a check reports: the invariant that broke, what was seen, and after which op.

use std::fmt;

/// An invariant of the models, as the property suites name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Invariant {
    /// An answer fits the op that was asked (a chunk within the maximum is not refused as too
    /// large, an open stream takes offers, ...).
    Answer,
    /// The bytes a reader gets are at most the byte cap plus one terminal event, which comes
    /// last (`byte_caps`).
    ByteCap,
    /// Buffered bytes never exceed the high-water mark plus one chunk, nor buffered chunks the
    /// chunk mark (`byte_caps`).
    HighWater,
    /// A stream with no read progress for the idle timeout, or older than its maximum
    /// duration, is closed, not earlier, and ends with that deadline's terminal event
    /// (`deadlines`).
    Deadline,
    /// The ledger holds exactly what is live, and is at zero once everything has ended
    /// (`cleanup`).
    Ledger,
    /// Sessions and streams live, refuse and end as their contract says: unknown once ended or
    /// expired, caps and the one standalone stream enforced, ids fresh (`cleanup`).
    Lifecycle,
    /// A resume returns only the asking session's events on the id's stream, strictly after
    /// the id, in order and without a gap unless it reports `Evicted`; or the one right
    /// refusal (`resume_isolation`).
    Isolation,
    /// An id this server did not mint (mutated, invented, another server's) is refused
    /// (`resume_isolation`).
    Forgery,
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Invariant::Answer => "answers fit their ops",
            Invariant::ByteCap => "at most the byte cap plus one terminal event is delivered",
            Invariant::HighWater => "buffering stays within the high-water mark plus one chunk",
            Invariant::Deadline => "the idle and duration deadlines close the stream on time",
            Invariant::Ledger => "the ledger holds exactly what is live",
            Invariant::Lifecycle => "sessions and streams keep their lifecycle",
            Invariant::Isolation => "a resume replays only its own stream, after the id",
            Invariant::Forgery => "ids this server did not mint are refused",
        })
    }
}

/// A broken invariant. Made only on failure, so a passing check allocates nothing for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The invariant that broke.
    pub invariant: Invariant,
    /// What was seen, in words.
    pub detail: String,
    /// The op (0-based) after which it was seen; `None` for the checks at the end of a case.
    pub op: Option<usize>,
}

impl Violation {
    /// A violation of `invariant`, seen at the end of a case until [`Self::after_op`] says when.
    pub fn new(invariant: Invariant, detail: String) -> Self {
        Self {
            invariant,
            detail,
            op: None,
        }
    }

    /// Records that the violation was seen after op number `op`.
    pub fn after_op(self, op: usize) -> Self {
        Self {
            op: Some(op),
            ..self
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "broken invariant ({}): {}", self.invariant, self.detail)?;
        match self.op {
            Some(op) => write!(f, " [after op #{op}]"),
            None => f.write_str(" [at the end of the case]"),
        }
    }
}

impl std::error::Error for Violation {}

/// `ensure!(condition, Invariant::X, "format", args...)` returns the violation when the
/// condition is false; the message is formatted only then.
macro_rules! ensure {
    ($condition:expr, $invariant:expr, $($detail:tt)+) => {
        if !$condition {
            return Err($crate::model::check::Violation::new($invariant, format!($($detail)+)));
        }
    };
}
pub(crate) use ensure;
