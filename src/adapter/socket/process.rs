//! A server the suite starts itself (`--cmd`): spawned, waited for, watched, restarted after a
//! crash, measured, and killed with everything it started.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use super::measure;
use crate::trace::Resources;

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
    /// A loopback port for Node's V8 inspector (`NODE_OPTIONS=--inspect=127.0.0.1:PORT`), so
    /// that the heap can be read exactly after a forced collection ([`super::inspector`]).
    pub node_inspect: Option<u16>,
}

impl Launch {
    /// `command` logging to `log`, with no `PORT` and 30 s to start.
    pub fn new(command: impl Into<String>, log: impl Into<PathBuf>) -> Self {
        Self {
            command: command.into(),
            port: None,
            log: log.into(),
            start_deadline: Duration::from_secs(30),
            node_inspect: None,
        }
    }
}

/// Why a server could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcessError {
    /// The log file or its folder could not be made, the command could not be spawned, or there
    /// was no address to wait on.
    #[error("cannot start `{command}`: {reason}")]
    Spawn {
        /// The shell command.
        command: String,
        /// What went wrong, as the OS or the check described it.
        reason: String,
    },
    /// A server was already accepting connections on one of the addresses before the command ran.
    #[error("something already accepts connections on {addr}: stop it, or choose another port")]
    Busy {
        /// The address that accepted.
        addr: SocketAddr,
    },
    /// The server exited before any address accepted a connection.
    #[error("`{command}` exited ({status}) before accepting connections; its output ends: {tail}")]
    Exited {
        /// The shell command.
        command: String,
        /// Its exit status, as the OS reports it (an exit code or a signal).
        status: String,
        /// The last lines of its log, joined by ` | `, or `(no output)`.
        tail: String,
    },
    /// No address accepted a connection before the start deadline passed.
    #[error(
        "`{command}` did not accept connections on {addr} within {deadline:?}; its output \
         ends: {tail}"
    )]
    NotReady {
        /// The shell command.
        command: String,
        /// The first address it was expected on.
        addr: SocketAddr,
        /// The start deadline that passed.
        deadline: Duration,
        /// The last lines of its log, joined by ` | `, or `(no output)`.
        tail: String,
    },
}

/// A running server and its process group.
///
/// Invariants: the child leads a process group of its own (its pid is the group's id), and is
/// reaped only after its group was sent SIGKILL, so a signal to the group never reaches a
/// stranger that reused the id; every process of the group is killed when this value is
/// dropped (SIGTERM, then SIGKILL after a second); a server found dead is replaced by a
/// new one before anything else is sent to it.
#[derive(Debug)]
pub struct ServerProcess {
    launch: Launch,
    /// Where the server must accept connections (the target's addresses; not empty).
    ready_at: Vec<SocketAddr>,
    /// `None` after a crash when the server could not be started again.
    child: Option<Child>,
    /// Where the current server's output starts in the log: what it says of itself is quoted
    /// from here, never an earlier server's lines.
    log_from: u64,
    /// When the last restart's start deadline passes.
    starting_until: Option<Instant>,
}

impl ServerProcess {
    /// Starts `launch` and waits (blocking, up to its start deadline) until one of `ready_at`
    /// (not empty) accepts a TCP connection.
    ///
    /// Fails at once if one already does (another server holds the port), and with the tail of
    /// the server's output if it exits first or the deadline passes (its group is killed then).
    pub fn start(launch: Launch, ready_at: Vec<SocketAddr>) -> Result<Self, ProcessError> {
        if ready_at.is_empty() {
            return Err(ProcessError::Spawn {
                command: launch.command,
                reason: "no address to wait for".to_owned(),
            });
        }
        if let Some(&addr) = ready_at.iter().find(|addr| accepts(addr)) {
            return Err(ProcessError::Busy { addr });
        }
        let (child, log_from) = spawn(&launch)?;
        let mut process = Self {
            launch,
            ready_at,
            child: Some(child),
            log_from,
            starting_until: None,
        };
        process.wait_ready()?;
        Ok(process)
    }

    /// The id of the process `sh -c` runs as, which is also the id of the server's group;
    /// `None` while there is no server (it crashed and could not be started again).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// How the server was started.
    pub fn launch(&self) -> &Launch {
        &self.launch
    }

    /// Every live process of the server's group (the shell, the server, anything they
    /// started).
    pub fn pids(&self) -> Vec<u32> {
        self.pid().map(measure::members).unwrap_or_default()
    }

    /// RSS and open file descriptors, summed over the server's group (every live
    /// process of it: a wrapping shell only adds a constant).
    pub fn resources(&self) -> Resources {
        self.pid().map(measure::group).unwrap_or_default()
    }

    /// If the server has exited since the last look: kills what is left of its group, starts
    /// it again (without waiting: see [`Self::starting_until`]) and says what happened, with
    /// the tail of its output. A server that cannot be started again is tried again (and its
    /// failure reported) at the next look.
    pub(super) fn check(&mut self) -> Option<String> {
        let crash = match &mut self.child {
            Some(child) if !exited(child) => return None,
            Some(child) => {
                let status = stop(child);
                format!(
                    "the server exited ({status}); its output ends: {}",
                    tail(&self.launch, self.log_from)
                )
            }
            None => "the server is still down".to_owned(),
        };
        let already_reported = self.child.take().is_none();
        match spawn(&self.launch) {
            Ok((child, log_from)) => {
                self.child = Some(child);
                self.log_from = log_from;
                self.starting_until = Some(Instant::now() + self.launch.start_deadline);
                (!already_reported).then_some(crash)
            }
            Err(error) => Some(format!("{crash}; it could not be started again: {error}")),
        }
    }

