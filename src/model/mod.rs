//! The two models that the reference server is built on, and that the property tests check.
//!
//! - [`BoundedStream`] ([`stream`]): a producer offers encoded events and a reader reads bytes,
//!   within a byte cap, a high-water mark, an idle timeout, a maximum duration and a maximum
//!   chunk size; cancel and abort release everything.
//! - [`SessionStore`] ([`session`]): unguessable session ids, one stream per request plus at
//!   most one standalone stream, event ids tagged with the server's secret key (`event_id`),
//!   bounded per-stream logs, and resume with typed refusals.
//!
//! Both count what they hold in a [`Ledger`] ([`ledger`]) that must be back at zero once
//! everything has closed, and both read time only from the caller ([`clock`]): no wall clock,
//! so the same calls always give the same result. [`Fault`] ([`fault`]) switches on one
//! deliberately broken variant, to prove that each property can fail. [`check`] runs op
//! sequences against both and checks every invariant, for the property suites and the fuzz
//! targets alike.

pub mod check;
pub mod clock;
mod event_id;
pub mod fault;
pub mod ledger;
mod lower_hex;
pub mod session;
pub mod stream;

pub use clock::Millis;
pub use fault::Fault;
pub use ledger::{Ledger, Resource};
pub use session::{
    Appended, AtCapacity, Entropy, EntropyError, LogLimits, LoggedEvent, Replay, ResumeError,
    SessionConfig, SessionError, SessionId, SessionStore, StreamKind, StreamNo,
};
pub use stream::{BoundedStream, EndReason, HighWater, Offer, OfferError, Read, StreamConfig};
