//! The CLI's subcommands as library functions over readers and writers, so that tests call
//! exactly what the binary runs. Each returns an [`Exit`] that maps to the process exit code.

pub mod harness;
pub mod serve;
pub mod sse;

/// How a command ended, and the exit code that says so.
#[derive(Debug, thiserror::Error)]
pub enum Exit {
    /// The input was rejected (a record the encoder refuses): exit 1.
    #[error("{0}")]
    Rejected(String),
    /// The run found this many problems (deduplicated findings, or reproducers that still
    /// fail): exit 1.
    #[error("{0} finding(s)")]
    Findings(usize),
    /// The command could not run as asked (unreadable file, bad arguments): exit 2.
    #[error("{0}")]
    Usage(String),
}

impl Exit {
    pub fn code(&self) -> i32 {
        match self {
            Exit::Rejected(_) | Exit::Findings(_) => 1,
            Exit::Usage(_) => 2,
        }
    }
}
