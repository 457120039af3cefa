//! One test per rule of the SSE rule list (D1–D3, L1–L7, F1–F5, P1–P6, E1–E5).
//!
//! Every decoding test runs its input three ways: whole, one byte at a time, and at 32 seeded
//! random splits with empty chunks between, and demands identical records each time.

use mcp_transport_fuzz::chunking::Chunking;
use mcp_transport_fuzz::sse::{
    decode_chunks, DecodeError, Decoder, EncodeError, EncodePolicy, Event, FieldName, Frame,
    Limits, RawDecoder, RawLine, Record,
};

fn ev(event_type: &str, data: &str, id: &str) -> Record {
    Record::Event(Event {
        event_type: event_type.into(),
        data: data.into(),
        last_event_id: id.into(),
    })
}

fn msg(data: &str) -> Record {
    ev("message", data, "")
}

fn retry(millis: u64) -> Record {
    Record::Retry { retry: millis }
}

/// Every way a test cuts its input.
fn chunkings() -> impl Iterator<Item = Chunking> {
    [Chunking::Whole, Chunking::Fixed(1)]
        .into_iter()
        .chain((0..32).map(Chunking::Seeded))
}

/// Asserts that `input` decodes to `expected` however it is cut.
#[track_caller]
fn check(input: &[u8], expected: &[Record]) {
    for chunking in chunkings() {
        let chunks = chunking.split(input);
        let records = decode_chunks(chunks.iter().copied(), Limits::default())
            .unwrap_or_else(|(_, e)| panic!("{chunking:?}: unexpected error {e}"));
        assert_eq!(records, expected, "{chunking:?} of {input:?}");
    }
}

// ---- D: decoding bytes ----

#[test]
fn d1_stream_is_utf8_whatever_the_charset() {
    check("data: café\n\n".as_bytes(), &[msg("café")]);
    // A Latin-1 é is not UTF-8, so it is replaced, never read as Latin-1.
    check(b"data: caf\xE9\n\n", &[msg("caf\u{FFFD}")]);
}

#[test]
fn d2_one_leading_bom_is_stripped() {
    check(b"\xEF\xBB\xBFdata: x\n\n", &[msg("x")]);
}

#[test]
fn d2_second_bom_makes_the_line_an_unknown_field() {
    check(
        b"\xEF\xBB\xBF\xEF\xBB\xBFdata: x\n\ndata: y\n\n",
        &[msg("y")],
    );
}

#[test]
fn d2_bom_after_offset_zero_is_ordinary() {
    check(b"data: a\n\n\xEF\xBB\xBFdata: b\n\n", &[msg("a")]);
    check(b"data: \xEF\xBB\xBFb\n\n", &[msg("\u{FEFF}b")]);
}

#[test]
fn d2_a_reconnected_stream_is_a_new_stream() {
    // After `finish`, the stream a reconnection opens starts at offset 0 again: its BOM is
    // stripped, in both views, even after an old stream that a CR cut off.
    for chunking in chunkings() {
        let mut decoder = Decoder::default();
        let mut raw = RawDecoder::default();
        let (mut records, mut blocks) = (Vec::new(), Vec::new());
        for chunk in chunking.split(b"\xEF\xBB\xBFid: 1\ndata: a\n\ndata: cut\r") {
            decoder.feed_owned(chunk, &mut records).unwrap();
            raw.feed(chunk, &mut blocks).unwrap();
        }
        decoder.finish().unwrap();
        raw.finish().unwrap();
        for chunk in chunking.split(b"\xEF\xBB\xBFdata: b\n\n") {
            decoder.feed_owned(chunk, &mut records).unwrap();
            raw.feed(chunk, &mut blocks).unwrap();
        }
        assert_eq!(
            records,
            [ev("message", "a", "1"), ev("message", "b", "1")],
            "{chunking:?}"
        );
        let names: Vec<_> = blocks
            .iter()
            .flat_map(|block| &block.lines)
            .filter_map(|line| match line {
                RawLine::Field { name, .. } => Some(name.as_str()),
                RawLine::Comment { .. } => None,
            })
            .collect();
        assert_eq!(names, ["id", "data", "data"], "{chunking:?}");
    }
}

#[test]
fn d2_partial_bom_is_not_stripped() {
    // EF BB is a truncated sequence: one U+FFFD in the field name, so the line is ignored.
    check(b"\xEF\xBBdata: x\n\ndata: y\n\n", &[msg("y")]);
}

