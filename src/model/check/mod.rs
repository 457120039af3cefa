//! The one oracle of the models: op sequences, the harnesses that run them, and the invariant
//! checks, shared by the property suites (`proptests/`) and the fuzz targets ([`crate::fuzz`]).
//!
//! - [`stream`]: [`StreamOp`] sequences on one [`BoundedStream`](super::BoundedStream),
//!   run by [`StreamRun`], whose checks cover the byte cap, the high-water mark, the deadlines
//!   and the ledger; [`StreamCase`] runs them all.
//! - [`session_ops`]: [`SessionOp`] sequences on one [`SessionStore`](super::SessionStore)
//!   (the generator half); [`SessionCase`] runs them all on a [`World`], then ends every
//!   session and checks that nothing stays held.
//! - [`world`]: the oracle half: [`World`] runs the ops beside an oracle of what the store
//!   should hold: every answer is checked, resumes by the isolation check of `resume`.
//! - [`ranges`]: the small limits that make caps, marks and deadlines reachable within a few
//!   ops, read by the fuzz targets (through [`arbitrary`]) and by the property strategies.
//!
//! A check returns `Err(`[`Violation`]`)` naming the broken [`Invariant`], never panics: the
//! property suites turn it into a proptest failure, the fuzz targets into a panic with the case.
//! Ops derive [`arbitrary::Arbitrary`] with the same ranges; the proptest strategies build the
//! same types.

mod pick;
pub mod ranges;
mod resume;
pub mod session_ops;
pub mod stream;
mod violation;
pub mod world;

pub use pick::Pick;
pub use session_ops::{MintedIdPick, SessionCase, SessionEnd, SessionOp};
pub use stream::{StreamCase, StreamEnding, StreamOp, StreamRun};
pub use violation::{Invariant, Violation};
pub use world::World;
