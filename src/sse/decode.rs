//! The browser view of an event stream: dispatched events and retry updates (rules F1 to P6).

use std::borrow::Cow;

use super::field::{classify, parse_retry, Line, Name};
use super::lines::{LineSink, LineSplitter};
use super::{DecodeError, Limits};

/// An event as dispatched, borrowing the decoder's buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventRef<'a> {
    /// The event type: the `event` field, or `message` when it was empty or absent (P4).
    pub event_type: &'a str,
    /// The data lines joined by LF, without the final LF (P3).
    pub data: &'a str,
    /// The last-event-ID buffer at dispatch time (P1).
    pub last_event_id: &'a str,
}

/// One thing the decoder reports, borrowing the decoder's buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordRef<'a> {
    /// A dispatched event.
    Event(EventRef<'a>),
    /// A valid `retry` field: the new reconnection time in milliseconds (F4).
    Retry(u64),
}

/// An owned event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Event {
    /// The event type, `message` when the field was empty or absent (P4); `"event"` in JSON.
    #[serde(rename = "event")]
    pub event_type: String,
    /// The data lines joined by LF, without the final LF (P3).
    pub data: String,
    /// The last-event-ID buffer at dispatch time (P1); `"id"` in JSON.
    #[serde(rename = "id")]
    pub last_event_id: String,
}

/// An owned record, serialised as the CLI prints it:
/// `{"event":TYPE,"data":DATA,"id":LAST_EVENT_ID}` or `{"retry":MILLIS}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Record {
    /// A dispatched event.
    Event(Event),
    /// A valid `retry` field.
    Retry {
        /// The new reconnection time in milliseconds (F4).
        retry: u64,
    },
}

impl RecordRef<'_> {
    /// Copies the record out of the decoder's buffers.
    pub fn to_owned(&self) -> Record {
        match *self {
            RecordRef::Event(event) => Record::Event(Event {
                event_type: event.event_type.to_owned(),
                data: event.data.to_owned(),
                last_event_id: event.last_event_id.to_owned(),
            }),
            RecordRef::Retry(retry) => Record::Retry { retry },
        }
    }
}

/// Incremental, allocation-free (in steady state) event-stream decoder.
///
/// Feed chunks of any size with [`Decoder::feed`]; each completed record goes to the sink in
/// stream order, borrowing buffers that the decoder reuses. Chunk boundaries never change the
/// records (rule L2).
///
/// Limits: a pending line longer than [`Limits::max_line_bytes`], or an event whose data would
/// exceed [`Limits::max_event_bytes`], stops decoding with a [`DecodeError`] after every record
/// completed before the offending line has been delivered. The decoder then holds no buffered
/// bytes and is *failed*: every later `feed` or `finish` returns the same error. Start a new
/// decoder to read a new stream.
#[derive(Debug, Clone)]
pub struct Decoder {
    lines: LineSplitter,
    state: Interpreter,
    failed: Option<DecodeError>,
}

