//! The resource ledger: what a model holds, counted as it is acquired and released.

/// One resource a model holds on behalf of a stream or a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// A buffered chunk or log entry of this many bytes.
    Buffer {
        /// The buffer's length in bytes.
        bytes: usize,
    },
    /// An armed timer (an idle or duration deadline, a session's expiry).
    Timer,
    /// A live handle: a connection, a stream's state, a session's state.
    Handle,
}

/// Counts of the resources held, by kind.
///
/// Invariant: every [`Ledger::acquire`] is matched by exactly one [`Ledger::release`] of the same
/// resource by the time its owner is closed or ended, so a ledger shared by models that have all
/// closed is back at zero ([`Ledger::is_zero`]). A release with nothing left to release is a bug
/// of the model; it saturates at zero and is remembered ([`Ledger::overdrawn`]) rather than
/// panicking, so the properties report it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    buffers: usize,
    buffered_bytes: usize,
    timers: usize,
    handles: usize,
    overdrawn: bool,
}

impl Ledger {
    /// An empty ledger: nothing held, nothing overdrawn.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one more `resource` as held.
    pub fn acquire(&mut self, resource: Resource) {
        match resource {
            Resource::Buffer { bytes } => {
                self.buffers += 1;
                self.buffered_bytes += bytes;
            }
            Resource::Timer => self.timers += 1,
            Resource::Handle => self.handles += 1,
        }
    }

    /// Counts one `resource` as released; a release of what is not held marks the ledger overdrawn.
    pub fn release(&mut self, resource: Resource) {
        match resource {
            Resource::Buffer { bytes } => {
                self.buffers = self.take(self.buffers, 1);
                self.buffered_bytes = self.take(self.buffered_bytes, bytes);
            }
            Resource::Timer => self.timers = self.take(self.timers, 1),
            Resource::Handle => self.handles = self.take(self.handles, 1),
        }
    }

    fn take(&mut self, held: usize, amount: usize) -> usize {
        self.overdrawn |= held < amount;
        held.saturating_sub(amount)
    }

    /// Nothing is held, and nothing was ever released twice.
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }

    /// Buffers held (chunks, log entries).
    pub fn buffers(&self) -> usize {
        self.buffers
    }

    /// Bytes held in buffers.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered_bytes
    }

    /// Timers armed.
    pub fn timers(&self) -> usize {
        self.timers
    }

    /// Live handles: connections, stream states, session states.
    pub fn handles(&self) -> usize {
        self.handles
    }

    /// Whether some release found nothing to release (a double release: a model bug).
    pub fn overdrawn(&self) -> bool {
        self.overdrawn
    }
}
