//! `serve`: an in-process target (the reference, a fixture, rmcp) on a loopback port in real
//! time, so that the black-box target can be tried and measured without Node or Python, and a
//! finding made in process can be confirmed over a real socket (`replay --confirm`).

use std::convert::Infallible;
use std::io::Write;
use std::net::Ipv4Addr;
use std::time::Duration;

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use super::Exit;
use crate::adapter::{harness_config, rmcp_service};
use crate::model::{Entropy, StreamConfig};
use crate::reference::{ReferenceServer, ServerConfig, ToolLimits};
use crate::runner::TargetSpec;

/// What each cached content, listener and monitor of a served reference holds.
const SERVED_RETAINED_BYTES: usize = 256 << 10;

/// The largest request body of a served reference (16 KiB, eight times the in-process
/// harness's): a compression bomb of 8 MiB, 8 KiB on the wire, passes the wire limit and
/// reaches the inflater, where the limit (or a fixture's bug) applies.
const SERVED_MAX_REQUEST_BYTES: usize = 16 << 10;

/// The largest stream chunk of a served reference: room for the largest message a 16 KiB
/// request can make (its text JSON-escaped, six bytes a character at worst).
const SERVED_MAX_CHUNK_BYTES: usize = 128 << 10;

/// The path rmcp is served on (it answers on any path).
const RMCP_PATH: &str = "/mcp";

/// The pause after a failed accept (out of descriptors, say) before the next one.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// The configuration `spec` is served with: the harness's limits (and the fixture's bug), with
/// entropy from the OS, 256 KiB retained by each cached content, listener and monitor, and
/// 16 KiB request bodies (128 KiB stream chunks to carry what they make). A
/// served server runs in real time and never replays, its session ids must not be predictable
/// (except where a fixture's bug makes them so), and what its bugs leak must show in its
/// memory, where a black box sees it. `None` for rmcp, which is served as it runs in process.
pub fn config(spec: TargetSpec) -> Option<ServerConfig> {
    match spec {
        TargetSpec::Reference => Some(served(harness_config())),
        TargetSpec::Fixture(fixture) => Some(served(fixture.apply(harness_config()))),
        TargetSpec::Rmcp(_) => None,
    }
}

fn served(config: ServerConfig) -> ServerConfig {
    ServerConfig {
        entropy: Entropy::Os,
        max_request_bytes: SERVED_MAX_REQUEST_BYTES,
        stream: StreamConfig {
            max_chunk_bytes: SERVED_MAX_CHUNK_BYTES,
            ..config.stream
        },
        tools: ToolLimits {
            retained_bytes: SERVED_RETAINED_BYTES,
            ..config.tools
        },
        ..config
    }
}

/// Makes glibc give every block of 128 KiB or more back to the system when it is freed, as a
/// memory-lean server does. By default glibc raises that threshold to the largest block freed
/// so far (up to 32 MiB) and keeps such blocks resident: the next oversized body a buggy
/// fixture holds would reuse them, and from outside (RSS) only the first would show.
fn return_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable of the allocator, before any thread is started.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 << 10);
    }
}

/// Serves `server` on every connection `listener` accepts, each on a task of its own, over
/// HTTP/1.1 with keep-alive, for as long as the runtime runs. A failed accept is retried after
/// a short pause, so running out of descriptors slows the server down but does not stop it.
pub async fn accept<S, B>(listener: TcpListener, server: S) -> Infallible
where
    S: tower_service::Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        match listener.accept().await {
            Ok((socket, _)) => {
                // Each event goes out as soon as it is written, as a streaming server's should.
                let _ = socket.set_nodelay(true);
                let service = TowerToHyperService::new(server.clone());
                let connection =
                    http1::Builder::new().serve_connection(TokioIo::new(socket), service);
                tokio::spawn(connection);
            }
            Err(_) => tokio::time::sleep(ACCEPT_BACKOFF).await,
        }
    }
}

/// The `serve` command: binds `127.0.0.1:port` (0: a free port), writes
/// `listening on http://127.0.0.1:PORT/mcp` to `out` once bound, and serves `spec` on a
/// multi-thread runtime until the process is killed.
pub fn serve(spec: TargetSpec, port: u16, out: &mut impl Write) -> Result<Infallible, Exit> {
    return_large_blocks();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Exit::io("cannot start a runtime"))?;
    runtime.block_on(async {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(Exit::io(format!("cannot listen on 127.0.0.1:{port}")))?;
        let address = listener
            .local_addr()
            .map_err(Exit::io("cannot read the bound address"))?;
        let listening = |out: &mut dyn Write, path: &str| {
            writeln!(out, "listening on http://{address}{path}")
                .and_then(|()| out.flush())
                .map_err(Exit::io("cannot write"))
        };
        let config = match spec {
            TargetSpec::Rmcp(variant) => {
                let (service, _) = rmcp_service(variant);
                listening(out, RMCP_PATH)?;
                return Ok(accept(listener, service).await);
            }
            TargetSpec::Reference => served(harness_config()),
            TargetSpec::Fixture(fixture) => served(fixture.apply(harness_config())),
        };
        let path = config.path.clone();
        let server =
            ReferenceServer::new(config).map_err(|error| Exit::Usage(error.to_string()))?;
        listening(out, &path)?;
        Ok(accept(listener, server).await)
    })
}
