//! Lowercase hexadecimal, the one spelling of binary values inside ids: the `hex` crate, with
//! uppercase refused so that each value has exactly one written form.

/// The longest value written, in bytes (a session id is 24).
const MAX_BYTES: usize = 32;

/// Calls `f` with `bytes` (at most [`MAX_BYTES`]) as lowercase hex, written on the stack: ids
/// are minted on the hot path, so this allocates nothing.
pub(super) fn with_hex<R>(bytes: &[u8], f: impl FnOnce(&str) -> R) -> R {
    let mut buf = [0u8; 2 * MAX_BYTES];
    let hex = &mut buf[..2 * bytes.len()];
    hex::encode_to_slice(bytes, hex).expect("ids hold at most MAX_BYTES-byte values");
    f(std::str::from_utf8(hex).expect("hex digits are ASCII"))
}

/// Appends `bytes` as lowercase hex.
pub(super) fn push(out: &mut String, bytes: &[u8]) {
    with_hex(bytes, |hex| out.push_str(hex));
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
