//! The safe encoder: untrusted values in, one well-formed event out (rules E1 to E5).

use super::search::{line_breaks, line_breaks_or_nul};
use bytes::BufMut;

/// A field whose value the encoder refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldName {
    /// The `event` field, which sets the event type.
    Event,
    /// The `id` field, in which NUL is forbidden as well.
    Id,
    /// A comment line, written after a lone colon.
    Comment,
}

impl std::fmt::Display for FieldName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FieldName::Event => "event",
            FieldName::Id => "id",
            FieldName::Comment => "comment",
        })
    }
}

/// Why a value cannot be written as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// `field` holds a CR or LF (or, in `id`, a NUL) and the policy is strict.
    #[error("field `{field}` contains {} at byte {index}; it would end the line early", describe(*.byte))]
    ForbiddenByte {
        /// The field refused.
        field: FieldName,
        /// The first forbidden byte: `\r`, `\n` or 0.
        byte: u8,
        /// Its byte offset in the field's value.
        index: usize,
    },
    /// [`encode_json`] could not serialise the value; holds serde_json's message.
    #[error("a JSON value could not be serialised: {0}")]
    Json(String),
}

fn describe(byte: u8) -> &'static str {
    match byte {
        b'\r' => "CR",
        b'\n' => "LF",
        _ => "NUL",
    }
}

/// What to do with a forbidden byte in `event`, `id` or a comment (E3, E4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncodePolicy {
    /// Refuse the whole frame with an [`EncodeError`]; nothing is written.
    #[default]
    Strict,
    /// Replace each CR, LF (and, in `id`, NUL) with U+FFFD and write the frame.
    Sanitize,
}

/// One frame to write: any fields, then the blank line that dispatches it.
///
/// A frame with `data` is one event for the client. A frame without `data` dispatches nothing
/// but still carries its `id` (committed by the blank line, P1), `retry` and comment, which is
/// how a priming or polling frame is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Frame<'a> {
    /// A comment, written first; None for none.
    pub comment: Option<&'a str>,
    /// The event type; None leaves it `message`.
    pub event: Option<&'a str>,
    /// The event id, which becomes the client's last-event-ID; None leaves that unchanged.
    pub id: Option<&'a str>,
    /// The reconnection time in milliseconds; None for none.
    pub retry: Option<u64>,
    /// The event's data, one `data:` line per line of it; None dispatches no event.
    pub data: Option<&'a str>,
}

impl<'a> Frame<'a> {
    /// A frame carrying `data` (which may be empty: E2).
    pub fn data(data: &'a str) -> Self {
        Frame {
            data: Some(data),
            ..Frame::default()
        }
    }

    /// This frame with its event type set to `event`.
    pub fn event(self, event: &'a str) -> Self {
        Frame {
            event: Some(event),
            ..self
        }
    }

    /// This frame with its id set to `id`.
    pub fn id(self, id: &'a str) -> Self {
        Frame {
            id: Some(id),
            ..self
        }
    }

    /// This frame with a reconnection time of `millis` milliseconds.
    pub fn retry(self, millis: u64) -> Self {
        Frame {
            retry: Some(millis),
            ..self
        }
    }

    /// This frame with the comment `comment`.
    pub fn comment(self, comment: &'a str) -> Self {
        Frame {
            comment: Some(comment),
            ..self
        }
    }

    /// Writes the frame under the strict policy. On error nothing is written.
    pub fn encode(&self, out: &mut impl BufMut) -> Result<(), EncodeError> {
        self.encode_with(EncodePolicy::Strict, out)
    }

    /// Writes the frame under `policy`. On error nothing is written.
    ///
    /// Guarantee (E1): decoding the bytes yields at most one event, with the given type and id,
    /// and data equal to `data` with CRLF and lone CR turned into LF.
    pub fn encode_with(
        &self,
        policy: EncodePolicy,
        out: &mut impl BufMut,
    ) -> Result<(), EncodeError> {
        if policy == EncodePolicy::Strict {
            check(FieldName::Comment, self.comment, false)?;
            check(FieldName::Event, self.event, false)?;
            check(FieldName::Id, self.id, true)?;
        }
        if let Some(comment) = self.comment {
            out.put_slice(b":");
            put_single_line(comment, false, out);
            out.put_slice(b"\n");
        }
        if let Some(event) = self.event {
            out.put_slice(b"event: ");
            put_single_line(event, false, out);
            out.put_slice(b"\n");
        }
        if let Some(id) = self.id {
            out.put_slice(b"id: ");
            put_single_line(id, true, out);
            out.put_slice(b"\n");
        }
        if let Some(retry) = self.retry {
            out.put_slice(b"retry: ");
            out.put_slice(itoa::Buffer::new().format(retry).as_bytes());
            out.put_slice(b"\n");
        }
        if let Some(data) = self.data {
            put_data(data, out);
        }
        out.put_slice(b"\n");
        Ok(())
    }
}

/// Encodes a JSON value (a JSON-RPC message, say) as the data of one event (E5). The serialiser
/// never writes a raw CR or LF, so this is one `data:` line, but it still goes through the same
/// safe path as any other data.
pub fn encode_json(
    value: &serde_json::Value,
    frame: Frame<'_>,
    out: &mut impl BufMut,
) -> Result<(), EncodeError> {
    let json = serde_json::to_string(value).map_err(|e| EncodeError::Json(e.to_string()))?;
    Frame {
        data: Some(&json),
        ..frame
    }
    .encode(out)
}

/// Refuses a value holding a byte that would end its line (or a NUL, in an id).
fn check(field: FieldName, value: Option<&str>, forbid_nul: bool) -> Result<(), EncodeError> {
    let Some(value) = value else { return Ok(()) };
    let found = if forbid_nul {
        line_breaks_or_nul(value.as_bytes()).next()
    } else {
        line_breaks(value.as_bytes()).next()
    };
    match found {
        Some(index) => Err(EncodeError::ForbiddenByte {
            field,
            byte: value.as_bytes()[index],
            index,
        }),
        None => Ok(()),
    }
}

/// Writes a value that must stay on one line, replacing forbidden bytes with U+FFFD.
/// Under the strict policy the value was checked first, so nothing is replaced.
fn put_single_line(value: &str, forbid_nul: bool, out: &mut impl BufMut) {
    let bytes = value.as_bytes();
    let mut start = 0;
    let mut replace = |index: usize| {
        out.put_slice(&bytes[start..index]);
        out.put_slice("\u{FFFD}".as_bytes());
        start = index + 1;
    };
    if forbid_nul {
        line_breaks_or_nul(bytes).for_each(&mut replace);
    } else {
        line_breaks(bytes).for_each(&mut replace);
    }
    out.put_slice(&bytes[start..]);
}

/// Writes data as one `data:` line per line of the value, splitting at CRLF, CR and LF (E1, E2).
fn put_data(data: &str, out: &mut impl BufMut) {
    let bytes = data.as_bytes();
    let mut put_line = |line: &[u8]| {
        if line.is_empty() {
            out.put_slice(b"data:\n");
        } else {
            out.put_slice(b"data: ");
            out.put_slice(line);
            out.put_slice(b"\n");
        }
    };
    let mut start = 0;
    for end in line_breaks(bytes) {
        // The LF of a CRLF ended its line with the CR.
        if end < start {
            continue;
        }
        put_line(&bytes[start..end]);
        start = end + 1;
        if bytes[end] == b'\r' && bytes.get(start) == Some(&b'\n') {
            start += 1;
        }
    }
    put_line(&bytes[start..]);
}
