//! Property `escaping`: untrusted payloads sent through the session model, the safe encoder and
//! the bounded stream come out of the reference decoder as exactly the intended events, however
//! the reader's reads cut the bytes. No injected event, field, id or retry survives.
//!
//! Payloads are biased toward "\n", "\r", "\r\n", ":", "data:", "id:", "event:", "retry:", BOM
//! and NUL. The intended events are one `message` per payload, with the payload as data (line
//! ends normalised to LF) and the minted id as last event id, then the terminal `size_limit`
//! event if the byte cap was reached. `raw_data_is_caught` runs the same property against
//! [`Fault::RawData`], which writes the data without the encoder.

use crate::model_inputs;
use crate::sse_inputs;

use mcp_transport_fuzz::model::{
    BoundedStream, EndReason, Entropy, Fault, HighWater, Ledger, Millis, Offer, Read,
    SessionConfig, SessionStore, StreamConfig, StreamKind,
};
use mcp_transport_fuzz::sse::{decode_chunks, Decoder, Event, Limits, Record};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Case {
    payloads: Vec<String>,
    /// Sizes of the reader's reads, used in turn.
    reads: Vec<usize>,
    byte_cap: usize,
    seed: u64,
}

fn cases() -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec(sse_inputs::untrusted_text(), 0..12),
        proptest::collection::vec(1usize..40, 1..8),
        prop_oneof![Just(usize::MAX), 0usize..3000],
        any::<u64>(),
    )
        .prop_map(|(payloads, reads, byte_cap, seed)| Case {
            payloads,
            reads,
            byte_cap,
            seed,
        })
}

fn normalise(data: &str) -> String {
    data.replace("\r\n", "\n").replace('\r', "\n")
}

/// The terminal event as the decoder reports it, with the id that was last committed.
fn terminal(reason: EndReason, last_event_id: &str) -> Record {
    let records = decode_chunks([reason.terminal_event()], Limits::default())
        .expect("the terminal event decodes");
    match records.as_slice() {
        [Record::Event(event)] => Record::Event(Event {
            last_event_id: last_event_id.to_owned(),
            ..event.clone()
        }),
        _ => panic!("the terminal event is one event: {records:?}"),
    }
}

/// Reads one piece of the stream into the decoder; returns what the read said.
fn read_into(
    stream: &mut BoundedStream,
    ledger: &mut Ledger,
    size: usize,
    decoder: &mut Decoder,
    records: &mut Vec<Record>,
    delivered: &mut Vec<u8>,
) -> Read {
    let mut buf = vec![0; size];
    let read = stream.read(ledger, Millis::ZERO, &mut buf);
    if let Read::Data(n) = read {
        delivered.extend_from_slice(&buf[..n]);
        if let Err(error) = decoder.feed_owned(&buf[..n], records) {
            panic!("the stream must decode: {error}");
        }
    }
    read
}

fn escaping_holds(fault: Option<Fault>, case: &Case) -> Result<(), TestCaseError> {
    let config = SessionConfig {
        fault,
        ..SessionConfig::default()
    };
    let mut store = SessionStore::new(config, Entropy::Seeded(case.seed)).expect("seeded entropy");
    let session = store.create_session(Millis::ZERO).expect("an empty store");
    let stream_no = store
        .open_stream(&session, StreamKind::Request, Millis::ZERO)
        .expect("a new session");
    let mut ledger = Ledger::new();
    let stream_config = StreamConfig {
        byte_cap: case.byte_cap,
        // A small mark, so that backpressure interleaves offers and reads.
        high_water: HighWater::Chunks(2),
        max_chunk_bytes: 1 << 20,
        ..StreamConfig::default()
    };
    let mut stream = BoundedStream::open(stream_config, &mut ledger, Millis::ZERO);
    let mut reads = case.reads.iter().copied().cycle();
    let mut decoder = Decoder::default();
    let (mut records, mut delivered) = (Vec::new(), Vec::new());
    let mut expected = Vec::new();
    let mut last_id = String::new();
    'payloads: for payload in &case.payloads {
        let appended = store
            .append(&session, stream_no, payload, Millis::ZERO)
            .map_err(|e| TestCaseError::fail(format!("append refused: {e}")))?;
        loop {
            match stream.offer(&mut ledger, Millis::ZERO, appended.frame.clone()) {
                Ok(Offer::Accepted) => break,
                Ok(Offer::Backpressure) => {
                    let size = reads.next().unwrap_or(1);
                    read_into(
                        &mut stream,
                        &mut ledger,
                        size,
                        &mut decoder,
                        &mut records,
                        &mut delivered,
                    );
                }
                Ok(Offer::CapReached) => {
                    expected.push(terminal(EndReason::SizeLimit, &last_id));
                    break 'payloads;
                }
                Err(error) => return Err(TestCaseError::fail(format!("offer refused: {error}"))),
            }
        }
        expected.push(Record::Event(Event {
            event_type: "message".to_owned(),
            data: normalise(payload),
            last_event_id: appended.id.clone(),
        }));
        last_id = appended.id;
    }
    stream.finish(&mut ledger, Millis::ZERO);
    loop {
        let size = reads.next().unwrap_or(1);
        match read_into(
            &mut stream,
            &mut ledger,
            size,
            &mut decoder,
            &mut records,
            &mut delivered,
        ) {
            Read::Data(_) => {}
            Read::End(_) => break,
            Read::Pending => return Err(TestCaseError::fail("a finished stream stalled")),
        }
    }
    decoder
        .finish()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&records, &expected, "the events the reader decoded");
    let whole = decode_chunks([delivered.as_slice()], Limits::default())
        .map_err(|(_, e)| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(&whole, &expected, "the same bytes decoded in one piece");
    prop_assert!(ledger.is_zero(), "the stream closed but holds {:?}", ledger);
    Ok(())
}

proptest! {
    #[test]
    fn escaping(case in cases()) {
        escaping_holds(None, &case)?;
    }
}

#[test]
fn raw_data_is_caught() {
    model_inputs::expect_counterexample(Fault::RawData, cases(), |case| {
        escaping_holds(Some(Fault::RawData), &case)
    });
}
