//! The bodies of the fuzz targets, as library functions.
//!
//! Each `fuzz/fuzz_targets/X.rs` is one line calling `X` here, and `cargo test` replays every
//! file under `corpus/X/` through the same function, so a crash found anywhere becomes a
//! permanent regression test by dropping its input into the corpus. A function panics exactly
//! when an invariant is broken; any input is otherwise accepted.

use arbitrary::{Arbitrary, Unstructured};

use crate::chunking::cut_cycling;
#[cfg(feature = "peers")]
pub use crate::differential::{encoder_differential, sse_differential};
pub use harness::{
    fixture_input, harness_fixture, harness_reference, harness_rmcp, FIXTURE_ENV, RMCP_KNOWN,
};
pub use models::{bounded_stream, session_resume};
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::sse::{
    decode_chunks, DecodeError, Decoder, Event, Frame, Limits, Policy, RawBlock, RawDecoder,
    Record, RecordRef,
};

mod harness;
mod models;

/// Limits small enough that fuzzing reaches the over-limit paths quickly.
pub const FUZZ_LIMITS: Limits = Limits {
    max_line_bytes: 128,
    max_event_bytes: 512,
};

/// The body of a fuzz target: it panics exactly when an invariant is broken.
pub type FuzzBody = fn(&[u8]);

/// Every fuzz target, by name, as `cargo fuzz list` shows them and `corpus/` names its folders.
pub const TARGETS: &[(&str, FuzzBody)] = &[
    ("sse_decode", sse_decode),
    ("sse_roundtrip", sse_roundtrip),
    ("bounded_stream", bounded_stream),
    ("session_resume", session_resume),
    ("harness_reference", harness_reference),
    ("harness_rmcp", harness_rmcp),
    #[cfg(feature = "peers")]
    ("sse_differential", sse_differential),
    #[cfg(feature = "peers")]
    ("encoder_differential", encoder_differential),
];

/// The fuzz target over the deliberately vulnerable fixtures. Not in [`TARGETS`]: every run of
/// it is meant to crash (each crash is a fixture's bug found), so neither the corpus replay
/// nor continuous fuzzing runs it; `.ci/run` checks that it finds each fixture.
pub const FIXTURE_TARGET: (&str, FuzzBody) = ("harness_fixture", harness_fixture);

/// `sse_decode`: arbitrary bytes under an arbitrary chunk split.
///
/// Input: `[n] [n chunk sizes] [stream]`, with `n` taken modulo 16, so a seed file is a zero
/// byte followed by a plain stream (fed whole). Checks: no panic; the records (and any limit
/// error) equal a one-shot decode, in both the browser and the raw-block view; the decoder never
/// holds more than its limits allow.
pub fn sse_decode(data: &[u8]) {
    let Some((sizes, stream)) = chunked_stream(data) else {
        return;
    };
    let chunks = cut_cycling(stream, &sizes);

    if digest(&chunks) != digest(&[stream]) {
        assert_eq!(
            decode_owned(&chunks),
            decode_owned(&[stream]),
            "records depend on chunking"
        );
    }
    assert_eq!(
        raw_blocks(&chunks),
        raw_blocks(&[stream]),
        "raw blocks depend on chunking"
    );
}

/// Reads the `[n] [n chunk sizes] [stream]` input of the stream targets: `n` is taken modulo
/// 16, and each size byte is a chunk length (zero: an empty chunk; sizes cycle, see
/// [`cut_cycling`]). `None` for an empty input.
pub fn chunked_stream(data: &[u8]) -> Option<(Vec<usize>, &[u8])> {
    let (&count, rest) = data.split_first()?;
    let (sizes, stream) = rest.split_at(usize::from(count % 16).min(rest.len()));
    Some((sizes.iter().map(|&s| usize::from(s)).collect(), stream))
}

/// What a decode produced, as a digest of every record plus the count and any limit error.
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
    let mut hasher = DefaultHasher::new();
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

/// The owned records, to show what differs once digests disagree.
fn decode_owned(chunks: &[&[u8]]) -> Result<Vec<Record>, (Vec<Record>, DecodeError)> {
    decode_chunks(chunks.iter().copied(), FUZZ_LIMITS)
}

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

/// A piece of untrusted text. The control sequences are variants of their own so that the
/// fuzzer reaches them through the input's structure, not by guessing bytes.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub enum Piece {
    Lf,
    Cr,
    CrLf,
    Colon,
    Space,
    Nul,
    Bom,
    DataField,
    IdField,
    EventField,
    RetryField,
    /// A whole injected event, the shape a prompt-injection payload takes.
    InjectedEvent,
    Text(String),
}

impl Piece {
    fn text(&self) -> &str {
        match self {
            Piece::Lf => "\n",
            Piece::Cr => "\r",
            Piece::CrLf => "\r\n",
            Piece::Colon => ":",
            Piece::Space => " ",
            Piece::Nul => "\0",
            Piece::Bom => "\u{FEFF}",
            Piece::DataField => "data:",
            Piece::IdField => "id:",
            Piece::EventField => "event:",
            Piece::RetryField => "retry:",
            Piece::InjectedEvent => {
                "\n\nevent: message\nid: 0\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n"
            }
            Piece::Text(text) => text,
        }
    }
}

/// Untrusted text built from pieces.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub struct Untrusted(pub Vec<Piece>);

impl Untrusted {
    pub fn render(&self) -> String {
        self.0.iter().map(Piece::text).collect()
    }
}

/// The input of `sse_roundtrip`.
#[derive(Debug, Clone, Arbitrary)]
pub struct RoundtripInput {
    pub data: Untrusted,
    pub event: Option<Untrusted>,
    pub id: Option<Untrusted>,
    pub comment: Option<Untrusted>,
    pub retry: Option<u64>,
    pub sanitize: bool,
    pub chunk_sizes: Vec<u8>,
}

/// `sse_roundtrip`: untrusted values through the encoder, an arbitrary cut, and the decoder.
///
/// Checks: a frame the strict policy refuses has a CR or LF in `event`, `id` or the comment, or
/// a NUL in `id`, and writes nothing; every other frame, and every sanitised frame, decodes to
/// its retry (if any) and exactly one event equal to the input after normalisation.
pub fn sse_roundtrip(data: &[u8]) {
    let Ok(input) = RoundtripInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
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
        Policy::Sanitize
    } else {
        Policy::Strict
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
            policy == Policy::Strict && invalid,
            "valid frame refused: {error}"
        );
        assert!(bytes.is_empty(), "a refused frame wrote bytes");
        return;
    }
    assert!(
        policy == Policy::Sanitize || !invalid,
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
}