#[test]
fn d3_each_maximal_invalid_subsequence_is_one_replacement() {
    check(b"data: a\xFF\xFEb\n\n", &[msg("a\u{FFFD}\u{FFFD}b")]);
    check(b"data: \xE2\x82\n\n", &[msg("\u{FFFD}")]);
    check(b"data: \xF0\x9F\x98x\n\n", &[msg("\u{FFFD}x")]);
    check(
        b"id: \xC0\nevent: \xED\xA0\x80\ndata: ok\n\n",
        &[ev("\u{FFFD}\u{FFFD}\u{FFFD}", "ok", "\u{FFFD}")],
    );
}

// ---- L: lines ----

#[test]
fn l1_crlf_lf_and_lone_cr_end_lines() {
    check(
        b"data: a\r\n\r\ndata: b\n\ndata: c\r\r",
        &[msg("a"), msg("b"), msg("c")],
    );
    check(b"data: a\r\ndata: b\rdata: c\n\n", &[msg("a\nb\nc")]);
}

#[test]
fn l2_cr_at_end_of_stream_ends_the_line_at_once() {
    check(b"data:x\r\r", &[msg("x")]);
}

#[test]
fn l2_crlf_counts_once_even_split() {
    // CR LF LF: one terminator then an empty line, never two empty lines.
    check(b"data: a\r\n\ndata: b\r\n\r\n", &[msg("a"), msg("b")]);
    let mut decoder = Decoder::default();
    let mut records = Vec::new();
    for chunk in [
        &b"data: a\r"[..],
        b"",
        b"\n",
        b"data: b\r\n",
        b"\r",
        b"",
        b"\n",
    ] {
        decoder.feed_owned(chunk, &mut records).unwrap();
    }
    assert_eq!(records, [msg("a\nb")]);
}

#[test]
fn l3_empty_line_dispatches() {
    check(b"data: a\n", &[]);
    check(b"data: a\n\n", &[msg("a")]);
}

#[test]
fn l4_comment_lines_are_ignored() {
    check(
        b": data: x\n\n:\n\ndata: a\n: note\ndata: b\n\n",
        &[msg("a\nb")],
    );
}

#[test]
fn l5_first_colon_splits_and_one_space_is_removed() {
    check(b"data: a: b\n\n", &[msg("a: b")]);
    check(b"data:  two\n\n", &[msg(" two")]);
    check(b"data:\tx\n\n", &[msg("\tx")]);
    check(b"data:x\n\n", &[msg("x")]);
}

#[test]
fn l6_line_without_colon_is_a_field_with_empty_value() {
    check(b"data\n\n", &[msg("")]);
    check(b"event\ndata: x\n\n", &[msg("x")]);
}

#[test]
fn l7_field_names_are_exact_and_case_sensitive() {
    check(b"Data: x\n\n data: x\n\ndata\x00: x\n\nDATA: x\n\n", &[]);
    check(b"Event: e\nID: 1\nRetry: 5\ndata: x\n\n", &[msg("x")]);
}

// ---- F: fields ----

#[test]
fn f1_event_sets_the_type() {
    check(b"event: add\ndata: x\n\n", &[ev("add", "x", "")]);
    check(b"event:\ndata: x\n\n", &[msg("x")]);
}

#[test]
fn f2_data_lines_accumulate() {
    check(b"data: a\ndata: b\ndata: c\n\n", &[msg("a\nb\nc")]);
}

#[test]
fn f3_id_with_nul_is_ignored() {
    check(
        b"id: 1\ndata: a\n\nid: 2\x00\ndata: b\n\n",
        &[ev("message", "a", "1"), ev("message", "b", "1")],
    );
}

#[test]
fn f3_empty_id_resets() {
    check(
        b"id: 1\ndata: a\n\nid\ndata: b\n\n",
        &[ev("message", "a", "1"), msg("b")],
    );
}

#[test]
fn f4_retry_takes_ascii_digits_only() {
    check(b"retry: 3000\n", &[retry(3000)]);
    check(b"retry: 03000\n", &[retry(3000)]);
    check(b"retry: 0\n", &[retry(0)]);
    for bad in [
        "-1", "+1", "1.5", " 30", "3_000", "1e3", "\u{0663}", "30 ", "",
    ] {
        check(format!("retry: {bad}\ndata: x\n\n").as_bytes(), &[msg("x")]);
    }
}

