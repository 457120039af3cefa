//! The bodies of the fuzz targets, as library functions, and the [`TARGETS`] table.
//!
//! Each `fuzz/fuzz_targets/X.rs` is one line calling `X` here, and `cargo test` replays every
//! file under `corpus/X/` through the same function, so a crash found anywhere becomes a
//! permanent regression test by dropping its input into the corpus. A body panics exactly
//! when an invariant is broken; it returns [`Corpus::Reject`] for bytes that cannot become an
//! input (so libFuzzer keeps them out of the corpus) and [`Corpus::Keep`] otherwise.
//!
//! Targets glue generators ([`crate::input`], [`crate::scenario`], the model checks' ops) to
//! what judges them:
//! - `sse_decode`, `sse_roundtrip` (`sse`): the reference codec against itself;
//! - `sse_differential`, `encoder_differential` ([`crate::differential`]): against the peers;
//! - `bounded_stream`, `session_resume` (`models`): the models against their invariants;
//! - `harness_reference`, `harness_rmcp`, `harness_fixture` (`scenario`): scenarios run by
//!   the in-process runner and judged by every oracle.

mod models;
mod scenario;
mod sse;
mod transcript;

#[cfg(feature = "peers")]
pub use crate::differential::{encoder_differential, sse_differential};
pub use models::{bounded_stream, session_resume};
pub use scenario::{
    fixture_input, harness_fixture, harness_reference, harness_rmcp, FIXTURE_ENV, RMCP_KNOWN,
};
pub use sse::{sse_decode, sse_roundtrip, RoundtripInput};

pub use crate::input::Corpus;

/// The body of a fuzz target: it panics exactly when an invariant is broken.
pub type FuzzBody = fn(&[u8]) -> Corpus;

/// Every fuzz target, by name, as `cargo fuzz list` shows them and `corpus/` names its folders.
pub const TARGETS: &[(&str, FuzzBody)] = &[
    ("sse_decode", sse_decode),
    ("sse_roundtrip", sse_roundtrip),
    ("bounded_stream", bounded_stream),
    ("session_resume", session_resume),
    ("harness_reference", harness_reference),
    ("harness_rmcp", harness_rmcp),
    #[cfg(feature = "peers")]
    ("sse_differential", sse_differential),
    #[cfg(feature = "peers")]
    ("encoder_differential", encoder_differential),
];

/// The fuzz target over the deliberately vulnerable fixtures. Not in [`TARGETS`]: every run of
/// it is meant to crash (each crash is a fixture's bug found), so neither the corpus replay
/// nor continuous fuzzing runs it; `.ci/run` checks that it finds each fixture.
pub const FIXTURE_TARGET: (&str, FuzzBody) = ("harness_fixture", harness_fixture);
