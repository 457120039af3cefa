//! What a peer decoder should report for a stream: the reference's reading of it, in the peer's
//! shape, with a switch for every deviation the peer is known to have.
//!
//! [`Model::default`] is the WHATWG rules exactly. With it, `browser` yields the reference
//! [`crate::sse::Decoder`]'s records and `blocks` the WHATWG meaning of each raw block;
//! `sse_differential` asserts the first on every input, and builds both on a `Script` that it
//! asserts equal to the reference [`crate::sse::RawDecoder`]. Each [`super::Deviation`] turns on
//! one switch, so a peer's output is predicted exactly, deviations included, and anything else it
//! does is a new divergence.

use std::borrow::Cow;
use std::time::Duration;

use crate::sse::field::{classify, parse_retry, Line, Name};
use crate::sse::Event;

use super::script::{lossy, raw_value, Script, BOM};
use super::Input;

/// One thing a peer reports, in a shape every peer's output maps to without loss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A raw block (sse-stream): the fields it set, none inherited from earlier blocks.
    Block(Block),
    /// A dispatched event. `retry` is the reconnection time a peer attaches to the event of the
    /// block that set it (eventsource-stream); peers that report retry on its own leave it `None`.
    Event {
        /// The dispatched event, as the reference would decode it.
        event: Event,
        /// The retry the peer attached to this event, or None if its block set none.
        retry: Option<Duration>,
    },
    /// A reconnection time, reported when its field is read (F4).
    Retry(Duration),
}

/// A raw block's fields: `data` joined with LF, and the last valid `event`, `id` and `retry`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Block {
    /// The block's last `event` value, or None if it had no `event` line.
    pub event: Option<String>,
    /// The block's `data` lines joined with LF, or None if it had no `data` line.
    pub data: Option<String>,
    /// The block's last `id` value without NUL, or None if it had no such `id` line.
    pub id: Option<String>,
    /// The block's last valid `retry`, in milliseconds, or None if it set none.
    pub retry: Option<u64>,
}

/// Why a peer stopped reading. The WHATWG rules have no errors: any byte sequence is a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerError {
    /// A line without a colon, or with a field name the peer does not know.
    InvalidLine,
    /// A second `event`, `id` or `retry` line in one block.
    RepeatedField,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// A `retry` value that is not a number.
    InvalidRetry,
    /// Anything else, as the peer describes it.
    Other(String),
}

/// How a peer's reading ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// At the end of the stream.
    Clean,
    /// At an error, after which the peer reports nothing more.
    Error(PeerError),
    /// In a panic inside the peer.
    Panic,
    /// Pending while its input was ready: it would wait forever.
    Stalled,
}

/// Everything a peer reported for one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// What the peer reported, in order.
    pub items: Vec<Item>,
    /// How the peer's reading stopped.
    pub end: End,
}

/// How a peer reads invalid UTF-8.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Utf8Rule {
    /// D3: each invalid sequence becomes U+FFFD.
    #[default]
    Replace,
    /// Any complete line that is not UTF-8 is an error.
    ErrorOnAnyLine,
    /// A `data`, `event`, `id` (without NUL) or `retry` value that is not UTF-8 is an error.
    ErrorInFieldValue,
    /// Nothing after the first invalid byte is ever read; the stream then ends in an error.
    Stall,
}

/// How a peer reads a `retry` value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RetryRule {
    /// F4, saturating at `u64::MAX` as the reference does.
    #[default]
    Whatwg,
    /// F4, but a value beyond `u64::MAX` is ignored (F4 leaves overflow to the implementation).
    IgnoreOverflow,
    /// `u64::from_str` on the value: a leading `+` is accepted, overflow ignored.
    FromStr,
    /// Digits only, checked before L5 removes the leading space (so `retry: 5` is ignored);
    /// a line without a colon and overflow are ignored.
    RawDigits,
    /// `u64::from_str` after trimming ASCII whitespace; anything that does not parse, overflow
    /// included, is an error.
    TrimmedOrError,
}

/// A reading of event streams: the WHATWG rules (the default) plus one switch per known
/// deviation, and the shape in which the peer reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Model {
    // Shape.
    /// Retry is attached to the event of its block rather than reported on its own.
    pub attach_retry: bool,
    // Stream-level deviations.
    /// A stream's final CR does not end its line: the peer waits for a possible LF.
    pub final_cr_pending: bool,
    /// A CRLF split across two reads counts as two line terminators.
    pub split_crlf_is_two_lines: bool,
    /// The unterminated last line is read as a line at the end of the stream.
    pub read_unterminated_line: bool,
    /// The first chunk that starts with a BOM panics the peer.
    pub panic_on_leading_bom: bool,
    // Line-level deviations.
    /// How the peer reads bytes that are not UTF-8.
    pub utf8: Utf8Rule,
    /// A BOM is stripped from the first line that starts with one, wherever it is, unless the
    /// stream began with one.
    pub bom_on_any_line: bool,
    /// A line without a colon is an [`PeerError::InvalidLine`] error (L6).
    pub reject_line_without_colon: bool,
    /// A line whose field name is not `data`, `event`, `id` or `retry` is an `InvalidLine` error.
    pub reject_unknown_field: bool,
    /// A second `event`, `id` or `retry` line in one block is a [`PeerError::RepeatedField`] error.
    pub reject_repeated_field: bool,
    /// `event` and `id` lines without a colon are ignored instead of setting "" (L6).
    pub ignore_event_id_without_colon: bool,
    /// How the peer parses a `retry` value.
    pub retry: RetryRule,
    /// A retry value is read as seconds, through `f64`.
    pub retry_in_seconds: bool,
    /// A retry value that makes `Duration::from_secs_f64` overflow panics the peer.
    pub panic_on_huge_retry: bool,
    /// With `attach_retry`, the retry of a block that dispatches no event is lost.
    pub retry_only_with_event: bool,
    /// `event:` with an empty value names the event "" instead of `message` (P4).
    pub keep_empty_event_type: bool,
}

