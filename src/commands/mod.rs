//! The CLI's subcommands as library functions over readers and writers, so that tests call
//! exactly what the binary runs. Each returns an [`Exit`] that maps to the process exit code.

mod confirm;
pub mod list;
mod minimize;
pub mod replay;
pub mod run;
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
    /// The command could not run as asked (bad arguments, a target that cannot be run): exit 2.
    #[error("{0}")]
    Usage(String),
    /// A file, folder or stream could not be read or written: exit 2.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, e.g. `cannot write the report findings.jsonl`.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

impl Exit {
    /// The process exit code.
    pub fn code(&self) -> i32 {
        match self {
            Exit::Rejected(_) | Exit::Findings(_) => 1,
            Exit::Usage(_) | Exit::Io { .. } => 2,
        }
    }

    /// An I/O failure while doing `what`.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Exit {
        let what = what.into();
        move |source| Exit::Io { what, source }
    }
}
