//! Connections: one TCP connection per request in flight, kept alive between requests in a
//! small pool of idle ones.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use hyper::client::conn::http1::{Builder, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpSocket;
use tokio::task::AbortHandle;
use tokio::time::{sleep, timeout, Instant};

use super::upload::Upload;
use crate::adapter::TargetError;

/// The most idle connections kept; more are closed.
const MAX_IDLE: usize = 8;

/// How long a connection may sit idle in the pool: less than the keep-alive timeouts servers
/// commonly use (Node's 5 s, uvicorn's 5 s), so that the pool does not hand out a connection
/// the server is closing at that moment.
const MAX_IDLE_AGE: Duration = Duration::from_secs(2);

/// How long a pooled connection gets to become ready for its next request (it has just
/// finished a response, so it only needs a turn of the runtime); after that a new one is used.
const REUSE_WAIT: Duration = Duration::from_secs(1);

/// The pause between connection attempts while a (re)started server is not listening yet.
const RETRY_PAUSE: Duration = Duration::from_millis(20);

/// The receive buffer of every socket (the kernel doubles it). Small, so that a reader the
/// executor stalls pushes back on the server after a few tens of KiB instead of after the
/// megabytes that loopback autotuning would allow: the backpressure and idle oracles see the
/// server hold what a slow client leaves unread.
const RECEIVE_BUFFER: u32 = 64 << 10;

/// hyper's read buffer may grow to this, and no further: with the receive buffer, the most a
/// response is read ahead of the executor (plus one decoded frame waiting in hyper's body
/// channel).
const MAX_BUF: usize = 16 << 10;

/// One HTTP/1.1 connection: the handle that sends on it and its task.
///
/// Invariant: the socket lives as long as this value; dropping it aborts the task that owns
/// the socket, which closes the socket the next time the runtime runs (a client abort),
/// whatever state the exchange was in.
pub(super) struct Connection {
    pub sender: SendRequest<Upload>,
    task: AbortHandle,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The idle connections of one target, and the count of connections it opened.
///
/// Invariant: only connections whose last response body was read to its end are in `idle`
/// (see [`super::response`]), at most [`MAX_IDLE`] of them, each with the time it became idle.
#[derive(Default)]
pub(super) struct Pool {
    idle: Mutex<Vec<(Instant, Connection)>>,
    opened: AtomicU64,
}

impl Pool {
    /// The most recently idle connection that is ready for a request, if any.
    ///
    /// Yields first, so that the connections' tasks see what the runtime's I/O driver has
    /// (a server that closed an idle connection): a connection found closed is dropped, not
    /// used. A server closing one at the very moment it is reused still fails that request.
    pub(super) async fn take(&self) -> Option<Connection> {
        tokio::task::yield_now().await;
        while let Some(mut connection) = self.pop() {
            if let Ok(Ok(())) = timeout(REUSE_WAIT, connection.sender.ready()).await {
                return Some(connection);
            }
        }
        None
    }

    /// The most recently idle connection; closes those idle longer than [`MAX_IDLE_AGE`].
    fn pop(&self) -> Option<Connection> {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let now = Instant::now();
        idle.retain(|(since, _)| now.duration_since(*since) < MAX_IDLE_AGE);
        idle.pop().map(|(_, connection)| connection)
    }

    /// Keeps `connection` for a later request (or closes it if the pool is full).
    pub(super) fn put(&self, connection: Connection) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push((Instant::now(), connection));
        }
    }

    /// Closes every idle connection (their server has gone).
    pub(super) fn clear(&self) {
        self.idle
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .clear();
    }

    /// How many connections were opened so far.
    pub(super) fn opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// Opens a connection to the first of `addrs` that accepts; while `retry_until` is ahead
    /// (a server that was just restarted and may not listen yet), tries again every
    /// [`RETRY_PAUSE`].
    pub(super) async fn connect(
        &self,
        addrs: &[SocketAddr],
        retry_until: Option<Instant>,
    ) -> Result<Connection, TargetError> {
        loop {
            let mut last = None;
            for &addr in addrs {
                match open(addr).await {
                    Ok(connection) => {
                        self.opened.fetch_add(1, Ordering::Relaxed);
                        return Ok(connection);
                    }
                    Err(error) => last = Some(format!("{addr}: {error}")),
                }
            }
            let error = last.unwrap_or_else(|| "no address to connect to".to_owned());
            match retry_until {
                Some(until) if Instant::now() + RETRY_PAUSE < until => sleep(RETRY_PAUSE).await,
                _ => return Err(TargetError::Connection(error)),
            }
        }
    }
}

/// Connects to `addr` and starts the connection's task on the current runtime.
async fn open(addr: SocketAddr) -> io::Result<Connection> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_recv_buffer_size(RECEIVE_BUFFER)?;
    socket.set_nodelay(true)?;
    let stream = socket.connect(addr).await?;
    let (sender, connection) = Builder::new()
        .max_buf_size(MAX_BUF)
        .handshake(TokioIo::new(stream))
        .await
        .map_err(io::Error::other)?;
    let task = tokio::spawn(async move {
        // The error (a reset, a cut body) reaches the exchange through its response or body.
        let _ = connection.await;
    })
    .abort_handle();
    Ok(Connection { sender, task })
}
