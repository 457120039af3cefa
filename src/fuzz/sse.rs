//! The codec targets: `sse_decode` (any bytes, any chunking) and `sse_roundtrip` (untrusted
//! values through the encoder and back).

use std::hash::{BuildHasher, Hash, Hasher};

use foldhash::fast::{FixedState, FoldHasher};

use arbitrary::{Arbitrary, Unstructured};

use crate::chunking::cut_cycling;
use crate::input::{chunked_stream, Corpus, Untrusted, FUZZ_LIMITS};
use crate::sse::{
    decode_chunks, DecodeError, Decoder, EncodePolicy, Event, Frame, Limits, RawBlock, RawDecoder,
    RawItem, Record, RecordRef,
};

/// `sse_decode`: arbitrary bytes under an arbitrary chunk split.
///
/// Input: `[n] [n chunk sizes] [stream]`, with `n` taken modulo 16, so a seed file is a zero
/// byte followed by a plain stream (fed whole). Checks: no panic; the records (and any limit
/// error) equal a one-shot decode, in both the browser and the raw-block view; the decoder never
/// holds more than its limits allow.
///
/// The hot path allocates nothing: each view is compared as a digest of what the decoders
/// lend, and decoded to owned records or blocks only when the digests disagree, to show how.
/// A cut into one chunk is the one-shot decode itself, so it is decoded once.
pub fn sse_decode(data: &[u8]) -> Corpus {
    let Some((sizes, stream)) = chunked_stream(data) else {
        return Corpus::Reject;
    };
    let chunks = cut_cycling(stream, &sizes);
    let (records, raw) = (digest(&chunks), raw_digest(&chunks));
    if chunks.len() == 1 {
        return Corpus::Keep;
    }

    if records != digest(&[stream]) {
        assert_eq!(
            decode_owned(&chunks),
            decode_owned(&[stream]),
            "records depend on chunking"
        );
    }
    if raw != raw_digest(&[stream]) {
        assert_eq!(
            raw_blocks(&chunks),
            raw_blocks(&[stream]),
            "raw blocks depend on chunking"
        );
    }
    Corpus::Keep
}

/// What a decode produced, as a digest of every record (or raw item) plus their count and any
/// limit error.
/// The hot path: records are hashed as the decoder lends them, so nothing is allocated.
#[derive(Debug, PartialEq, Eq)]
struct Digest {
    records: usize,
    hash: u64,
    error: Option<DecodeError>,
}

/// Decodes under [`FUZZ_LIMITS`], checking the memory bound after every chunk.
fn digest(chunks: &[&[u8]]) -> Digest {
    let mut decoder = Decoder::new(FUZZ_LIMITS);
    let mut hasher = hasher();
    let mut records = 0;
    let mut sink = |record: RecordRef<'_>| {
        record.hash(&mut hasher);
        records += 1;
    };
    let mut error = None;
    for chunk in chunks {
        let fed = decoder.feed(chunk, &mut sink);
        assert!(
            decoder.pending_bytes() <= FUZZ_LIMITS.max_line_bytes + FUZZ_LIMITS.max_event_bytes,
            "decoder holds {} bytes, over its limits",
            decoder.pending_bytes()
        );
        if let Err(e) = fed {
            error = Some(e);
            break;
        }
    }
    let error = error.or_else(|| decoder.finish().err());
    Digest {
        records,
        hash: hasher.finish(),
        error,
    }
}

/// The digests' hasher: fixed-seeded, so a digest is the same on every run.
fn hasher() -> FoldHasher<'static> {
    FixedState::with_seed(0).build_hasher()
}

/// The owned records, to show what differs once digests disagree.
fn decode_owned(chunks: &[&[u8]]) -> Result<Vec<Record>, (Vec<Record>, DecodeError)> {
    decode_chunks(chunks.iter().copied(), FUZZ_LIMITS)
}

/// The raw-block view of a decode as a digest of every item the decoder lends (the bytes as
/// written, so equal digests mean equal blocks), plus the count and any limit error.
fn raw_digest(chunks: &[&[u8]]) -> Digest {
    let mut decoder = RawDecoder::new(FUZZ_LIMITS);
    let mut hasher = hasher();
    let mut items = 0;
    let mut visit = |item: RawItem<'_>| {
        item.hash(&mut hasher);
        items += 1;
    };
    let mut error = None;
    for chunk in chunks {
        if let Err(e) = decoder.feed_lent(chunk, &mut visit) {
            error = Some(e);
            break;
        }
    }
    let error = error.or_else(|| decoder.finish().err());
    Digest {
        records: items,
        hash: hasher.finish(),
        error,
    }
}

