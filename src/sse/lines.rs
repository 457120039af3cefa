//! Splitting a chunked byte stream into lines (rules D2, L1, L2).
//!
//! The splitter owns everything that depends on chunk boundaries: the leading byte-order mark, a
//! line that continues into the next chunk, and a CR at the end of a chunk whose LF may start the
//! next one. Everything after it sees whole lines, so chunking can never change the result.

use super::search::line_breaks;
use super::DecodeError;

/// The UTF-8 byte-order mark, stripped once at offset 0 of the stream (rule D2).
const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// Receives each complete line, without its terminator. `'c` is the lifetime of the chunk
/// being fed.
pub(crate) trait LineSink<'c> {
    /// A line assembled from more than one chunk.
    fn line(&mut self, line: &[u8]) -> Result<(), DecodeError>;

    /// A line that lies wholly inside the current chunk, so a sink may borrow from it until
    /// the end of the [`LineSplitter::feed`] call.
    fn line_in_chunk(&mut self, line: &'c [u8]) -> Result<(), DecodeError> {
        self.line(line)
    }
}

/// How much of the leading BOM has been seen so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bom {
    /// The first `n` bytes of the stream matched the first `n` bytes of the BOM (n < 3).
    Matching(usize),
    /// The BOM was stripped, or the stream did not start with one.
    Done,
}

/// Incremental line splitter.
///
/// Invariant: `partial` never holds more than `max_line_bytes` bytes, and never holds a line
/// terminator. `after_cr` is true only when the last non-empty chunk of the current stream
/// ended with CR.
#[derive(Debug, Clone)]
pub(crate) struct LineSplitter {
    max_line_bytes: usize,
    partial: Vec<u8>,
    bom: Bom,
    after_cr: bool,
}

impl LineSplitter {
    pub(crate) fn new(max_line_bytes: usize) -> Self {
        Self {
            max_line_bytes,
            partial: Vec::new(),
            bom: Bom::Matching(0),
            after_cr: false,
        }
    }

    /// Feeds one chunk and hands every line it completes to `sink`, in order.
    ///
    /// A CR at the end of the chunk ends its line at once (rule L2); if the next chunk starts
    /// with LF, that LF is skipped. Empty chunks change nothing.
    pub(crate) fn feed<'c>(
        &mut self,
        chunk: &'c [u8],
        sink: &mut impl LineSink<'c>,
    ) -> Result<(), DecodeError> {
        if chunk.is_empty() {
            return Ok(());
        }
        let mut pos = self.strip_bom(chunk);
        if self.after_cr && pos < chunk.len() {
            self.after_cr = false;
            if chunk[pos] == b'\n' {
                pos += 1;
            }
        }
        // One searcher for the whole chunk; a break before `pos` is the LF of a CRLF (or the
        // skipped LF after a CR that ended the previous chunk) and was consumed already.
        for end in line_breaks(chunk) {
            if end < pos {
                continue;
            }
            self.check_length(end - pos)?;
            let terminator = match (chunk[end], chunk.get(end + 1)) {
                (b'\r', Some(b'\n')) => 2,
                (b'\r', None) => {
                    self.after_cr = true;
                    1
                }
                _ => 1,
            };
            if self.partial.is_empty() {
                sink.line_in_chunk(&chunk[pos..end])?;
            } else {
                self.partial.extend_from_slice(&chunk[pos..end]);
                let result = sink.line(&self.partial);
                self.partial.clear();
                result?;
            }
            pos = end + terminator;
        }
        let rest = &chunk[pos.min(chunk.len())..];
        if !rest.is_empty() {
            self.check_length(rest.len())?;
            self.partial.extend_from_slice(rest);
        }
        Ok(())
    }

    /// Bytes held for the unterminated line; never more than `max_line_bytes`.
    pub(crate) fn pending_bytes(&self) -> usize {
        self.partial.len()
    }

    /// Ends the stream (rule P6, or after an error): forgets the unterminated line, if any, and
    /// where the stream was, so that the next chunk starts a new stream, as a reconnection's
    /// does: its leading BOM is stripped (D2), and a CR that ended this stream does not eat
    /// its first LF.
    pub(crate) fn end_stream(&mut self) {
        self.partial = Vec::new();
        self.bom = Bom::Matching(0);
        self.after_cr = false;
    }

    /// Consumes as much of the leading BOM as this chunk holds; returns where lines start.
    fn strip_bom(&mut self, chunk: &[u8]) -> usize {
        let Bom::Matching(seen) = self.bom else {
            return 0;
        };
        let wanted = &BOM[seen..];
        let n = wanted.len().min(chunk.len());
        if chunk[..n] == wanted[..n] {
            if n == wanted.len() {
                self.bom = Bom::Done;
            } else {
                self.bom = Bom::Matching(seen + n);
            }
            n
        } else {
            // Not a BOM after all: the bytes held back are ordinary line bytes.
            self.bom = Bom::Done;
            self.partial.extend_from_slice(&BOM[..seen]);
            0
        }
    }

    fn check_length(&self, more: usize) -> Result<(), DecodeError> {
        if self.partial.len().saturating_add(more) > self.max_line_bytes {
            Err(DecodeError::LineTooLong {
                limit: self.max_line_bytes,
            })
        } else {
            Ok(())
        }
    }
}
