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

/// One item of the raw view as [`RawDecoder::feed_lent`] lends it: a line of the block being
/// read, or the end of a block that had at least one line. The bytes are as written (not yet
/// decoded as UTF-8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RawItem<'a> {
    /// A comment line: the text after the colon.
    Comment(&'a [u8]),
    /// A field line: its name, and its value less one leading space.
    Field {
        /// The line up to its first colon, or the whole line if it has none.
        name: &'a [u8],
        /// The rest after the colon, less one leading space; empty without a colon.
        value: &'a [u8],
    },
    /// A blank line ending a block that had lines.
    End,
}

/// Incremental decoder of raw blocks. Same chunking, BOM and limit behaviour as
/// [`super::Decoder`]; `max_event_bytes` bounds the sum of one block's line lengths.
///
/// Read a stream with [`RawDecoder::feed`] (owned blocks) or [`RawDecoder::feed_lent`]
/// (borrowed items, no allocation), not both.
#[derive(Debug, Clone)]
pub struct RawDecoder {
    lines: LineSplitter,
    blocks: Blocks,
    /// The owned lines of the block [`RawDecoder::feed`] is building.
    partial: Vec<RawLine>,
    failed: Option<DecodeError>,
}

/// Where the decoder is within a block. Invariant: `bytes` is the sum of the raw lengths of
/// the block's lines so far and never exceeds `max_block_bytes`; `open` is whether the block
/// has a line.
#[derive(Debug, Clone)]
struct Blocks {
    max_block_bytes: usize,
    bytes: usize,
    open: bool,
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
            blocks: Blocks {
                max_block_bytes: limits.max_event_bytes,
                bytes: 0,
                open: false,
            },
            partial: Vec::new(),
            failed: None,
        }
    }

    /// Decodes one chunk and appends the blocks it completes to `out`. On error, `out` has
    /// every block completed before the offending line, and the decoder is failed for good.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<RawBlock>) -> Result<(), DecodeError> {
        let mut partial = std::mem::take(&mut self.partial);
        let result = self.feed_lent(chunk, &mut |item| match item {
            RawItem::Comment(text) => partial.push(RawLine::Comment {
                comment: String::from_utf8_lossy(text).into_owned(),
            }),
            RawItem::Field { name, value } => partial.push(RawLine::Field {
                name: String::from_utf8_lossy(name).into_owned(),
                value: String::from_utf8_lossy(value).into_owned(),
            }),
            RawItem::End => out.push(RawBlock {
                lines: std::mem::take(&mut partial),
            }),
        });
        if result.is_ok() {
            self.partial = partial;
        }
        result
    }

    /// Decodes one chunk, lending `visit` each line and each block end it completes. On error,
    /// `visit` has seen everything before the offending line, and the decoder is failed for
    /// good.
    pub fn feed_lent(
        &mut self,
        chunk: &[u8],
        visit: &mut impl FnMut(RawItem<'_>),
    ) -> Result<(), DecodeError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let result = self.lines.feed(
            chunk,
            &mut Lent {
                blocks: &mut self.blocks,
                visit,
            },
        );
        if let Err(error) = &result {
            self.lines.end_stream();
            self.blocks.reset();
            self.partial = Vec::new();
            self.failed = Some(error.clone());
        }
        result
    }

    /// Ends the stream; an unterminated block is discarded (P6).
    pub fn finish(&mut self) -> Result<(), DecodeError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        self.lines.end_stream();
        self.blocks.reset();
        self.partial.clear();
        Ok(())
    }
}

impl Blocks {
    /// Forgets the block being read.
    fn reset(&mut self) {
        self.bytes = 0;
        self.open = false;
    }
}

/// The line sink of one [`RawDecoder::feed_lent`] call.
struct Lent<'a, V> {
    blocks: &'a mut Blocks,
    visit: &'a mut V,
}

impl<V: FnMut(RawItem<'_>)> LineSink<'_> for Lent<'_, V> {
    fn line(&mut self, line: &[u8]) -> Result<(), DecodeError> {
        let blocks = &mut *self.blocks;
        let item = match classify(line) {
            Line::Blank => {
                if blocks.open {
                    (self.visit)(RawItem::End);
                }
                blocks.reset();
                return Ok(());
            }
            Line::Comment(text) => RawItem::Comment(text),
            Line::Field { name, value } => RawItem::Field {
                name: name.as_bytes(),
                value,
            },
        };
        blocks.bytes += line.len();
        if blocks.bytes > blocks.max_block_bytes {
            return Err(DecodeError::EventTooLarge {
                limit: blocks.max_block_bytes,
            });
        }
        blocks.open = true;
        (self.visit)(item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The owned blocks, rebuilt from what `feed_lent` lends.
    fn lent_blocks(chunks: &[&[u8]], limits: Limits) -> (Vec<RawBlock>, Option<DecodeError>) {
        let mut decoder = RawDecoder::new(limits);
        let (mut blocks, mut lines) = (Vec::new(), Vec::new());
        let mut visit = |item: RawItem<'_>| match item {
            RawItem::Comment(text) => lines.push(RawLine::Comment {
                comment: String::from_utf8_lossy(text).into_owned(),
            }),
            RawItem::Field { name, value } => lines.push(RawLine::Field {
                name: String::from_utf8_lossy(name).into_owned(),
                value: String::from_utf8_lossy(value).into_owned(),
            }),
            RawItem::End => blocks.push(RawBlock {
                lines: std::mem::take(&mut lines),
            }),
        };
        for chunk in chunks {
            if let Err(error) = decoder.feed_lent(chunk, &mut visit) {
                return (blocks, Some(error));
            }
        }
        (blocks, decoder.finish().err())
    }

    fn owned_blocks(chunks: &[&[u8]], limits: Limits) -> (Vec<RawBlock>, Option<DecodeError>) {
        let mut decoder = RawDecoder::new(limits);
        let mut blocks = Vec::new();
        for chunk in chunks {
            if let Err(error) = decoder.feed(chunk, &mut blocks) {
                return (blocks, Some(error));
            }
        }
        (blocks, decoder.finish().err())
    }

    #[test]
    fn lent_items_and_owned_blocks_agree_across_chunks_and_limits() {
        // Two blocks (21 and 10 bytes of lines), a third of 30, and an unterminated line.
        let stream: &[u8] = b"\xEF\xBB\xBF: hi\r\nevent: a\ndata: x\xFFy\r\r\n\nid\nretry: 5\n\n\
            data: 012345678901234567890123\n\nunterminated";
        let tight = Limits {
            max_event_bytes: 25,
            ..Limits::default()
        };
        for limits in [Limits::default(), tight] {
            for cut in 0..stream.len() {
                let chunks = [&stream[..cut], &stream[cut..]];
                let owned = owned_blocks(&chunks, limits);
                assert_eq!(lent_blocks(&chunks, limits), owned, "cut at {cut}");
                assert_eq!(owned, owned_blocks(&[stream], limits), "cut at {cut}");
            }
        }
        let (blocks, error) = owned_blocks(&[stream], Limits::default());
        assert_eq!((blocks.len(), error), (3, None));
        let (blocks, error) = owned_blocks(&[stream], tight);
        assert_eq!(blocks.len(), 2);
        assert!(matches!(
            error,
            Some(DecodeError::EventTooLarge { limit: 25 })
        ));
    }
}
