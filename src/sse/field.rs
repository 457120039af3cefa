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
    Field { name: &'a [u8], value: &'a [u8] },
}

/// The field names the decoder acts on. A line that starts with one of them followed by `:`
/// has its first colon right there, so it is classified without searching for the colon.
const KNOWN_NAMES: [&[u8]; 4] = [b"data", b"event", b"id", b"retry"];

/// Classifies a line (without its terminator).
#[inline]
pub fn classify(line: &[u8]) -> Line<'_> {
    for name in KNOWN_NAMES {
        if line.len() > name.len() && line[name.len()] == b':' && line.starts_with(name) {
            let value = &line[name.len() + 1..];
            return Line::Field {
                name,
                value: value.strip_prefix(b" ").unwrap_or(value),
            };
        }
    }
    match memchr::memchr(b':', line) {
        None if line.is_empty() => Line::Blank,
        None => Line::Field {
            name: line,
            value: b"",
        },
        Some(0) => Line::Comment(&line[1..]),
        Some(colon) => {
            let value = &line[colon + 1..];
            Line::Field {
                name: &line[..colon],
                value: value.strip_prefix(b" ").unwrap_or(value),
            }
        }
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