#[test]
fn f4_retry_overflow_saturates() {
    check(b"retry: 99999999999999999999999\n", &[retry(u64::MAX)]);
}

#[test]
fn f4_retry_is_reported_in_stream_order() {
    check(
        b"data: a\n\nretry: 7\ndata: b\n\n",
        &[msg("a"), retry(7), msg("b")],
    );
}

#[test]
fn f5_unknown_fields_ignored_and_last_one_wins() {
    check(b"foo: bar\ndata: x\n\n", &[msg("x")]);
    check(
        b"event: a\nevent: b\nid: 1\nid: 2\ndata: x\n\n",
        &[ev("b", "x", "2")],
    );
}

// ---- P: dispatch ----

#[test]
fn p1_last_event_id_persists_and_commits_without_data() {
    check(
        b"id: 7\ndata: a\n\ndata: b\n\n",
        &[ev("message", "a", "7"), ev("message", "b", "7")],
    );
    check(b"id: x\n\ndata: a\n\n", &[ev("message", "a", "x")]);
    let mut decoder = Decoder::default();
    decoder.feed_owned(b"id: x\n\n", &mut Vec::new()).unwrap();
    assert_eq!(decoder.last_event_id(), "x");
}

#[test]
fn p2_block_without_data_dispatches_nothing_and_resets_type() {
    check(b"event: e\n\n", &[]);
    check(b"event: e\n\ndata: a\n\n", &[msg("a")]);
}

#[test]
fn p3_exactly_one_trailing_lf_is_removed() {
    check(b"data: a\ndata:\n\n", &[msg("a\n")]);
    check(b"data\ndata\n\n", &[msg("\n")]);
    check(b"data:\n\n", &[msg("")]);
}

#[test]
fn p4_type_defaults_to_message() {
    check(b"data: a\n\n", &[ev("message", "a", "")]);
}

#[test]
fn p5_type_and_data_reset_after_dispatch() {
    check(
        b"event: e\ndata: a\n\ndata: b\n\n",
        &[ev("e", "a", ""), msg("b")],
    );
}

#[test]
fn p6_unterminated_block_is_discarded_and_its_id_not_committed() {
    check(b"data: a\n\ndata: b\n", &[msg("a")]);
    check(b"data: a\n\nid: 9\ndata: z", &[msg("a")]);
    for chunking in chunkings() {
        let mut decoder = Decoder::default();
        let mut records = Vec::new();
        for chunk in chunking.split(b"id: 1\ndata: a\n\nid: 9\ndata: z\n") {
            decoder.feed_owned(chunk, &mut records).unwrap();
        }
        decoder.finish().unwrap();
        assert_eq!(decoder.last_event_id(), "1", "{chunking:?}");
        // The reconnected stream starts from the committed id, not the discarded one.
        decoder.feed_owned(b"data: b\n\n", &mut records).unwrap();
        assert_eq!(records, [ev("message", "a", "1"), ev("message", "b", "1")]);
    }
}

// ---- Limits ----

#[test]
fn line_limit_delivers_earlier_records_then_fails_for_good() {
    let limits = Limits {
        max_line_bytes: 8,
        max_event_bytes: 64,
    };
    for chunking in chunkings() {
        let input = b"data: ok\n\ndata: far too long\n\ndata: later\n\n";
        let chunks = chunking.split(input);
        let (records, error) = decode_chunks(chunks.iter().copied(), limits).unwrap_err();
        assert_eq!(records, [msg("ok")], "{chunking:?}");
        assert_eq!(error, DecodeError::LineTooLong { limit: 8 });
    }
    let mut decoder = Decoder::new(limits);
    assert!(decoder.feed_owned(b"123456789", &mut Vec::new()).is_err());
    assert!(decoder
        .feed_owned(b"\n\ndata: x\n\n", &mut Vec::new())
        .is_err());
    assert!(decoder.finish().is_err());
}

#[test]
fn event_limit_counts_data_across_lines() {
    let limits = Limits {
        max_line_bytes: 64,
        max_event_bytes: 8,
    };
    for chunking in chunkings() {
        let input = b"data: abc\n\ndata: abcd\ndata: efgh\n\n";
        let chunks = chunking.split(input);
        let (records, error) = decode_chunks(chunks.iter().copied(), limits).unwrap_err();
        assert_eq!(records, [msg("abc")], "{chunking:?}");
        assert_eq!(error, DecodeError::EventTooLarge { limit: 8 });
    }
}

