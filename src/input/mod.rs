//! Generator types: what the fuzz targets, the scenario language and the property suites read
//! from fuzzer bytes.
//!
//! A leaf: it imports only the codec ([`crate::sse`], for its limits), so everything that makes
//! inputs can use it without reaching the code that runs or judges them.
//! - [`Untrusted`] and [`Piece`]: untrusted text (tool output, documents) whose control
//!   sequences are variants of their own;
//! - [`chunked_stream`]: the `[n] [n chunk sizes] [stream]` input of the stream targets;
//! - [`FUZZ_LIMITS`]: decoder limits small enough that fuzzing reaches every over-limit path;
//! - [`Corpus`]: whether bytes could become an input at all.

mod chunked;
mod untrusted;

pub use chunked::chunked_stream;
pub use untrusted::{Piece, Untrusted};

use crate::sse::Limits;

/// Limits small enough that fuzzing reaches the over-limit paths quickly.
pub const FUZZ_LIMITS: Limits = Limits {
    max_line_bytes: 128,
    max_event_bytes: 512,
};

/// Whether an input belongs in the corpus, as libFuzzer's `Corpus` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Corpus {
    /// The input was run and checked.
    Keep,
    /// The bytes cannot become an input of this target; nothing was checked.
    Reject,
}

#[cfg(feature = "libfuzzer")]
impl From<Corpus> for libfuzzer_sys::Corpus {
    fn from(corpus: Corpus) -> Self {
        match corpus {
            Corpus::Keep => libfuzzer_sys::Corpus::Keep,
            Corpus::Reject => libfuzzer_sys::Corpus::Reject,
        }
    }
}
