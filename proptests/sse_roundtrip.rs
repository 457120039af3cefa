//! Property: decode(encode(x)) == x after normalisation, for any untrusted values (E1–E5).
//!
//! Valid frames come back as exactly one event with the given type and id and the data with
//! CRLF and CR turned into LF, however the bytes are cut. Invalid `event`/`id` values are refused
//! with nothing written; the sanitising policy writes one event with the bad bytes replaced.
//! `naive_encoder_is_caught` shows that an encoder writing data raw fails the property.

// Each suite uses its own part of the shared strategies.
use crate::sse_inputs;

use mcp_transport_fuzz::chunking::cut_cycling;
use mcp_transport_fuzz::sse::{
    decode_chunks, EncodeError, EncodePolicy, Event, Frame, Limits, Record,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRng, TestRunner};

type EncodeFn = fn(&Frame<'_>, &mut Vec<u8>) -> Result<(), EncodeError>;

fn ours(frame: &Frame<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    frame.encode(out)
}

/// Broken variant: writes every value as it is, the classic injection bug.
fn naive(frame: &Frame<'_>, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if let Some(event) = frame.event {
        out.extend_from_slice(format!("event: {event}\n").as_bytes());
    }
    if let Some(id) = frame.id {
        out.extend_from_slice(format!("id: {id}\n").as_bytes());
    }
    out.extend_from_slice(format!("data: {}\n\n", frame.data.unwrap_or_default()).as_bytes());
    Ok(())
}

fn has_line_break(value: &str) -> bool {
    value.contains(['\r', '\n'])
}

fn normalise(data: &str) -> String {
    data.replace("\r\n", "\n").replace('\r', "\n")
}

fn decode_cut(bytes: &[u8], sizes: &[usize]) -> Vec<Record> {
    match decode_chunks(cut_cycling(bytes, sizes), Limits::default()) {
        Ok(records) | Err((records, _)) => records,
    }
}

fn roundtrip_holds(
    encode: EncodeFn,
    data: &str,
    event: Option<&str>,
    id: Option<&str>,
    sizes: &[usize],
) -> Result<(), TestCaseError> {
    let frame = Frame {
        event,
        id,
        ..Frame::data(data)
    };
    let mut bytes = Vec::new();
    let refused = event.is_some_and(has_line_break)
        || id.is_some_and(|i| has_line_break(i) || i.contains('\0'));
    match encode(&frame, &mut bytes) {
        Err(_) => {
            prop_assert!(refused, "a valid frame was refused");
            prop_assert!(bytes.is_empty(), "a refused frame wrote bytes");
        }
        Ok(()) => {
            prop_assert!(!refused, "an invalid frame was written");
            let expected = Record::Event(Event {
                event_type: event
                    .filter(|e| !e.is_empty())
                    .unwrap_or("message")
                    .to_owned(),
                data: normalise(data),
                last_event_id: id.unwrap_or_default().to_owned(),
            });
            prop_assert_eq!(decode_cut(&bytes, sizes), vec![expected]);
        }
    }
    Ok(())
}

fn optional_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(sse_inputs::untrusted_text())
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(
        data in sse_inputs::untrusted_text(),
        event in optional_text(),
        id in optional_text(),
        sizes in sse_inputs::chunk_sizes(),
    ) {
        roundtrip_holds(ours, &data, event.as_deref(), id.as_deref(), &sizes)?;
    }

    #[test]
    fn sanitised_frames_are_always_one_event(
        data in sse_inputs::untrusted_text(),
        event in sse_inputs::untrusted_text(),
        id in sse_inputs::untrusted_text(),
        sizes in sse_inputs::chunk_sizes(),
    ) {
        let mut bytes = Vec::new();
        Frame::data(&data).event(&event).id(&id).encode_with(EncodePolicy::Sanitize, &mut bytes).unwrap();
        let records = decode_cut(&bytes, &sizes);
        prop_assert_eq!(records.len(), 1);
        let Record::Event(decoded) = &records[0] else { unreachable!("one event, checked above") };
        prop_assert_eq!(&decoded.data, &normalise(&data));
        let scrub = |s: &str| s.replace(['\r', '\n'], "\u{FFFD}");
        let expected_type = if event.is_empty() { "message".to_owned() } else { scrub(&event) };
        prop_assert_eq!(&decoded.event_type, &expected_type);
        prop_assert_eq!(&decoded.last_event_id, &scrub(&id).replace('\0', "\u{FFFD}"));
    }

    #[test]
    fn json_values_roundtrip(text in sse_inputs::untrusted_text(), sizes in sse_inputs::chunk_sizes()) {
        let value = serde_json::json!({"jsonrpc": "2.0", "id": 7, "result": {"content": [{"type": "text", "text": text}]}});
        let mut bytes = Vec::new();
        mcp_transport_fuzz::sse::encode_json(&value, Frame::default(), &mut bytes).unwrap();
        let records = decode_cut(&bytes, &sizes);
        prop_assert_eq!(records.len(), 1);
        let Record::Event(decoded) = &records[0] else { unreachable!("one event, checked above") };
        let back: serde_json::Value = serde_json::from_str(&decoded.data).unwrap();
        prop_assert_eq!(back, value);
    }
}

#[test]
fn naive_encoder_is_caught() {
    let strategy = (
        sse_inputs::untrusted_text(),
        optional_text(),
        sse_inputs::chunk_sizes(),
    );
    let result = deterministic_runner().run(&strategy, |(data, id, sizes)| {
        roundtrip_holds(naive, &data, None, id.as_deref(), &sizes)
    });
    assert!(
        matches!(result, Err(TestError::Fail(..))),
        "the property must catch an encoder that writes untrusted data raw: {result:?}"
    );
}

/// A runner whose seed is fixed, so a broken variant is caught (or not) the same way on every
/// run: a property's ability to fail must never depend on luck.
fn deterministic_runner() -> TestRunner {
    let config = Config::default();
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    TestRunner::new_with_rng(config, rng)
}