/// The buffers of the event being built.
///
/// Invariant: every buffer is valid UTF-8 (each line is decoded as it arrives, rule D3), and
/// `data.len()` never exceeds `max_event_bytes`.
#[derive(Debug, Clone)]
struct Interpreter {
    max_event_bytes: usize,
    data: String,
    event_type: String,
    /// The last-event-ID buffer, set by `id` fields as they arrive (F3).
    id_buffer: String,
    /// The id committed by the last dispatch (P1): what a reconnecting client sends.
    committed_id: String,
    /// Whether an `id` field has run since the last dispatch (so `committed_id` may be stale).
    id_changed: bool,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl Decoder {
    /// A decoder that reads within `limits`, stopping with a [`DecodeError`] past them.
    pub fn new(limits: Limits) -> Self {
        Self {
            lines: LineSplitter::new(limits.max_line_bytes),
            state: Interpreter {
                max_event_bytes: limits.max_event_bytes,
                data: String::new(),
                event_type: String::new(),
                id_buffer: String::new(),
                committed_id: String::new(),
                id_changed: false,
            },
            failed: None,
        }
    }

    /// Decodes one chunk, calling `sink` for every record it completes.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        sink: &mut impl FnMut(RecordRef<'_>),
    ) -> Result<(), DecodeError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let mut lines = Lines {
            state: &mut self.state,
            sink,
            borrowed_data: None,
        };
        let result = self.lines.feed(chunk, &mut lines);
        match &result {
            Ok(()) => lines.own_borrowed_data(),
            Err(error) => self.fail(error.clone()),
        }
        result
    }

    /// Decodes one chunk and appends owned copies of its records to `out`.
    pub fn feed_owned(&mut self, chunk: &[u8], out: &mut Vec<Record>) -> Result<(), DecodeError> {
        self.feed(chunk, &mut |record| out.push(record.to_owned()))
    }

    /// Ends the stream: an unterminated line and an undispatched block are discarded, and an
    /// `id` they set is not committed (P6). The decoder can then read the stream a reconnection
    /// opens, as a new stream (its leading BOM is stripped, D2) that starts from the committed
    /// id, as a browser does.
    pub fn finish(&mut self) -> Result<(), DecodeError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        self.lines.end_stream();
        let state = &mut self.state;
        state.data.clear();
        state.event_type.clear();
        state.id_buffer.clone_from(&state.committed_id);
        state.id_changed = false;
        Ok(())
    }

    /// Bytes held for the pending line and the pending event's data.
    ///
    /// Invariant: never more than `max_line_bytes + max_event_bytes` of the decoder's [`Limits`]
    /// (the event type and id buffers each hold at most one line's value on top of this).
    pub fn pending_bytes(&self) -> usize {
        self.lines.pending_bytes() + self.state.data.len()
    }

    /// The committed last event ID: what a client would send in `Last-Event-ID`.
    pub fn last_event_id(&self) -> &str {
        &self.state.committed_id
    }

    fn fail(&mut self, error: DecodeError) {
        self.lines.end_stream();
        self.state.data = String::new();
        self.state.event_type = String::new();
        self.failed = Some(error);
    }
}

/// Decodes a whole stream given as chunks; a convenience for tests and tools.
pub fn decode_chunks<'c>(
    chunks: impl IntoIterator<Item = &'c [u8]>,
    limits: Limits,
) -> Result<Vec<Record>, (Vec<Record>, DecodeError)> {
    let mut decoder = Decoder::new(limits);
    let mut records = Vec::new();
    for chunk in chunks {
        if let Err(error) = decoder.feed_owned(chunk, &mut records) {
            return Err((records, error));
        }
    }
    match decoder.finish() {
        Ok(()) => Ok(records),
        Err(error) => Err((records, error)),
    }
}

/// Adapts the interpreter and a record sink to the line splitter, for one chunk.
///
/// Zero-copy path: the first data line of an event, when it lies inside the chunk and is valid
/// UTF-8, is only borrowed (`borrowed_data`, standing for a data buffer of that text plus LF).
/// An event dispatched within the same chunk is sent straight from the chunk; a second data line,
/// or the end of the chunk, copies the borrowed text into the interpreter's buffer first.
///
/// Invariant: `borrowed_data` is `Some` only while `state.data` is empty.
struct Lines<'s, 'c, F> {
    state: &'s mut Interpreter,
    sink: &'s mut F,
    borrowed_data: Option<&'c str>,
}

impl<'c, F: FnMut(RecordRef<'_>)> LineSink<'c> for Lines<'_, 'c, F> {
    fn line(&mut self, line: &[u8]) -> Result<(), DecodeError> {
        match classify(line) {
            Line::Field {
                name: Name::Data,
                value,
            } => {
                self.own_borrowed_data();
                self.state.append_data(value)
            }
            other => self.other_line(other),
        }
    }

    #[inline]
    fn line_in_chunk(&mut self, line: &'c [u8]) -> Result<(), DecodeError> {
        match classify(line) {
            Line::Field {
                name: Name::Data,
                value,
            } => {
                if self.borrowed_data.is_none() && self.state.data.is_empty() {
                    self.state.check_event_size(value.len() + 1)?;
                    if let Some(text) = valid_text(value) {
                        self.borrowed_data = Some(text);
                        return Ok(());
                    }
                }
                self.own_borrowed_data();
                self.state.append_data(value)
            }
            other => self.other_line(other),
        }
    }
}

