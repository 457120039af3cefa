//! Lowercase hexadecimal, the one spelling of binary values inside ids: the `hex` crate, with
//! uppercase refused so that each value has exactly one written form.

/// Appends `bytes` as lowercase hex.
pub(super) fn push(out: &mut String, bytes: &[u8]) {
    out.push_str(&hex::encode(bytes));
}

/// Parses exactly `2 * N` lowercase hex digits; anything else (uppercase included) is `None`.
pub(super) fn parse<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}