/// The owned raw blocks, to show what differs once digests disagree.
fn raw_blocks(chunks: &[&[u8]]) -> (Vec<RawBlock>, Option<DecodeError>) {
    let mut decoder = RawDecoder::new(FUZZ_LIMITS);
    let mut blocks = Vec::new();
    for chunk in chunks {
        if let Err(error) = decoder.feed(chunk, &mut blocks) {
            return (blocks, Some(error));
        }
    }
    (blocks, decoder.finish().err())
}

/// The input of `sse_roundtrip`.
#[derive(Debug, Clone, Arbitrary)]
pub struct RoundtripInput {
    /// The event's data.
    pub data: Untrusted,
    /// The event type, or None for no `event` field.
    pub event: Option<Untrusted>,
    /// The event id, or None for no `id` field.
    pub id: Option<Untrusted>,
    /// A comment, or None for none.
    pub comment: Option<Untrusted>,
    /// The reconnection time in milliseconds, or None for no `retry` field.
    pub retry: Option<u64>,
    /// Encode under [`EncodePolicy::Sanitize`] rather than [`EncodePolicy::Strict`].
    pub sanitize: bool,
    /// Chunk sizes the encoded bytes are fed to the decoder in, cycled ([`cut_cycling`]).
    pub chunk_sizes: Vec<u8>,
}

/// `sse_roundtrip`: untrusted values through the encoder, an arbitrary cut, and the decoder.
///
/// Checks: a frame the strict policy refuses has a CR or LF in `event`, `id` or the comment, or
/// a NUL in `id`, and writes nothing; every other frame, and every sanitised frame, decodes to
/// its retry (if any) and exactly one event equal to the input after normalisation.
pub fn sse_roundtrip(data: &[u8]) -> Corpus {
    let Ok(input) = RoundtripInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return Corpus::Reject;
    };
    let data = input.data.render();
    let event = input.event.as_ref().map(Untrusted::render);
    let id = input.id.as_ref().map(Untrusted::render);
    let comment = input.comment.as_ref().map(Untrusted::render);
    let frame = Frame {
        comment: comment.as_deref(),
        event: event.as_deref(),
        id: id.as_deref(),
        retry: input.retry,
        data: Some(&data),
    };
    let policy = if input.sanitize {
        EncodePolicy::Sanitize
    } else {
        EncodePolicy::Strict
    };
    let breaks = |value: &Option<String>, nul: bool| {
        value
            .as_deref()
            .is_some_and(|v| v.contains(['\r', '\n']) || (nul && v.contains('\0')))
    };
    let invalid = breaks(&event, false) || breaks(&id, true) || breaks(&comment, false);

    let mut bytes = Vec::new();
    if let Err(error) = frame.encode_with(policy, &mut bytes) {
        assert!(
            policy == EncodePolicy::Strict && invalid,
            "valid frame refused: {error}"
        );
        assert!(bytes.is_empty(), "a refused frame wrote bytes");
        return Corpus::Keep;
    }
    assert!(
        policy == EncodePolicy::Sanitize || !invalid,
        "invalid frame written"
    );

    let scrub = |value: &str, nul: bool| {
        value.replace(|c| c == '\r' || c == '\n' || (nul && c == '\0'), "\u{FFFD}")
    };
    let mut expected: Vec<Record> = input
        .retry
        .map(|retry| Record::Retry { retry })
        .into_iter()
        .collect();
    expected.push(Record::Event(Event {
        event_type: event
            .as_deref()
            .filter(|e| !e.is_empty())
            .map_or_else(|| "message".to_owned(), |e| scrub(e, false)),
        data: data.replace("\r\n", "\n").replace('\r', "\n"),
        last_event_id: id.as_deref().map(|i| scrub(i, true)).unwrap_or_default(),
    }));
    let sizes: Vec<usize> = input.chunk_sizes.iter().map(|&s| usize::from(s)).collect();
    let decoded = decode_chunks(cut_cycling(&bytes, &sizes), Limits::default());
    assert_eq!(
        decoded.as_ref().ok(),
        Some(&expected),
        "round trip changed the frame: {frame:?}"
    );
    Corpus::Keep
}
