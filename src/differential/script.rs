//! A stream cut into its lines once, with the facts that peers act on and the reference's views
//! drop: where a line has no colon, and where its bytes are not UTF-8.

use crate::sse::field::{classify, Line};
use crate::sse::search::{find, line_breaks};
use crate::sse::{RawBlock, RawLine};

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

    /// Whether `blocks` (the reference's raw-block view) are exactly the blocks of this script
    /// that a blank line completed. Allocates only to compare lines that are not UTF-8.
    pub(crate) fn has_blocks(&self, blocks: &[RawBlock]) -> bool {
        let mut blocks = blocks.iter();
        let mut start = 0;
        for (at, line) in self.lines.iter().enumerate() {
            if !line.is_empty() {
                continue;
            }
            let lines = &self.lines[start..at];
            start = at + 1;
            if lines.is_empty() {
                continue;
            }
            let same = blocks.next().is_some_and(|block| {
                block.lines.len() == lines.len()
                    && block
                        .lines
                        .iter()
                        .zip(lines)
                        .all(|(raw, line)| same_line(raw, line))
            });
            if !same {
                return false;
            }
        }
        blocks.next().is_none()
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

/// Whether `raw` is `line` as the reference's raw-block view decodes it.
fn same_line(raw: &RawLine, line: &[u8]) -> bool {
    match (raw, classify(line)) {
        (RawLine::Comment { comment }, Line::Comment(text)) => same_text(comment, text),
        (RawLine::Field { name, value }, Line::Field { name: n, value: v }) => {
            same_text(name, n.as_bytes()) && same_text(value, v)
        }
        _ => false,
    }
}

/// Whether `text` is `bytes` decoded as UTF-8 with replacement (D3).
fn same_text(text: &str, bytes: &[u8]) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(valid) => text == valid,
        Err(_) => *text == String::from_utf8_lossy(bytes),
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