/// What `model` predicts for `input` in the browser view: dispatched events and retries.
pub(crate) fn browser(input: &Input<'_>, model: &Model) -> Outcome {
    let (read, stalled) = stream_as_read(input, model);
    let stream = read.as_deref().unwrap_or(input.stream);
    if model.panic_on_leading_bom && stream.starts_with(BOM) {
        return Outcome {
            items: Vec::new(),
            end: End::Panic,
        };
    }
    let rebuilt;
    let script = match &read {
        Some(read) => {
            rebuilt = Script::new(read);
            &rebuilt
        }
        None => &input.script,
    };
    let mut reader = Browser {
        model,
        out: Vec::new(),
        data: String::new(),
        event_type: None,
        id: String::new(),
        block_retry: None,
        bom_pending: model.bom_on_any_line && !script.leading_bom,
    };
    let tail = Some(script.tail).filter(|tail| model.read_unterminated_line && !tail.is_empty());
    for line in script.lines.iter().copied().chain(tail) {
        if let Err(end) = reader.line(line) {
            return Outcome {
                items: reader.out,
                end,
            };
        }
    }
    if let Some(retry) = reader.block_retry.filter(|_| !model.retry_only_with_event) {
        reader.out.push(Item::Retry(retry));
    }
    Outcome {
        items: reader.out,
        end: if stalled {
            End::Error(PeerError::InvalidUtf8)
        } else {
            End::Clean
        },
    }
}

/// What `model` predicts for a stream of these lines in the raw-block view: one [`Block`] per block that a
/// blank line completed and that holds a field the WHATWG rules act on (`data`, `event`, an `id`
/// without NUL, a valid `retry`).
pub(crate) fn blocks(script: &Script<'_>, model: &Model) -> Outcome {
    let mut out = Vec::new();
    let mut block: Option<Block> = None;
    for line in &script.lines {
        if let Err(error) = block_line(line, model, &mut block, &mut out) {
            return Outcome {
                items: out,
                end: End::Error(error),
            };
        }
    }
    Outcome {
        items: out,
        end: End::Clean,
    }
}

/// The stream as the peer gets to read it, if the model changes it, and whether it stalled at
/// invalid UTF-8.
fn stream_as_read(input: &Input<'_>, model: &Model) -> (Option<Vec<u8>>, bool) {
    let mut stream = Cow::Borrowed(input.stream);
    let mut stalled = false;
    if model.utf8 == Utf8Rule::Stall {
        if let Err(error) = std::str::from_utf8(&stream) {
            stream.to_mut().truncate(error.valid_up_to());
            stalled = true;
        }
    }
    if model.final_cr_pending && stream.last() == Some(&b'\r') {
        stream.to_mut().pop();
    }
    if model.split_crlf_is_two_lines {
        // The CR of a CRLF that a chunk boundary splits ends its line, and the LF ends another.
        let mut at = 0;
        for chunk in &input.chunks {
            at += chunk.len();
            if at > 0 && stream.get(at - 1) == Some(&b'\r') && stream.get(at) == Some(&b'\n') {
                stream.to_mut()[at - 1] = b'\n';
            }
        }
    }
    match stream {
        Cow::Owned(read) => (Some(read), stalled),
        Cow::Borrowed(_) => (None, stalled),
    }
}

/// The browser-view reader: the WHATWG interpretation (F1 to P5) with the model's switches.
struct Browser<'m> {
    model: &'m Model,
    out: Vec<Item>,
    data: String,
    /// `None` until an `event` line, so that `keep_empty_event_type` can tell "" from absent.
    event_type: Option<String>,
    id: String,
    /// The retry of the current block, with `attach_retry`.
    block_retry: Option<Duration>,
    /// Whether `bom_on_any_line` may still strip a BOM.
    bom_pending: bool,
}

