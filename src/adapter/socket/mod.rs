//! A black-box server behind a socket: a URL on loopback, or a command the target starts.
//!
//! [`HttpTarget`] speaks HTTP/1.1 to the server with hyper's low-level client
//! (`hyper::client::conn::http1` over a `tokio::net::TcpSocket` per connection) rather than
//! hyper-util's pooled `Client`, because the executor's semantics are per connection and the
//! target has to own them:
//! - a request in flight owns its connection, and so does its response body; dropping an
//!   unfinished body (or a request future) drops the connection, which aborts the task that
//!   owns the socket: the close is explicit (done the next time the runtime runs), not left
//!   to a pool's and the dispatcher's heuristics (hyper drains what is buffered and may keep
//!   the connection);
//! - only a body read to its end returns its connection to a small keep-alive pool
//!   (`connection.rs`), so no connection is ever reused half-read; after a crash of a server
//!   the target started, the pool is emptied and new connections are retried while the
//!   restarted server comes up, which a shared client pool has no handle for;
//! - every socket is set up for the fuzzer: `TCP_NODELAY` (each upload chunk is its own write)
//!   and a small receive buffer (a stalled reader pushes back on the server after tens of KiB,
//!   as the backpressure oracle needs), and the target counts the connections it opens.
//!
//! Request bodies go out frame by frame with chunked encoding, an aborted upload closes the
//! connection mid-body (`upload.rs`); response bodies are read only as fast as the executor
//! reads them (`response.rs`). Every failure to get a response head is a one-line
//! [`TargetError::Connection`].
//!
//! Only loopback servers are allowed unless the caller allows remote ones explicitly
//! (`address.rs`). A target may own its server ([`ServerProcess`]): then it restarts the server
//! when it finds it dead (recording the crash for a `liveness` finding, see
//! [`HttpTarget::take_crashes`]), and reports the server's RSS and open descriptors.

mod address;
mod connection;
pub mod inspector;
mod measure;
mod process;
mod response;
mod upload;

pub use address::AddressError;
pub use process::{Launch, ProcessError, ServerProcess};

use std::error::Error;
use std::net::SocketAddr;
use std::sync::Arc;

use http::header::HOST;
use http::{HeaderValue, Request, Uri, Version};
use http_body_util::BodyExt;

use self::address::Address;
use self::connection::Pool;
use self::response::Response;
use self::upload::Upload;
use super::{Call, RequestBody, Resources, ResponseBody, Target, TargetError};

/// Why a black-box target could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The target's URL is malformed, not `http`, or not loopback when it must be.
    #[error(transparent)]
    Address(#[from] AddressError),
    /// The server command could not be started or never became ready.
    #[error(transparent)]
    Process(#[from] ProcessError),
}

/// A server at a URL, driven over real sockets in real time.
pub struct HttpTarget {
    /// The URL, as reports name the target.
    name: String,
    address: Address,
    /// Every connection goes to one of these (never to a request's own authority).
    addrs: Arc<[SocketAddr]>,
    pool: Arc<Pool>,
    process: Option<ServerProcess>,
    /// The process id of the server's group leader (0 while unknown), shared by every target
    /// of one server: the one that started it keeps it current across restarts, and the others
    /// read the server's memory high-water mark through it.
    group: ServerGroup,
    /// Crashes found and not yet taken, oldest first.
    crashes: Vec<String>,
}

/// The group leader's process id of a server that one target started, shared with the other
/// targets of the same server (0 while none is known).
pub type ServerGroup = Arc<std::sync::atomic::AtomicU32>;

impl HttpTarget {
    /// The server at `url` (`http://127.0.0.1:PORT/mcp`). A host that is not loopback
    /// (127.0.0.0/8, `::1`, `localhost`) is refused unless `allow_remote`.
    pub fn new(url: &str, allow_remote: bool) -> Result<Self, AddressError> {
        let address = Address::parse(url, allow_remote)?;
        Ok(Self {
            name: url.to_owned(),
            addrs: address.addrs.clone().into(),
            address,
            pool: Arc::default(),
            process: None,
            group: ServerGroup::default(),
            crashes: Vec::new(),
        })
    }

    /// The same target, sharing `group` with the target that started the server: this one
    /// reads the server's memory high-water mark through it, and one that starts the server
    /// keeps it current.
    pub fn sharing(mut self, group: ServerGroup) -> Self {
        self.group = group;
        if let Some(process) = &self.process {
            self.publish(process);
        }
        self
    }

    /// Starts the server `launch` describes and returns the target at `url` once the server
    /// accepts connections there (blocking, up to the launch's start deadline).
    pub fn launch(url: &str, allow_remote: bool, launch: Launch) -> Result<Self, HttpError> {
        let mut target = Self::new(url, allow_remote)?;
        let process = ServerProcess::start(launch, target.address.addrs.clone())?;
        target.publish(&process);
        target.process = Some(process);
        Ok(target)
    }

    /// Tells the targets sharing this one's group which process leads the server's group now.
    fn publish(&self, process: &ServerProcess) {
        let pid = process.pid().unwrap_or(0);
        self.group.store(pid, std::sync::atomic::Ordering::Relaxed);
    }

    /// The leader of the server's group, if known.
    fn group_leader(&self) -> Option<u32> {
        Some(self.group.load(std::sync::atomic::Ordering::Relaxed)).filter(|&pid| pid != 0)
    }

    /// The server the target started, if it did.
    pub fn process(&self) -> Option<&ServerProcess> {
        self.process.as_ref()
    }

    /// The crashes of the server found since the last call, one line each (the server was
    /// restarted after each); looks at the server first.
    pub fn take_crashes(&mut self) -> Vec<String> {
        self.watch();
        std::mem::take(&mut self.crashes)
    }

    /// How many connections the target has opened (a measure of keep-alive reuse).
    pub fn connections_opened(&self) -> u64 {
        self.pool.opened()
    }

    /// Restarts the server if it has died; returns until when connections should be retried
    /// while a restarted server starts.
    fn watch(&mut self) -> Option<tokio::time::Instant> {
        let process = self.process.as_mut()?;
        if let Some(crash) = process.check() {
            // Idle connections went to the server that died.
            self.pool.clear();
            self.crashes.push(crash);
        }
        let starting = process.starting_until().map(tokio::time::Instant::from_std);
        if let Some(process) = &self.process {
            self.publish(process);
        }
        starting
    }
}

impl std::fmt::Debug for HttpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTarget")
            .field("name", &self.name)
            .field("addrs", &self.addrs)
            .field("process", &self.process)
            .finish_non_exhaustive()
    }
}

