//! `serve`: the reference server, or one of its fixtures, on a loopback port in real time, so
//! that the black-box target (`target::http`) can be tried and measured without Node or Python.

use std::convert::Infallible;
use std::io::Write;
use std::net::Ipv4Addr;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use super::Exit;
use crate::adapter::harness_config;
use crate::model::Entropy;
use crate::reference::{ReferenceServer, ServerConfig, ToolLimits};
use crate::runner::TargetSpec;

/// What each cached content, listener and monitor of a served reference holds.
const SERVED_RETAINED_BYTES: usize = 256 << 10;

/// The pause after a failed accept (out of descriptors, say) before the next one.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// The configuration `spec` is served with: the harness's limits (and the fixture's bug), with
/// entropy from the OS and 256 KiB retained by each cached content, listener and monitor. A
/// served server runs in real time and never replays, its session ids must not be predictable
/// (except where a fixture's bug makes them so), and what its bugs leak must show in its
/// memory, where a black box sees it. Only the reference and its fixtures can be served.
pub fn config(spec: TargetSpec) -> Result<ServerConfig, Exit> {
    let config = match spec {
        TargetSpec::Reference => harness_config(),
        TargetSpec::Fixture(fixture) => fixture.apply(harness_config()),
        TargetSpec::Rmcp(_) => {
            return Err(Exit::Usage(format!(
                "`serve` serves the reference or a fixture, not {spec}"
            )))
        }
    };
    Ok(ServerConfig {
        entropy: Entropy::Os,
        tools: ToolLimits {
            retained_bytes: SERVED_RETAINED_BYTES,
            ..config.tools
        },
        ..config
    })
}

/// Serves `server` on every connection `listener` accepts, each on a task of its own, over
/// HTTP/1.1 with keep-alive, for as long as the runtime runs. A failed accept is retried after
/// a short pause, so running out of descriptors slows the server down but does not stop it.
pub async fn accept(listener: TcpListener, server: ReferenceServer) -> Infallible {
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
    let config = config(spec)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(Exit::io("cannot start a runtime"))?;
    runtime.block_on(async {
        let path = config.path.clone();
        let server =
            ReferenceServer::new(config).map_err(|error| Exit::Usage(error.to_string()))?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port))
            .await
            .map_err(Exit::io(format!("cannot listen on 127.0.0.1:{port}")))?;
        let address = listener
            .local_addr()
            .map_err(Exit::io("cannot read the bound address"))?;
        writeln!(out, "listening on http://{address}{path}")
            .and_then(|()| out.flush())
            .map_err(Exit::io("cannot write"))?;
        Ok(accept(listener, server).await)
    })
}