impl<F: FnMut(RecordRef<'_>)> Lines<'_, '_, F> {
    /// Copies borrowed data into the interpreter's buffer (F2: the text, then a LF).
    fn own_borrowed_data(&mut self) {
        if let Some(text) = self.borrowed_data.take() {
            self.state.data.push_str(text);
            self.state.data.push('\n');
        }
    }

    /// Every line but a data line.
    #[inline]
    fn other_line(&mut self, line: Line<'_>) -> Result<(), DecodeError> {
        let state = &mut *self.state;
        match line {
            Line::Blank => state.dispatch(self.borrowed_data.take(), self.sink),
            Line::Field { name, value } => match name {
                Name::Event => replace_lossy(&mut state.event_type, value),
                Name::Id if !contains_nul(value) => {
                    replace_lossy(&mut state.id_buffer, value);
                    state.id_changed = true;
                }
                Name::Retry => {
                    if let Some(millis) = parse_retry(value) {
                        (self.sink)(RecordRef::Retry(millis));
                    }
                }
                Name::Data | Name::Id | Name::Other(_) => {}
            },
            Line::Comment(_) => {}
        }
        Ok(())
    }
}

impl Interpreter {
    /// Refuses an event whose data buffer would grow to `bytes` more than it holds.
    fn check_event_size(&self, more: usize) -> Result<(), DecodeError> {
        if self.data.len() + more > self.max_event_bytes {
            Err(DecodeError::EventTooLarge {
                limit: self.max_event_bytes,
            })
        } else {
            Ok(())
        }
    }

    /// F2: append the value and a LF to the data buffer, within the event limit. The limit
    /// counts decoded bytes: an invalid byte becomes U+FFFD, three bytes of text.
    fn append_data(&mut self, value: &[u8]) -> Result<(), DecodeError> {
        let text = match valid_text(value) {
            Some(text) => Cow::Borrowed(text),
            None => String::from_utf8_lossy(value),
        };
        self.check_event_size(text.len() + 1)?;
        self.data.push_str(&text);
        self.data.push('\n');
        Ok(())
    }

    /// P1 to P5. `borrowed_data`, if any, is the whole data buffer without its final LF.
    fn dispatch(&mut self, borrowed_data: Option<&str>, sink: &mut impl FnMut(RecordRef<'_>)) {
        if self.id_changed {
            self.committed_id.clone_from(&self.id_buffer);
            self.id_changed = false;
        }
        let data = match borrowed_data {
            Some(text) => text,
            None if self.data.is_empty() => {
                self.event_type.clear();
                return;
            }
            None => {
                self.data.pop();
                &self.data
            }
        };
        let event_type = if self.event_type.is_empty() {
            "message"
        } else {
            &self.event_type
        };
        sink(RecordRef::Event(EventRef {
            event_type,
            data,
            last_event_id: &self.id_buffer,
        }));
        self.data.clear();
        self.event_type.clear();
    }
}

/// Whether an id value holds a NUL (F3). Ids are short: a branch-free scan that the compiler
/// vectorises beats a call into `memchr` here.
fn contains_nul(value: &[u8]) -> bool {
    value.iter().fold(false, |found, &byte| found | (byte == 0))
}

/// Sets `buffer` to `value` decoded as UTF-8 with replacement (D3), reusing its allocation.
fn replace_lossy(buffer: &mut String, value: &[u8]) {
    buffer.clear();
    push_lossy(buffer, value);
}

/// Appends `value` decoded as UTF-8 with replacement (D3). ASCII, the common case for the short
/// `event` and `id` values, is recognised word-at-a-time; other valid text takes the SIMD
/// validator; only invalid input walks the byte-wise lossy decoder.
fn push_lossy(buffer: &mut String, value: &[u8]) {
    match valid_text(value) {
        Some(text) => buffer.push_str(text),
        None => buffer.push_str(&String::from_utf8_lossy(value)),
    }
}

/// `value` as text if it is valid UTF-8.
#[inline]
fn valid_text(value: &[u8]) -> Option<&str> {
    // Below 64 bytes the SIMD validator defers to the standard one, slower than an ASCII check.
    if value.len() < 64 {
        if let Some(text) = ascii_text(value) {
            return Some(text);
        }
    }
    simdutf8::basic::from_utf8(value).ok()
}

/// `bytes` as text if they are all ASCII.
fn ascii_text(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: every sequence of ASCII bytes is valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        None
    }
}
