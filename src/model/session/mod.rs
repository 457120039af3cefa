//! Sessions and resumption: unguessable session ids ([`ids`]), and the store of sessions,
//! streams and bounded per-stream logs that resumes read from ([`store`]).

pub mod ids;
pub mod store;

pub use ids::{Entropy, EntropyError, SessionId, StreamNo};
pub use store::{
    Appended, AtCapacity, LogLimits, LoggedEvent, Replay, ResumeError, SessionConfig, SessionError,
    SessionStore, StreamKind,
};
