//! The server's tasks: how they are spawned and counted, and the timers.
//!
//! Every task ends with what it serves: a stream timer when its connection closes, every
//! other task when its session ends at the latest (its end signal is dropped with the
//! session). So once every session has ended, no task of the server is left.
//!
//! Under a [`Bug`](super::Bug) some tasks outlive that: the stream timers of
//! [`NoCancelCleanup`](super::Bug::NoCancelCleanup) and the tasks of a session
//! [`StateAfterDelete`](super::Bug::StateAfterDelete) hid live until their session really
//! ends; the monitors of [`IntervalLeak`](super::Bug::IntervalLeak), and the uploads
//! [`NoAbortCleanup`](super::Bug::NoAbortCleanup) keeps for no session, wait on the server's
//! stop signal instead. So once the server's last handle is dropped (which ends every
//! session), no task of the server is left, whatever the bug.

use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;

use super::shared::Shared;
use super::snapshot::TaskCounts;
use super::state::{Connected, Destination, Gone, PipeId};
use crate::model::{Millis, SessionId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TaskKind {
    StreamTimer,
    SessionTimer,
    Request,
    Monitor,
}

/// Live tasks by kind, counted from spawn until the task's future is dropped.
#[derive(Debug, Default)]
pub(crate) struct LiveTasks {
    stream_timers: AtomicUsize,
    session_timers: AtomicUsize,
    requests: AtomicUsize,
    monitors: AtomicUsize,
}

impl LiveTasks {
    fn counter(&self, kind: TaskKind) -> &AtomicUsize {
        match kind {
            TaskKind::StreamTimer => &self.stream_timers,
            TaskKind::SessionTimer => &self.session_timers,
            TaskKind::Request => &self.requests,
            TaskKind::Monitor => &self.monitors,
        }
    }

    pub(crate) fn counts(&self) -> TaskCounts {
        let load = |kind| self.counter(kind).load(Ordering::Relaxed);
        TaskCounts {
            stream_timers: load(TaskKind::StreamTimer),
            session_timers: load(TaskKind::SessionTimer),
            requests: load(TaskKind::Request),
            monitors: load(TaskKind::Monitor),
        }
    }
}

/// Counts one task for as long as its future lives (finished, cancelled or dropped with the
/// runtime).
struct Counted {
    shared: Arc<Shared>,
    kind: TaskKind,
}

impl Counted {
    fn new(shared: &Arc<Shared>, kind: TaskKind) -> Self {
        shared.tasks.counter(kind).fetch_add(1, Ordering::Relaxed);
        Self {
            shared: Arc::clone(shared),
            kind,
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.shared
            .tasks
            .counter(self.kind)
            .fetch_sub(1, Ordering::Relaxed);
    }
}

fn spawn(shared: &Arc<Shared>, kind: TaskKind, task: impl Future<Output = ()> + Send + 'static) {
    let counted = Counted::new(shared, kind);
    tokio::spawn(async move {
        let _counted = counted;
        task.await;
    });
}

/// Spawns `task`, which ends when it finishes or when `ended` resolves (its session's end
/// signal, or [`Shared::stopped`]), whichever is first.
pub(crate) fn spawn_in_session(
    shared: &Arc<Shared>,
    kind: TaskKind,
    mut ended: watch::Receiver<()>,
    task: impl Future<Output = ()> + Send + 'static,
) {
    spawn(shared, kind, async move {
        tokio::select! {
            biased;
            // Nothing is ever sent: this resolves when the sender is dropped.
            _ = ended.changed() => {}
            () = task => {}
        }
    });
}

/// Starts the timer of a new connection: it applies the stream's deadlines at each
/// `next_deadline()`, so an idle or overlong stream closes even if its body is never polled,
/// and it ends when the connection closes.
pub(crate) fn spawn_stream_timer(shared: &Arc<Shared>, connected: Connected) {
    let Connected {
        pipe,
        first_deadline,
        closed,
    } = connected;
    let timer = stream_timer(Arc::clone(shared), pipe, first_deadline, closed);
    spawn(shared, TaskKind::StreamTimer, timer);
}

async fn stream_timer(
    shared: Arc<Shared>,
    pipe: PipeId,
    mut next: Option<Millis>,
    mut closed: tokio::sync::oneshot::Receiver<()>,
) {
    while let Some(deadline) = next {
        tokio::select! {
            biased;
            _ = &mut closed => return,
            () = shared.clock.sleep_until(deadline) => {}
        }
        next = shared.tick(pipe);
    }
}

/// Starts the timer that ends session `id` once it has been idle for the store's timeout.
pub(crate) fn spawn_session_timer(shared: &Arc<Shared>, id: SessionId, ended: watch::Receiver<()>) {
    let timer = session_timer(Arc::clone(shared), id);
    spawn_in_session(shared, TaskKind::SessionTimer, ended, timer);
}

async fn session_timer(shared: Arc<Shared>, id: SessionId) {
    loop {
        let Some(expiry) = shared.lock().expires_at(&id) else {
            return;
        };
        shared.clock.sleep_until(expiry).await;
        let mut state = shared.lock();
        state.expire_idle(shared.now());
    }
}

/// [`super::Bug::StateAfterDelete`]: keeps the session `id` its DELETE hid from idling out,
/// touching it every half idle timeout (at least every millisecond) until it ends.
pub(crate) fn spawn_hidden_keeper(shared: &Arc<Shared>, id: SessionId, ended: watch::Receiver<()>) {
    let keeper = hidden_keeper(Arc::clone(shared), id);
    spawn_in_session(shared, TaskKind::SessionTimer, ended, keeper);
}

async fn hidden_keeper(shared: Arc<Shared>, id: SessionId) {
    let half = shared.config.session.idle_timeout.0 / 2;
    let period = Duration::from_millis(half.max(1));
    loop {
        tokio::time::sleep(period).await;
        let mut state = shared.lock();
        if !state.keep_hidden(&id, shared.now()) {
            return;
        }
    }
}

/// Sends `message` on `target` of session `id`, waiting while the stream's connection has
/// no room; see [`super::state::State::emit`].
pub(crate) async fn emit(
    shared: &Shared,
    id: SessionId,
    target: Destination,
    message: &impl Serialize,
) -> Result<(), Gone> {
    let data = serde_json::to_string(message).expect("server messages serialise to JSON");
    poll_fn(|cx| {
        let mut state = shared.lock();
        state.emit(&id, target, &data, shared.now(), cx.waker())
    })
    .await
}
