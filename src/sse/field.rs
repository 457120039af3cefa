//! Classifying one line of an event stream (rules L3 to L6).

/// One line, classified. Name and value are raw bytes: UTF-8 decoding happens later, which is
/// equivalent because `:` and ` ` are ASCII and end any invalid sequence (rule D3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// An empty line: dispatch (L3).
    Blank,
    /// A line starting with `:`; the text after the colon, as written (L4).
    Comment(&'a [u8]),
    /// A field. The value has had exactly one leading U+0020 removed, if it had one (L5); a line
    /// without a colon is a field with an empty value (L6).
    Field {
        /// The line up to its first colon, or the whole line if it has none.
        name: Name<'a>,
        /// The rest after the colon, less one leading space (L5); empty without a colon.
        value: &'a [u8],
    },
}

/// A field name: one the decoder acts on, matched exactly and case-sensitively (L7), or any
/// other, which the browser view ignores (F5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Name<'a> {
    /// `data`: appends a line to the event's data (F2).
    Data,
    /// `event`: sets the event type (F1).
    Event,
    /// `id`: sets the last-event-ID buffer, unless the value holds NUL (F3).
    Id,
    /// `retry`: sets the reconnection time if the value is all ASCII digits (F4).
    Retry,
    /// Any other name, as written; ignored by the browser view (F5).
    Other(&'a [u8]),
}

impl<'a> Name<'a> {
    fn new(name: &'a [u8]) -> Self {
        match name {
            b"data" => Name::Data,
            b"event" => Name::Event,
            b"id" => Name::Id,
            b"retry" => Name::Retry,
            other => Name::Other(other),
        }
    }

    /// The name as written.
    pub fn as_bytes(&self) -> &'a [u8] {
        match self {
            Name::Data => b"data",
            Name::Event => b"event",
            Name::Id => b"id",
            Name::Retry => b"retry",
            Name::Other(name) => name,
        }
    }
}

/// Classifies a line (without its terminator).
#[inline]
pub fn classify(line: &[u8]) -> Line<'_> {
    // Fast path: a line that starts with a known name and `:` has its first colon right there,
    // so no search for the colon is needed. Constant prefixes compile to integer compares.
    let known = match line.first() {
        Some(b'd') if line.starts_with(b"data:") => Some((Name::Data, 5)),
        Some(b'e') if line.starts_with(b"event:") => Some((Name::Event, 6)),
        Some(b'i') if line.starts_with(b"id:") => Some((Name::Id, 3)),
        Some(b'r') if line.starts_with(b"retry:") => Some((Name::Retry, 6)),
        _ => None,
    };
    if let Some((name, value_at)) = known {
        return field(name, &line[value_at..]);
    }
    match super::search::find(b':', line) {
        None if line.is_empty() => Line::Blank,
        None => field(Name::new(line), b""),
        Some(0) => Line::Comment(&line[1..]),
        Some(colon) => field(Name::new(&line[..colon]), &line[colon + 1..]),
    }
}

/// A field whose raw value (everything after the colon) loses one leading space (L5).
#[inline]
fn field<'a>(name: Name<'a>, raw_value: &'a [u8]) -> Line<'a> {
    Line::Field {
        name,
        value: raw_value.strip_prefix(b" ").unwrap_or(raw_value),
    }
}

/// Parses a `retry` value (rule F4): one or more ASCII digits and nothing else.
///
/// Values beyond `u64::MAX` milliseconds saturate to `u64::MAX` rather than being ignored, so a
/// server that asks for "a very long time" gets the longest time there is.
pub fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(value.iter().fold(0u64, |millis, digit| {
        millis
            .saturating_mul(10)
            .saturating_add(u64::from(digit - b'0'))
    }))
}
