//! A stream cut into its lines once, with the facts that peers act on and the reference's views
//! drop: where a line has no colon, and where its bytes are not UTF-8.

use crate::sse::field::{classify, Line};
use crate::sse::search::{find, line_breaks};
use crate::sse::{Limits, RawBlock, RawDecoder, RawItem, RawLine};

/// The UTF-8 byte-order mark (D2).
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Every line of a stream, as raw bytes.
///
/// Invariant: the lines and the tail, with their terminators, concatenate to the stream after
/// its leading BOM; no line or tail holds a CR or LF. [`Script::raw_blocks`] is the reference
/// [`crate::sse::RawDecoder`]'s view of the same stream, which `sse_differential` asserts on every
/// input, so the projections built on a script see what the reference sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Script<'s> {
    /// Whether the stream started with a BOM, which D2 strips.
    pub leading_bom: bool,
    /// Every line that a terminator ended (L1), without the terminator, in stream order.
    pub lines: Vec<&'s [u8]>,
    /// The bytes after the last terminator: a line the stream never finished (P6).
    pub tail: &'s [u8],
}

impl<'s> Script<'s> {
    pub(crate) fn new(stream: &'s [u8]) -> Self {
        let leading_bom = stream.starts_with(BOM);
        let body = if leading_bom {
            &stream[BOM.len()..]
        } else {
            stream
        };
        let mut lines = Vec::new();
        let mut start = 0;
        for end in line_breaks(body) {
            // The LF of a CRLF was consumed with its CR.
            if end < start {
                continue;
            }
            lines.push(&body[start..end]);
            start = end + 1;
            if body[end] == b'\r' && body.get(start) == Some(&b'\n') {
                start += 1;
            }
        }
        Script {
            leading_bom,
            lines,
            tail: &body[start..],
        }
    }

    /// Whether the reference's raw-block view of `chunks` lends exactly this script's lines,
    /// item by item, with a block end at each blank line that follows a block's lines. Then
    /// the blocks it completes are [`Script::raw_blocks`] (equal bytes decode to equal text).
    /// Allocates nothing.
    ///
    /// # Panics
    /// If the reference stops at a limit: a stream below the default [`Limits`] never does.
    pub(crate) fn lent_by_reference(&self, chunks: &[&[u8]]) -> bool {
        let mut open = false;
        let mut expected = self.lines.iter().filter_map(|line| match classify(line) {
            Line::Blank => std::mem::take(&mut open).then_some(RawItem::End),
            Line::Comment(text) => {
                open = true;
                Some(RawItem::Comment(text))
            }
            Line::Field { name, value } => {
                open = true;
                Some(RawItem::Field {
                    name: name.as_bytes(),
                    value,
                })
            }
        });
        let mut same = true;
        let mut decoder = RawDecoder::new(Limits::default());
        for chunk in chunks {
            decoder
                .feed_lent(chunk, &mut |item| same &= expected.next() == Some(item))
                .expect("a stream below the default limits decodes");
        }
        same && expected.next().is_none()
    }

    /// The blocks a blank line completed, each line decoded as [`crate::sse::RawDecoder`] does.
    pub(crate) fn raw_blocks(&self) -> Vec<RawBlock> {
        let mut blocks = Vec::new();
        let mut lines = Vec::new();
        for line in &self.lines {
            match classify(line) {
                Line::Blank => {
                    if !lines.is_empty() {
                        blocks.push(RawBlock {
                            lines: std::mem::take(&mut lines),
                        });
                    }
                }
                Line::Comment(text) => lines.push(RawLine::Comment {
                    comment: lossy(text),
                }),
                Line::Field { name, value } => lines.push(RawLine::Field {
                    name: lossy(name.as_bytes()),
                    value: lossy(value),
                }),
            }
        }
        blocks
    }
}

/// The value of a line as written after its first colon, before L5 removes a space; `None` for a
/// line without a colon (L6).
pub(crate) fn raw_value(line: &[u8]) -> Option<&[u8]> {
    find(b':', line).map(|colon| &line[colon + 1..])
}

/// Decodes bytes as UTF-8 with replacement (D3).
pub(crate) fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_at_crlf_cr_and_lf_and_the_tail_is_kept() {
        let script = Script::new(b"\xEF\xBB\xBFa\r\nb\rc\n\r\nd");
        assert!(script.leading_bom);
        assert_eq!(script.lines, [&b"a"[..], b"b", b"c", b""]);
        assert_eq!(script.tail, b"d");
    }

    #[test]
    fn a_final_cr_ends_its_line() {
        let script = Script::new(b"data:x\r\r");
        assert_eq!(script.lines, [&b"data:x"[..], b""]);
        assert_eq!(script.tail, b"");
    }
}
