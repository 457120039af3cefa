//! Strategies shared by the property suites.
//!
//! Case counts: proptest's default (256) unless `PROPTEST_CASES` says otherwise, e.g.
//! `PROPTEST_CASES=100000 cargo test --release --test properties sse_chunking`.

use proptest::prelude::*;

/// Fragments that matter to an event-stream parser, to be glued together.
pub const SSE_TOKENS: &[&str] = &[
    "\n",
    "\r",
    "\r\n",
    ":",
    " ",
    "  ",
    "data:",
    "data: ",
    "id:",
    "id: ",
    "event:",
    "event: ",
    "retry:",
    "retry: ",
    "\u{FEFF}",
    "\0",
    "\t",
    "message",
    "0",
    "42",
    "{\"jsonrpc\":\"2.0\"}",
    "\n\ndata: {\"jsonrpc\":\"2.0\",\"id\":1}\n\n",
    "é",
    "\u{1F600}",
];

/// Untrusted text: SSE control sequences mixed with arbitrary characters.
pub fn untrusted_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => proptest::sample::select(SSE_TOKENS).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
        1 => "[a-z0-9 ]{0,8}",
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// Byte sequences that are not UTF-8, or are a BOM, or a part of one.
const NOT_UTF8: &[&[u8]] = &[
    b"\xEF",
    b"\xEF\xBB",
    b"\xEF\xBB\xBF",
    b"\xFF",
    b"\xE2\x82",
    b"\xC0\x80",
];

/// Raw stream bytes: the tokens above plus bytes that are not UTF-8 at all.
pub fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => proptest::sample::select(SSE_TOKENS).prop_map(|t| t.as_bytes().to_vec()),
        1 => proptest::sample::select(NOT_UTF8).prop_map(<[u8]>::to_vec),
        1 => proptest::collection::vec(any::<u8>(), 0..6),
    ];
    proptest::collection::vec(piece, 0..48).prop_map(|pieces| pieces.concat())
}

/// Chunk sizes, empty chunks included; applied cyclically to cut a stream.
pub fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(0usize..9, 1..16)
}