impl Target for HttpTarget {
    fn name(&self) -> &str {
        &self.name
    }

    fn endpoint(&self) -> &Uri {
        &self.address.uri
    }

    fn call(&mut self, request: Request<RequestBody>) -> Call {
        let retry_until = self.watch();
        let request = prepare(request, &self.address);
        let pool = Arc::clone(&self.pool);
        let addrs = Arc::clone(&self.addrs);
        Box::pin(async move {
            let mut request = request;
            if let Some(mut connection) = pool.take().await {
                // A request without a body can be sent again as it was.
                let again = matches!(request.body(), Upload::Empty).then(|| empty_copy(&request));
                match connection.sender.try_send_request(request).await {
                    Ok(response) => return Ok(wrap(response, connection, pool)),
                    Err(mut error) => match (error.take_message(), again) {
                        // The idle connection closed before the request went out.
                        (Some(unsent), _) => request = unsent,
                        // It closed as the request went out, before any response: the race
                        // every keep-alive client has with a server closing an idle
                        // connection. A request without a body (GET, DELETE: idempotent)
                        // is sent again once on a new connection, as RFC 9110 9.2.2 allows.
                        (None, Some(again)) if no_response_yet(error.error()) => request = again,
                        (None, _) => return Err(TargetError::Connection(one_line(error.error()))),
                    },
                }
            }
            let mut connection = pool.connect(&addrs, retry_until).await?;
            match connection.sender.send_request(request).await {
                Ok(response) => Ok(wrap(response, connection, pool)),
                Err(error) => Err(TargetError::Connection(one_line(&error))),
            }
        })
    }

    /// The server's RSS and open descriptors when the target started it; nothing otherwise.
    fn resources(&self) -> Resources {
        self.process
            .as_ref()
            .map(ServerProcess::resources)
            .unwrap_or_default()
    }

    /// The summed `VmHWM` of the server's group, restarted through `/proc/PID/clear_refs`:
    /// of the server this target started, or of the one it shares a group with.
    fn restart_memory_peak(&mut self) -> Option<u64> {
        measure::restart_peaks(self.group_leader()?)
    }

    fn memory_peak(&self) -> Option<u64> {
        measure::peaks(self.group_leader()?)
    }

    fn in_process(&self) -> bool {
        false
    }
}

/// The request as it goes on the wire: HTTP/1.1, origin-form (`/mcp`: the authority only
/// chooses where to connect, and that is fixed), `Host` from the URL unless the executor set
/// one (a foreign `Host` is a misstep it makes on purpose).
fn prepare(request: Request<RequestBody>, address: &Address) -> Request<Upload> {
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| address.path.clone());
    parts.uri = Uri::from(path);
    parts.version = Version::HTTP_11;
    if !parts.headers.contains_key(HOST) {
        let authority = address
            .uri
            .authority()
            .map_or("", |authority| authority.as_str());
        if let Ok(host) = HeaderValue::from_str(authority) {
            parts.headers.insert(HOST, host);
        }
    }
    Request::from_parts(parts, Upload::new(body))
}

/// A copy of a request that has no body.
fn empty_copy(request: &Request<Upload>) -> Request<Upload> {
    let mut copy = Request::new(Upload::Empty);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    copy
}

/// Whether hyper failed before reading any of a response: the connection was closed or reset
/// under the request.
fn no_response_yet(error: &hyper::Error) -> bool {
    error.is_incomplete_message() || error.is_canceled() || error.is_closed() || {
        let mut source = std::error::Error::source(error);
        let mut reset = false;
        while let Some(cause) = source {
            if let Some(io) = cause.downcast_ref::<std::io::Error>() {
                reset |= matches!(
                    io.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                );
            }
            source = cause.source();
        }
        reset
    }
}

fn wrap(
    response: http::Response<hyper::body::Incoming>,
    connection: connection::Connection,
    pool: Arc<Pool>,
) -> http::Response<ResponseBody> {
    response.map(|body| Response::new(body, connection, pool).boxed_unsync())
}

/// An error and its causes on one line (`a: b: c`): hyper's own message rarely says what
/// happened underneath ("connection error" / "connection reset by peer").
fn one_line(error: &(dyn Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = cause.source();
    }
    line.replace(['\n', '\r'], " ")
}
