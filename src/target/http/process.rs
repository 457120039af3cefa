//! A server the suite starts itself (`--cmd`): spawned, waited for, watched, restarted after a
//! crash, measured, and killed with everything it started.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::measure;
use crate::target::Resources;

/// How often a starting server is probed, and a stopping one looked at.
const POLL: Duration = Duration::from_millis(20);
/// How long one probe waits for a connection.
const PROBE: Duration = Duration::from_millis(200);
/// How long a server gets to exit after SIGTERM before its group gets SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(1);
/// The most bytes of the log read for an error's tail, and the most lines shown.
const TAIL_BYTES: u64 = 4096;
const TAIL_LINES: usize = 5;

/// How to start a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// A shell command, run with `sh -c` in a process group of its own.
    pub command: String,
    /// Given to the command as `PORT` in its environment.
    pub port: Option<u16>,
    /// The command's stdout and stderr are appended to this file.
    pub log: PathBuf,
    /// How long the server gets, at start and after each restart, to accept TCP connections.
    pub start_deadline: Duration,
}

impl Launch {
    /// `command` logging to `log`, with no `PORT` and 30 s to start.
    pub fn new(command: impl Into<String>, log: impl Into<PathBuf>) -> Self {
        Self {
            command: command.into(),
            port: None,
            log: log.into(),
            start_deadline: Duration::from_secs(30),
        }
    }
}

/// Why a server could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot start `{command}`: {reason}")]
    Spawn { command: String, reason: String },
    #[error("something already accepts connections on {addr}: stop it, or choose another port")]
    Busy { addr: SocketAddr },
    #[error("`{command}` exited ({status}) before accepting connections; its output ends: {tail}")]
    Exited {
        command: String,
        status: String,
        tail: String,
    },
    #[error(
        "`{command}` did not accept connections on {addr} within {seconds:.1} s; its output \
         ends: {tail}"
    )]
    NotReady {
        command: String,
        addr: SocketAddr,
        seconds: f64,
        tail: String,
    },
}

/// A running server and its process group.
///
/// Invariants: `child` leads a process group of its own (its pid is the group's id), and every
/// process of that group is killed when this value is dropped (SIGTERM, then SIGKILL after
/// [`STOP_GRACE`]); a server found dead is replaced by a new one before anything else is sent
/// to it, after whatever its group left behind was killed.
#[derive(Debug)]
pub struct ServerProcess {
    launch: Launch,
    /// Where the server must accept connections (the target's addresses).
    ready_at: Vec<SocketAddr>,
    child: Child,
    /// When the last restart's start deadline passes.
    starting_until: Option<Instant>,
}

impl ServerProcess {
    /// Starts `launch` and waits (blocking, up to its start deadline) until one of `ready_at`
    /// accepts a TCP connection.
    ///
    /// Fails at once if one already does (another server holds the port), and with the tail of
    /// the server's output if it exits first or the deadline passes (its group is killed then).
    pub fn start(launch: Launch, ready_at: Vec<SocketAddr>) -> Result<Self, ProcessError> {
        if let Some(&addr) = ready_at.iter().find(|addr| accepts(addr)) {
            return Err(ProcessError::Busy { addr });
        }
        let child = spawn(&launch)?;
        let mut process = Self {
            launch,
            ready_at,
            child,
            starting_until: None,
        };
        process.wait_ready()?;
        Ok(process)
    }

    /// The id of the process `sh -c` runs as, which is also the id of the server's group.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every live process of the server's group (the shell, the server, anything they
    /// started).
    pub fn pids(&self) -> Vec<u32> {
        measure::members(self.pid())
    }

    /// RSS and open file descriptors, summed over the server's group (see [`measure`]).
    pub fn resources(&self) -> Resources {
        measure::group(self.pid())
    }

