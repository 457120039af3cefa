//! The raw-block view: each block's lines as written, before the dispatch rules.
//!
//! Parsers that hand out whole blocks (sse-stream, sse-codec) are compared against this view;
//! browsers and `eventsource-stream` against [`super::Decoder`].

use super::field::{classify, Line};
use super::lines::{LineSink, LineSplitter};
use super::{DecodeError, Limits};

/// One non-blank line of a block, decoded as UTF-8 with replacement (D3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum RawLine {
    /// A comment: the text after the leading colon, as written.
    Comment {
        /// The comment's text, without the colon.
        comment: String,
    },
    /// A field, any name, known or not; the value has had one leading space removed (L5).
    Field {
        /// The line up to its first colon, or the whole line if it has none.
        name: String,
        /// The rest after the colon, less one leading space; empty without a colon.
        value: String,
    },
}

/// The lines between two blank lines. Only blocks with at least one line are reported.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct RawBlock {
    /// The block's lines in stream order; never empty.
    pub lines: Vec<RawLine>,
}

/// Incremental decoder of raw blocks. Same chunking, BOM and limit behaviour as
/// [`super::Decoder`]; `max_event_bytes` bounds the sum of one block's line lengths.
#[derive(Debug, Clone)]
pub struct RawDecoder {
    lines: LineSplitter,
    block: Collector,
    failed: Option<DecodeError>,
}

/// The block being built. Invariant: `bytes` is the sum of the raw lengths of `lines` and
/// never exceeds `max_block_bytes`.
#[derive(Debug, Clone)]
struct Collector {
    max_block_bytes: usize,
    bytes: usize,
    lines: Vec<RawLine>,
    done: Vec<RawBlock>,
}

impl Default for RawDecoder {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl RawDecoder {
    /// A raw-block decoder that reads within `limits`, stopping with a [`DecodeError`] past them.
    pub fn new(limits: Limits) -> Self {
        Self {
            lines: LineSplitter::new(limits.max_line_bytes),
            block: Collector {
                max_block_bytes: limits.max_event_bytes,
                bytes: 0,
                lines: Vec::new(),
                done: Vec::new(),
            },
            failed: None,
        }
    }

    /// Decodes one chunk and appends the blocks it completes to `out`. On error, `out` has
    /// every block completed before the offending line, and the decoder is failed for good.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<RawBlock>) -> Result<(), DecodeError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let result = self.lines.feed(chunk, &mut self.block);
        out.append(&mut self.block.done);
        if let Err(error) = &result {
            self.lines.discard_partial();
            self.block.lines = Vec::new();
            self.failed = Some(error.clone());
        }
        result
    }

    /// Ends the stream; an unterminated block is discarded (P6).
    pub fn finish(&mut self) -> Result<(), DecodeError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        self.lines.discard_partial();
        self.block.lines.clear();
        self.block.bytes = 0;
        Ok(())
    }
}

impl LineSink<'_> for Collector {
    fn line(&mut self, line: &[u8]) -> Result<(), DecodeError> {
        let raw = match classify(line) {
            Line::Blank => {
                if !self.lines.is_empty() {
                    let lines = std::mem::take(&mut self.lines);
                    self.done.push(RawBlock { lines });
                }
                self.bytes = 0;
                return Ok(());
            }
            Line::Comment(text) => RawLine::Comment {
                comment: String::from_utf8_lossy(text).into_owned(),
            },
            Line::Field { name, value } => RawLine::Field {
                name: String::from_utf8_lossy(name.as_bytes()).into_owned(),
                value: String::from_utf8_lossy(value).into_owned(),
            },
        };
        self.bytes += line.len();
        if self.bytes > self.max_block_bytes {
            return Err(DecodeError::EventTooLarge {
                limit: self.max_block_bytes,
            });
        }
        self.lines.push(raw);
        Ok(())
    }
}
