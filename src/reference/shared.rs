//! What the server's handle, its bodies and its tasks share: the configuration, the clock,
//! the task and upload counts, the server's stop signal and the state behind one lock.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use super::clock::Clock;
use super::config::{ConfigError, ServerConfig};
use super::snapshot::Snapshot;
use super::state::{PipeId, State};
use super::tasks::LiveTasks;
use crate::model::Millis;

#[derive(Debug)]
pub(crate) struct Shared {
    pub config: ServerConfig,
    pub clock: Clock,
    pub tasks: LiveTasks,
    /// Request bodies held, counted by [`Upload`].
    uploads: AtomicUsize,
    /// Resolves (with an error) when the server's last handle is dropped: the end of the
    /// tasks that serve the server rather than a session (only a bug spawns any).
    pub stopped: watch::Receiver<()>,
    /// Never held across an await, nor while dropping a body or a task.
    state: Mutex<State>,
}

impl Shared {
    /// The server's shared part; `stopped` is the receiving end of the owner's stop signal.
    pub(crate) fn new(
        config: ServerConfig,
        stopped: watch::Receiver<()>,
    ) -> Result<Self, ConfigError> {
        let config = config.validated()?;
        let state = State::new(&config)?;
        Ok(Self {
            config,
            clock: Clock::start(),
            tasks: LiveTasks::default(),
            uploads: AtomicUsize::new(0),
            stopped,
            state: Mutex::new(state),
        })
    }

    /// The state, locked. A panic while it was held (a bug of the server) does not take the
    /// rest of the server down with it.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Applies the deadlines of `pipe` now; see [`State::tick`].
    pub(crate) fn tick(&self, pipe: PipeId) -> Option<Millis> {
        let mut state = self.lock();
        state.tick(pipe, self.now())
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let mut snapshot = self.lock().snapshot();
        snapshot.tasks = self.tasks.counts();
        snapshot.uploads = self.uploads.load(Ordering::Relaxed);
        snapshot
    }
}

/// Counts one request body in [`Snapshot::uploads`] for as long as it lives: while the body
/// is read (and, under [`super::Bug::NoAbortCleanup`], while a failed one is kept).
#[derive(Debug)]
pub(crate) struct Upload(Arc<Shared>);

impl Upload {
    pub(super) fn new(shared: &Arc<Shared>) -> Self {
        shared.uploads.fetch_add(1, Ordering::Relaxed);
        Self(Arc::clone(shared))
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        self.0.uploads.fetch_sub(1, Ordering::Relaxed);
    }
}