    /// If the server has exited since the last look: kills what is left of its group, starts
    /// it again (without waiting: see [`Self::starting_until`]) and says what happened, with
    /// the tail of its output. A server that cannot be started again is reported again at the
    /// next look.
    pub(super) fn check(&mut self) -> Option<String> {
        let status = self.child.try_wait().ok()??;
        signal_group(self.pid(), libc::SIGKILL);
        let mut crash = format!(
            "the server exited ({status}); its output ends: {}",
            tail(&self.launch)
        );
        match spawn(&self.launch) {
            Ok(child) => {
                self.child = child;
                self.starting_until = Some(Instant::now() + self.launch.start_deadline);
            }
            Err(error) => crash.push_str(&format!("; it could not be restarted: {error}")),
        }
        Some(crash)
    }

    /// While a restarted server may still be starting: until when connections to it should be
    /// retried.
    pub(super) fn starting_until(&self) -> Option<Instant> {
        self.starting_until.filter(|&until| Instant::now() < until)
    }

    fn wait_ready(&mut self) -> Result<(), ProcessError> {
        let deadline = Instant::now() + self.launch.start_deadline;
        loop {
            if let Some(status) = self.exited() {
                return Err(self.exited_error(status));
            }
            if self.ready_at.iter().any(accepts) {
                // The connection may have reached another process if ours died meanwhile.
                return match self.exited() {
                    Some(status) => Err(self.exited_error(status)),
                    None => Ok(()),
                };
            }
            if Instant::now() >= deadline {
                return Err(ProcessError::NotReady {
                    command: self.launch.command.clone(),
                    addr: self.ready_at[0],
                    seconds: self.launch.start_deadline.as_secs_f64(),
                    tail: tail(&self.launch),
                });
            }
            sleep(POLL);
        }
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn exited_error(&self, status: ExitStatus) -> ProcessError {
        ProcessError::Exited {
            command: self.launch.command.clone(),
            status: status.to_string(),
            tail: tail(&self.launch),
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.exited().is_none() {
            signal_group(self.pid(), libc::SIGTERM);
            let until = Instant::now() + STOP_GRACE;
            while self.exited().is_none() && Instant::now() < until {
                sleep(POLL);
            }
        }
        // Whatever the group still holds (the server under a shell that exited, workers).
        signal_group(self.pid(), libc::SIGKILL);
        let _ = self.child.wait();
    }
}

fn spawn(launch: &Launch) -> Result<Child, ProcessError> {
    let failed = |reason: String| ProcessError::Spawn {
        command: launch.command.clone(),
        reason,
    };
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&launch.log)
        .map_err(|error| failed(format!("cannot open the log {}: {error}", launch.log.display())))?;
    let stderr = log.try_clone().map_err(|error| failed(error.to_string()))?;
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(&launch.command)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr)
        .process_group(0);
    if let Some(port) = launch.port {
        command.env("PORT", port.to_string());
    }
    command.spawn().map_err(|error| failed(error.to_string()))
}

/// Whether `addr` accepts a TCP connection now.
fn accepts(addr: &SocketAddr) -> bool {
    TcpStream::connect_timeout(addr, PROBE).is_ok()
}

/// Sends `signal` to every process of group `pgid`. A group id is a process id that stays
/// reserved while the group has members, so this reaches no stranger unless the whole group
/// has gone and the id was reused since (the window of a few instructions after a reap).
fn signal_group(pgid: u32, signal: libc::c_int) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers and touches no memory; a group that is gone gives
    // ESRCH, which is ignored.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// The last lines of the server's log, on one line.
fn tail(launch: &Launch) -> String {
    let mut text = Vec::new();
    if let Ok(mut file) = File::open(&launch.log) {
        let length = file.metadata().map_or(0, |meta| meta.len());
        if file.seek(SeekFrom::Start(length.saturating_sub(TAIL_BYTES))).is_ok() {
            let _ = file.read_to_end(&mut text);
        }
    }
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|line| !line.is_empty()).collect();
    if lines.is_empty() {
        return "(no output)".to_owned();
    }
    lines[lines.len().saturating_sub(TAIL_LINES)..].join(" | ")
}
