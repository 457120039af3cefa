//! The model's injected clock: time is a number the caller passes in, never read from the OS.

use std::fmt;

/// Milliseconds on the injected clock: an instant (time since the clock's origin) or a span.
///
/// Every model call that can be affected by time takes `now: Millis`, so the same calls with the
/// same instants always give the same result. Arithmetic saturates: an instant never wraps, and
/// an instant earlier than one already seen reads as "no time has passed".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Millis(pub u64);

impl Millis {
    /// The clock's origin, or an empty span.
    pub const ZERO: Millis = Millis(0);

    /// This instant moved `span` later, saturating at the end of time.
    pub const fn after(self, span: Millis) -> Millis {
        Millis(self.0.saturating_add(span.0))
    }

    /// The span from `earlier` to this instant; zero if `earlier` is later.
    pub const fn since(self, earlier: Millis) -> Millis {
        Millis(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}