    /// While a restarted server may still be starting: until when connections to it should be
    /// retried.
    pub(super) fn starting_until(&self) -> Option<Instant> {
        self.starting_until.filter(|&until| Instant::now() < until)
    }

    fn wait_ready(&mut self) -> Result<(), ProcessError> {
        let deadline = Instant::now() + self.launch.start_deadline;
        loop {
            // The connection may reach another process if ours dies meanwhile: look after it.
            let ready = self.ready_at.iter().any(accepts);
            if let Some(mut child) = self.child.take_if(|child| exited(child)) {
                let status = stop(&mut child);
                return Err(ProcessError::Exited {
                    command: self.launch.command.clone(),
                    status: status.to_string(),
                    tail: tail(&self.launch, self.log_from),
                });
            }
            if ready {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ProcessError::NotReady {
                    command: self.launch.command.clone(),
                    addr: self.ready_at[0],
                    deadline: self.launch.start_deadline,
                    tail: tail(&self.launch, self.log_from),
                });
            }
            sleep(POLL);
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            if !exited(child) {
                signal_group(child.id(), libc::SIGTERM);
                let until = Instant::now() + STOP_GRACE;
                while !exited(child) && Instant::now() < until {
                    sleep(POLL);
                }
            }
            stop(child);
        }
    }
}

/// Whether `child` has exited, without reaping it (its id, and so its group's, stays
/// reserved until [`stop`]).
fn exited(child: &Child) -> bool {
    let pid: libc::id_t = child.id();
    // SAFETY: an all-zero siginfo_t is a valid value; waitid(2) writes into it and nothing
    // else; WNOWAIT leaves the child waitable.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
        if libc::waitid(libc::P_PID, pid, &mut info, flags) != 0 {
            // ECHILD: it was reaped already.
            return true;
        }
        info.si_pid() != 0
    }
}

/// Kills every process left in `child`'s group, reaps `child`, and waits (up to
/// [`STOP_GRACE`]) until no process of the group is alive, so that what it held (its port
/// above all) is free when this returns.
fn stop(child: &mut Child) -> ExitStatus {
    let pgid = child.id();
    signal_group(pgid, libc::SIGKILL);
    let status = child
        .wait()
        .unwrap_or_else(|_| ExitStatus::from_raw(libc::SIGKILL));
    let until = Instant::now() + STOP_GRACE;
    while !measure::members(pgid).is_empty() && Instant::now() < until {
        sleep(POLL);
    }
    status
}

/// Starts the server, its output appended to the log; returns it and the log's length before
/// it wrote anything.
fn spawn(launch: &Launch) -> Result<(Child, u64), ProcessError> {
    let failed = |reason: String| ProcessError::Spawn {
        command: launch.command.clone(),
        reason,
    };
    if let Some(folder) = launch.log.parent().filter(|f| !f.as_os_str().is_empty()) {
        fs::create_dir_all(folder).map_err(|error| {
            failed(format!(
                "cannot create the log's folder {}: {error}",
                folder.display()
            ))
        })?;
    }
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&launch.log)
        .map_err(|error| {
            failed(format!(
                "cannot open the log {}: {error}",
                launch.log.display()
            ))
        })?;
    let log_from = log.metadata().map_or(0, |meta| meta.len());
    let stderr = log.try_clone().map_err(|error| failed(error.to_string()))?;
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(&launch.command)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(stderr)
        .process_group(0);
    // SAFETY: prctl(2) with PR_SET_PDEATHSIG takes plain integers; it is async-signal-safe,
    // as code between fork and exec must be.
    unsafe {
        command.pre_exec(|| {
            // The server is killed when the thread that started it ends, even if this process
            // is killed before it can stop the server itself (the command should `exec` the
            // server, so that the signal reaches the server and not only the shell).
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    if let Some(port) = launch.port {
        command.env("PORT", port.to_string());
    }
    if let Some(port) = launch.node_inspect {
        let inherited = std::env::var("NODE_OPTIONS").unwrap_or_default();
        command.env(
            "NODE_OPTIONS",
            format!("{inherited} --inspect=127.0.0.1:{port}").trim_start(),
        );
    }
    let child = command.spawn().map_err(|error| failed(error.to_string()))?;
    Ok((child, log_from))
}

/// Whether `addr` accepts a TCP connection now.
fn accepts(addr: &SocketAddr) -> bool {
    TcpStream::connect_timeout(addr, PROBE).is_ok()
}

/// Sends `signal` to every process of group `pgid` (a group that is gone gives ESRCH, which is
/// ignored). Only called before the group's leader is reaped, so `pgid` is ours.
fn signal_group(pgid: u32, signal: libc::c_int) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers and touches no memory.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// The last lines the server wrote to its log since offset `from` (where its output starts),
/// on one line.
fn tail(launch: &Launch, from: u64) -> String {
    let mut text = Vec::new();
    if let Ok(mut file) = File::open(&launch.log) {
        let length = file.metadata().map_or(0, |meta| meta.len());
        if file
            .seek(SeekFrom::Start(length.saturating_sub(TAIL_BYTES).max(from)))
            .is_ok()
        {
            let _ = file.read_to_end(&mut text);
        }
    }
    let text = String::from_utf8_lossy(&text);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    if lines.is_empty() {
        return "(no output)".to_owned();
    }
    lines[lines.len().saturating_sub(TAIL_LINES)..].join(" | ")
}