#[test]
fn event_limit_counts_decoded_bytes() {
    // Three invalid bytes decode to three U+FFFD: nine bytes of text, plus the LF.
    let limits = Limits {
        max_line_bytes: 64,
        max_event_bytes: 8,
    };
    for chunking in chunkings() {
        let chunks = chunking.split(b"data: \xFF\xFF\n\ndata: \xFF\xFF\xFF\n\n");
        let (records, error) = decode_chunks(chunks.iter().copied(), limits).unwrap_err();
        assert_eq!(records, [msg("\u{FFFD}\u{FFFD}")], "{chunking:?}");
        assert_eq!(error, DecodeError::EventTooLarge { limit: 8 });
    }
}

#[test]
fn default_limit_is_16_mib() {
    assert_eq!(Limits::default().max_line_bytes, 16 << 20);
    assert_eq!(Limits::default().max_event_bytes, 16 << 20);
}

// ---- E: encoding untrusted values ----

/// Encodes a frame and decodes it every way.
#[track_caller]
fn roundtrip(frame: Frame<'_>, policy: EncodePolicy, expected: &[Record]) {
    let mut bytes = Vec::new();
    frame.encode_with(policy, &mut bytes).unwrap();
    check(&bytes, expected);
}

#[test]
fn e1_multiline_data_becomes_one_event_with_lf() {
    let data = "a\r\nb\rc\n\ndata: injected\n\nevent: evil\nid: 666\nretry: 1\n:x\n \n";
    let normalised = data.replace("\r\n", "\n").replace('\r', "\n");
    roundtrip(Frame::data(data), EncodePolicy::Strict, &[msg(&normalised)]);
}

#[test]
fn e1_leading_space_is_kept() {
    roundtrip(
        Frame::data("  two\n one"),
        EncodePolicy::Strict,
        &[msg("  two\n one")],
    );
}

#[test]
fn e2_empty_data_still_fires() {
    roundtrip(Frame::data(""), EncodePolicy::Strict, &[msg("")]);
    let mut bytes = Vec::new();
    Frame::data("").encode(&mut bytes).unwrap();
    assert_eq!(bytes, b"data:\n\n");
}

#[test]
fn e3_event_and_id_with_line_breaks_are_refused() {
    let cases = [
        (Frame::data("x").event("a\nb"), FieldName::Event, b'\n', 1),
        (Frame::data("x").event("\rb"), FieldName::Event, b'\r', 0),
        (Frame::data("x").id("12\n"), FieldName::Id, b'\n', 2),
        (Frame::data("x").id("1\u{0}2"), FieldName::Id, 0, 1),
    ];
    for (frame, field, byte, index) in cases {
        let mut bytes = Vec::new();
        let error = frame.encode(&mut bytes).unwrap_err();
        assert_eq!(error, EncodeError::ForbiddenByte { field, byte, index });
        assert!(bytes.is_empty(), "a refused frame writes nothing");
    }
}

#[test]
fn e3_sanitising_policy_replaces_instead() {
    roundtrip(
        Frame::data("x").event("a\nb").id("1\r\n2\u{0}3"),
        EncodePolicy::Sanitize,
        &[ev("a\u{FFFD}b", "x", "1\u{FFFD}\u{FFFD}2\u{FFFD}3")],
    );
}

#[test]
fn e4_comment_breaks_refused_and_retry_is_decimal() {
    let error = Frame::data("x")
        .comment("hi\ndata: evil")
        .encode(&mut Vec::new());
    assert!(matches!(
        error,
        Err(EncodeError::ForbiddenByte {
            field: FieldName::Comment,
            ..
        })
    ));
    roundtrip(
        Frame::data("x").comment("note").retry(3000),
        EncodePolicy::Strict,
        &[retry(3000), msg("x")],
    );
    roundtrip(
        Frame::default().retry(u64::MAX),
        EncodePolicy::Strict,
        &[retry(u64::MAX)],
    );
}

#[test]
fn e5_json_values_are_one_data_line() {
    let value =
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": {"text": "a\r\n\ndata: x\n\n"}});
    let mut bytes = Vec::new();
    mcp_transport_fuzz::sse::encode_json(&value, Frame::default().id("s1-1"), &mut bytes).unwrap();
    assert_eq!(
        bytes.iter().filter(|&&b| b == b'\n').count(),
        3,
        "id line, one data line, blank line"
    );
    check(&bytes, &[ev("message", &value.to_string(), "s1-1")]);
}
