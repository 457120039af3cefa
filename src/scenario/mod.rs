//! The scenario language: a small program of transport operations, derived from fuzzer bytes.
//!
//! The bytes are the stable file format: [`Scenario::from_bytes`] reads any byte string as a
//! scenario (the same bytes always give the same scenario, with the `arbitrary` version pinned
//! in Cargo.lock), so a reproducer file is simply the input that produced a finding. The
//! [`Display`](std::fmt::Display) form is the human-readable listing, one op per line.

mod encode;
mod era;
mod listing;
mod op;
pub mod seeds;
mod shrink;

pub use era::{Deviation, Era, Interests, STATELESS_VERSION};
pub use op::{
    CacheKey, Flood, IdPick, Misstep, Op, Oversize, Slot, StreamPick, ToolCall, Upload, Version,
    MAX_SESSIONS,
};
pub use shrink::{shrink, Shrunk, MAX_TRIALS};

use arbitrary::{Arbitrary, Unstructured};

/// The most ops a scenario holds; longer inputs are cut here, so every run is bounded.
pub const MAX_OPS: usize = 64;

/// A sequence of at most [`MAX_OPS`] operations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    /// The ops, run in order.
    pub ops: Vec<Op>,
}

impl Scenario {
    /// Reads ops from `bytes` until they run out or [`MAX_OPS`] is reached. Never fails: a byte
    /// string too short for one more op simply ends the scenario.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut input = Unstructured::new(bytes);
        let mut ops = Vec::new();
        while ops.len() < MAX_OPS && !input.is_empty() {
            match Op::arbitrary(&mut input) {
                Ok(op) => ops.push(op),
                Err(_) => break,
            }
        }
        Scenario { ops }
    }
}
