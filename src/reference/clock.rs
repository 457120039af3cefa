//! The server's clock: tokio's, read as [`Millis`] since the server started.

use std::time::Duration;

use tokio::time::Instant;

use crate::model::Millis;

/// Tokio's clock relative to the server's start, so that under a current-thread runtime with
/// `tokio::time::pause()` every instant the models see is deterministic.
#[derive(Debug)]
pub(crate) struct Clock {
    start: Instant,
}

impl Clock {
    pub(crate) fn start() -> Self {
        Self {
            start: Instant::now(),
        }
    }

    /// The time since the start, rounded down to the millisecond.
    pub(crate) fn now(&self) -> Millis {
        let elapsed = Instant::now().saturating_duration_since(self.start);
        Millis(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
    }

    /// Sleeps until `at` has been reached (`now() >= at` afterwards); an instant beyond what
    /// the clock can represent is never reached.
    pub(crate) async fn sleep_until(&self, at: Millis) {
        match self.start.checked_add(Duration::from_millis(at.0)) {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => std::future::pending().await,
        }
    }
}