impl Browser<'_> {
    fn line(&mut self, line: &[u8]) -> Result<(), End> {
        let model = self.model;
        if model.utf8 == Utf8Rule::ErrorOnAnyLine && std::str::from_utf8(line).is_err() {
            return Err(End::Error(PeerError::InvalidUtf8));
        }
        let line = match line.strip_prefix(BOM) {
            Some(rest) if self.bom_pending => {
                self.bom_pending = false;
                rest
            }
            _ => line,
        };
        let colon = crate::sse::search::find(b':', line).is_some();
        let Line::Field { name, value } = classify(line) else {
            if line.is_empty() {
                self.dispatch();
            }
            return Ok(());
        };
        let ignored = !colon && model.ignore_event_id_without_colon;
        match name {
            Name::Data => {
                self.data.push_str(&String::from_utf8_lossy(value));
                self.data.push('\n');
            }
            Name::Event if !ignored => self.event_type = Some(lossy(value)),
            Name::Id if !ignored && !value.contains(&0) => self.id = lossy(value),
            Name::Retry => {
                if let Some(millis) = read_retry(model.retry, line, value)? {
                    let retry = self.retry_duration(millis)?;
                    if model.attach_retry {
                        self.block_retry = Some(retry);
                    } else {
                        self.out.push(Item::Retry(retry));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn retry_duration(&self, millis: u64) -> Result<Duration, End> {
        if !self.model.retry_in_seconds {
            return Ok(Duration::from_millis(millis));
        }
        // `u64 as f64` rounds values near `u64::MAX` up to 2^64 seconds, past `Duration::MAX`.
        let seconds = millis as f64;
        if self.model.panic_on_huge_retry && seconds >= 2f64.powi(64) {
            return Err(End::Panic);
        }
        Ok(Duration::from_secs_f64(seconds))
    }

    /// P1 to P5, on a blank line.
    fn dispatch(&mut self) {
        let retry = self.block_retry.take();
        let event_type = self.event_type.take();
        if self.data.is_empty() {
            if let Some(retry) = retry.filter(|_| !self.model.retry_only_with_event) {
                self.out.push(Item::Retry(retry));
            }
            return;
        }
        self.data.pop();
        let event_type = match event_type {
            Some(name) if !name.is_empty() || self.model.keep_empty_event_type => name,
            _ => "message".to_owned(),
        };
        self.out.push(Item::Event {
            event: Event {
                event_type,
                data: std::mem::take(&mut self.data),
                last_event_id: self.id.clone(),
            },
            retry,
        });
    }
}

/// One line of the raw-block view.
fn block_line(
    line: &[u8],
    model: &Model,
    block: &mut Option<Block>,
    out: &mut Vec<Item>,
) -> Result<(), PeerError> {
    let Line::Field { name, value } = classify(line) else {
        if line.is_empty() {
            out.extend(block.take().map(Item::Block));
        }
        return Ok(());
    };
    if model.reject_line_without_colon && raw_value(line).is_none() {
        return Err(PeerError::InvalidLine);
    }
    let text = |value: &[u8]| -> Result<String, PeerError> {
        if model.utf8 == Utf8Rule::ErrorInFieldValue {
            std::str::from_utf8(value)
                .map(str::to_owned)
                .map_err(|_| PeerError::InvalidUtf8)
        } else {
            Ok(lossy(value))
        }
    };
    let set = |slot: &mut Option<String>, text: String| {
        if model.reject_repeated_field && slot.is_some() {
            return Err(PeerError::RepeatedField);
        }
        *slot = Some(text);
        Ok(())
    };
    match name {
        Name::Data => {
            let text = text(value)?;
            match &mut block.get_or_insert_default().data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(&text);
                }
                data => *data = Some(text),
            }
        }
        Name::Event => {
            let text = text(value)?;
            set(&mut block.get_or_insert_default().event, text)?;
        }
        Name::Id if !value.contains(&0) => {
            let text = text(value)?;
            set(&mut block.get_or_insert_default().id, text)?;
        }
        Name::Retry => {
            text(value)?;
            if let Some(millis) = read_retry(model.retry, line, value)? {
                let block = block.get_or_insert_default();
                if model.reject_repeated_field && block.retry.is_some() {
                    return Err(PeerError::RepeatedField);
                }
                block.retry = Some(millis);
            }
        }
        Name::Other(_) if model.reject_unknown_field => return Err(PeerError::InvalidLine),
        _ => {}
    }
    Ok(())
}

/// Reads a `retry` line under `rule`; `value` is the value after L5.
fn read_retry(rule: RetryRule, line: &[u8], value: &[u8]) -> Result<Option<u64>, PeerError> {
    let from_str = |value: &[u8]| std::str::from_utf8(value).ok()?.parse::<u64>().ok();
    Ok(match rule {
        RetryRule::Whatwg => parse_retry(value),
        RetryRule::IgnoreOverflow => parse_retry(value).and_then(|_| from_str(value)),
        RetryRule::FromStr => from_str(value),
        RetryRule::RawDigits => raw_value(line)
            .filter(|raw| raw.iter().all(u8::is_ascii_digit))
            .and_then(from_str),
        RetryRule::TrimmedOrError => {
            let parsed = from_str(value.trim_ascii());
            Some(parsed.ok_or(PeerError::InvalidRetry)?)
        }
    })
}

impl From<PeerError> for End {
    fn from(error: PeerError) -> Self {
        End::Error(error)
    }
}
