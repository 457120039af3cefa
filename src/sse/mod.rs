//! The reference event-stream codec: a decoder exact to the WHATWG rules and a safe encoder.
//!
//! - [`Decoder`]: the browser view (events and retry updates), allocation-free in steady state.
//! - [`RawDecoder`]: each block's lines as written, for comparison with block parsers.
//! - [`Frame`]: the encoder, which refuses (or, by policy, sanitises) any value that could
//!   inject a line, so untrusted text always arrives as exactly one event.
//!
//! The rule names (D1, L2, F3, ...) refer to the project's SSE rule list.

mod decode;
mod encode;
pub mod field;
mod lines;
mod raw;
pub(crate) mod search;

pub use decode::{decode_chunks, Decoder, Event, EventRef, Record, RecordRef};
pub use encode::{encode_json, EncodeError, EncodePolicy, FieldName, Frame};
pub use raw::{RawBlock, RawDecoder, RawItem, RawLine};

/// Bounds on what a decoder buffers for one line and one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The longest line, terminator excluded, that the decoder accepts.
    pub max_line_bytes: usize,
    /// The most data bytes (decoded UTF-8, LFs included) one event may accumulate before
    /// dispatch.
    pub max_event_bytes: usize,
}

impl Limits {
    /// 16 MiB for a line and for an event.
    pub const DEFAULT_BYTES: usize = 16 << 20;
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_line_bytes: Self::DEFAULT_BYTES,
            max_event_bytes: Self::DEFAULT_BYTES,
        }
    }
}

/// Why decoding stopped. Every record completed before the offending line was delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A line, terminator excluded, grew past `limit` bytes before it ended.
    #[error("a line is longer than the limit of {limit} bytes")]
    LineTooLong {
        /// The [`Limits::max_line_bytes`] in force.
        limit: usize,
    },
    /// An event's data, joined so far, would grow past `limit` bytes.
    #[error("an event's data is larger than the limit of {limit} bytes")]
    EventTooLarge {
        /// The [`Limits::max_event_bytes`] in force.
        limit: usize,
    },
}
