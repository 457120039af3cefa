//! What the server's handle, its bodies and its tasks share: the configuration, the clock,
//! the task counts and the state behind one lock.

use std::sync::{Mutex, MutexGuard, PoisonError};

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
    /// Never held across an await, nor while dropping a body or a task.
    state: Mutex<State>,
}

impl Shared {
    pub fn new(config: ServerConfig) -> Result<Self, ConfigError> {
        let config = config.validated()?;
        let state = State::new(&config)?;
        Ok(Self {
            config,
            clock: Clock::start(),
            tasks: LiveTasks::default(),
            state: Mutex::new(state),
        })
    }

    /// The state, locked. A panic while it was held (a bug of the server) does not take the
    /// rest of the server down with it.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Applies the deadlines of `pipe` now; see [`State::tick`].
    pub fn tick(&self, pipe: PipeId) -> Option<Millis> {
        let mut state = self.lock();
        state.tick(pipe, self.now())
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut snapshot = self.lock().snapshot();
        snapshot.tasks = self.tasks.counts();
        snapshot
    }
}
