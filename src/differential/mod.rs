//! Differential fuzzing of peer SSE decoders and encoders against the reference codec.
//!
//! - [`sse_differential`]: the same chunks go through the reference and through every peer
//!   decoder; each peer's output must be what [`prediction`] predicts from the reference's reading
//!   with the peer's known [`Deviation`]s switched on.
//! - [`encoder_differential`]: untrusted values go through every peer encoder; the reference
//!   decoder reads the result, and every way it falls short of E1 to E4 must be explained by a
//!   known deviation.
//!
//! A target panics, with a report that names the peer, the input and the rules involved, only
//! on a divergence that no known deviation accounts for. The peers are regular dependencies
//! behind the default feature `peers`.

pub mod decoders;
pub mod deviations;
pub mod encoders;
pub mod prediction;
mod script;

use std::fmt;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};

use crate::chunking::cut_cycling;
use crate::input::{chunked_stream, Corpus};
use crate::sse::{decode_chunks, Decoder, Limits, RawDecoder, Record, RecordRef};

pub use deviations::{Deviation, Side};
use encoders::{Encoded, EncoderInput, Failure, Failures, Values};
pub use prediction::{Block, End, Item, Model, Outcome, PeerError};
use script::Script;

/// A peer crate, at the version `Cargo.lock` pins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peer {
    /// sse-stream 0.2, what the official Rust MCP SDK (rmcp) resolves to.
    SseStream02,
    /// sse-stream 0.3, the current release of the same crate.
    SseStream03,
    /// eventsource-stream 0.2, a decoder only.
    EventsourceStream,
    /// sse-codec 0.3, a `futures_codec` decoder and encoder.
    SseCodec,
    /// async-sse 5, the decoder and encoder of the http-rs stack.
    AsyncSse,
    /// axum 0.8, whose `Sse` response is an encoder only.
    Axum,
}

impl Peer {
    /// The peers with a decoder.
    pub const DECODERS: [Peer; 5] = [
        Peer::SseStream02,
        Peer::SseStream03,
        Peer::EventsourceStream,
        Peer::SseCodec,
        Peer::AsyncSse,
    ];

    /// The peers with an encoder.
    pub const ENCODERS: [Peer; 5] = [
        Peer::SseStream02,
        Peer::SseStream03,
        Peer::SseCodec,
        Peer::AsyncSse,
        Peer::Axum,
    ];

    /// The crate name and major version, as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            Peer::SseStream02 => "sse-stream 0.2",
            Peer::SseStream03 => "sse-stream 0.3",
            Peer::EventsourceStream => "eventsource-stream 0.2",
            Peer::SseCodec => "sse-codec 0.3",
            Peer::AsyncSse => "async-sse 5",
            Peer::Axum => "axum 0.8",
        }
    }
}

/// One stream for the decoders: its bytes, the chunks they are fed in, and its lines.
pub struct Input<'a> {
    /// The whole stream, at most [`MAX_STREAM`] bytes.
    pub stream: &'a [u8],
    /// `stream` cut into the chunks fed to each decoder, in order.
    pub chunks: Vec<&'a [u8]>,
    script: Script<'a>,
}

impl<'a> Input<'a> {
    /// `stream`, cut into chunks whose sizes cycle through `sizes` ([`cut_cycling`]).
    pub fn new(stream: &'a [u8], sizes: &[usize]) -> Self {
        Input {
            stream,
            chunks: cut_cycling(stream, sizes),
            script: Script::new(stream),
        }
    }
}

/// The longest stream `sse_differential` reads; the rest of a longer input is ignored. A
/// divergence needs a few lines, while eventsource-stream's cost grows with the square of the
/// stream (it copies its buffer once per line). Far below the default [`Limits`], so the
/// reference reads every stream to its end.
pub const MAX_STREAM: usize = 1024;

/// `sse_differential`: arbitrary bytes under an arbitrary chunk split, through every peer
/// decoder.
///
/// Input: `[n] [n chunk sizes] [stream]`, as for `sse_decode`, so a seed file is a zero byte
/// followed by a plain stream; only its first [`MAX_STREAM`] bytes are read. Checks: the
/// projections agree with the reference decoders (the browser view with
/// [`crate::sse::Decoder`], the line split with [`RawDecoder`]); each peer reports exactly what
/// its known deviations predict. A peer whose known deviations predict a panic is not run on
/// that input, as libFuzzer's panic hook would end the run.
pub fn sse_differential(data: &[u8]) -> Corpus {
    let Some((sizes, stream)) = chunked_stream(data) else {
        return Corpus::Reject;
    };
    let stream = &stream[..stream.len().min(MAX_STREAM)];
    let input = Input::new(stream, &sizes);

    if !input.script.lent_by_reference(&input.chunks) {
        assert_eq!(
            input.script.raw_blocks(),
            reference_blocks(&input.chunks),
            "the line split disagrees with the reference RawDecoder"
        );
    }
    let exact = prediction::browser(&input, &Model::default());
    if !reference_agrees(&input.chunks, &exact) {
        assert_eq!(
            exact,
            reference_records(&input.chunks),
            "the browser projection disagrees with the reference Decoder"
        );
    }
    for peer in Peer::DECODERS {
        let known = decoders::expect(peer, &input, &peer.model(peer.known(Side::Decoder)));
        if known.end == End::Panic {
            continue;
        }
        let theirs = decoders::run(peer, &input);
        if theirs != known {
            let ours = decoders::expect(peer, &input, &peer.model([]));
            panic!(
                "{}",
                DecoderReport {
                    peer,
                    input: data,
                    stream,
                    chunks: &input.chunks,
                    ours,
                    known,
                    theirs,
                }
            );
        }
    }
    Corpus::Keep
}

/// `encoder_differential`: untrusted values (the pieces of [`crate::input::Untrusted`]) through
/// every peer encoder, read back by the reference decoder.
///
/// Checks: every [`Failure`] of a peer's encoding is explained by one of its known deviations
/// that the values trigger. A peer whose known deviations predict a panic is not run on those
/// values.
pub fn encoder_differential(data: &[u8]) -> Corpus {
    let Ok(input) = EncoderInput::arbitrary_take_rest(Unstructured::new(data)) else {
        return Corpus::Reject;
    };
    compare_encoders(&input.render(), data);
    Corpus::Keep
}

/// The checks of [`encoder_differential`] on `all`, rendered from the fuzz input `data` (which
/// the report prints).
pub fn compare_encoders(all: &Values, data: &[u8]) {
    for peer in Peer::ENCODERS {
        let values = all.for_peer(peer);
        let explained = peer
            .known(Side::Encoder)
            .fold(Failures::NONE, |sum, d| sum.union(d.explains(&values)));
        if explained.contains(Failure::Panicked) {
            continue;
        }
        let encoded = encoders::encode(peer, &values);
        let failures = encoders::check(&values, &encoded);
        if !failures.is_subset(explained) {
            let decoded = encoders::decoded(&encoded);
            panic!(
                "{}",
                EncoderReport {
                    peer,
                    input: data,
                    values: &values,
                    encoded: &encoded,
                    decoded: &decoded,
                    failures,
                    explained,
                }
            );
        }
    }
}

/// Whether the reference [`Decoder`] reports exactly `outcome` (the shape of
/// [`prediction::browser`] without attached retries), compared record by record as it lends them.
fn reference_agrees(chunks: &[&[u8]], outcome: &Outcome) -> bool {
    let mut expected = outcome.items.iter();
    let mut same = outcome.end == End::Clean;
    let mut sink = |record: RecordRef<'_>| {
        same &= match (record, expected.next()) {
            (RecordRef::Event(got), Some(Item::Event { event, retry: None })) => {
                got.event_type == event.event_type
                    && got.data == event.data
                    && got.last_event_id == event.last_event_id
            }
            (RecordRef::Retry(millis), Some(Item::Retry(retry))) => {
                Duration::from_millis(millis) == *retry
            }
            _ => false,
        };
    };
    let mut decoder = Decoder::new(Limits::default());
    for chunk in chunks {
        decoder
            .feed(chunk, &mut sink)
            .expect("a stream below the default limits decodes");
    }
    same && expected.next().is_none()
}

/// The reference's browser view, in the shape of [`prediction::browser`] without attached retries.
fn reference_records(chunks: &[&[u8]]) -> Outcome {
    let records = decode_chunks(chunks.iter().copied(), Limits::default())
        .expect("a stream below the default limits decodes");
    let items = records
        .into_iter()
        .map(|record| match record {
            Record::Event(event) => Item::Event { event, retry: None },
            Record::Retry { retry } => Item::Retry(Duration::from_millis(retry)),
        })
        .collect();
    Outcome {
        items,
        end: End::Clean,
    }
}

fn reference_blocks(chunks: &[&[u8]]) -> Vec<crate::sse::RawBlock> {
    let mut decoder = RawDecoder::new(Limits::default());
    let mut blocks = Vec::new();
    for chunk in chunks {
        decoder
            .feed(chunk, &mut blocks)
            .expect("a stream below the default limits decodes");
    }
    blocks
}

/// A decoder divergence, printed as the panic message.
struct DecoderReport<'a> {
    peer: Peer,
    input: &'a [u8],
    stream: &'a [u8],
    chunks: &'a [&'a [u8]],
    ours: Outcome,
    known: Outcome,
    theirs: Outcome,
}

impl fmt::Display for DecoderReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lens: Vec<usize> = self.chunks.iter().map(|chunk| chunk.len()).collect();
        let known: Vec<String> = self
            .peer
            .known(Side::Decoder)
            .map(|deviation| format!("{deviation:?} ({})", deviation.rules()))
            .collect();
        writeln!(
            f,
            "sse_differential: new divergence from {}",
            self.peer.name()
        )?;
        writeln!(f, "  stream: b\"{}\"", self.stream.escape_ascii())?;
        writeln!(f, "  chunks: {lens:?}")?;
        writeln!(f, "  rules:  {}", rule_hint(&self.known, &self.theirs))?;
        writeln!(f, "  ours, WHATWG rules:           {:?}", self.ours)?;
        writeln!(f, "  ours, with known deviations:  {:?}", self.known)?;
        writeln!(f, "  theirs:                       {:?}", self.theirs)?;
        writeln!(f, "  known deviations: {}", known.join(", "))?;
        write!(
            f,
            "  input:  b\"{}\" (save as corpus/sse_differential/regression-<what>, then \
             `cargo test --test integration corpus_replay`)",
            self.input.escape_ascii()
        )
    }
}

/// The rules behind the first difference between two outcomes, as a hint for the report.
fn rule_hint(known: &Outcome, theirs: &Outcome) -> &'static str {
    let first = known.items.iter().zip(&theirs.items).find(|(a, b)| a != b);
    match first {
        Some((Item::Event { event: a, retry: x }, Item::Event { event: b, retry: y })) => {
            if a.event_type != b.event_type {
                "F1, P4 (event type)"
            } else if a.data != b.data {
                "F2, L5, D3 (data)"
            } else if a.last_event_id != b.last_event_id {
                "F3, P1 (last event ID)"
            } else if x != y {
                "F4 (retry)"
            } else {
                "event fields"
            }
        }
        Some((Item::Block(a), Item::Block(b))) => {
            if a.data != b.data {
                "F2, L5, D3 (block data)"
            } else if a.event != b.event {
                "F1 (block event)"
            } else if a.id != b.id {
                "F3 (block id)"
            } else {
                "F4 (block retry)"
            }
        }
        Some((Item::Retry(_), Item::Retry(_))) => "F4 (retry)",
        Some(_) => "L1 to L3, P2 (what dispatches)",
        None if known.items.len() != theirs.items.len() => {
            "L1 to L3, P2, P6 (an item appears or vanishes)"
        }
        None => match theirs.end {
            End::Panic => "no input may panic",
            End::Stalled => "a reader must not hang on ready input",
            End::Error(_) => "D3, L6, L7: no byte sequence is an error",
            End::Clean => "a predicted error did not happen",
        },
    }
}

/// An encoder divergence, printed as the panic message.
struct EncoderReport<'a> {
    peer: Peer,
    input: &'a [u8],
    values: &'a Values,
    encoded: &'a Encoded,
    decoded: &'a [Record],
    failures: Failures,
    explained: Failures,
}

impl fmt::Display for EncoderReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "encoder_differential: new divergence from {}'s encoder",
            self.peer.name()
        )?;
        writeln!(f, "  values:   {:?}", self.values)?;
        match self.encoded {
            Encoded::Bytes(bytes) => writeln!(f, "  wrote:    b\"{}\"", bytes.escape_ascii())?,
            Encoded::Refused(error) => writeln!(f, "  refused:  {error}")?,
            Encoded::Panicked => writeln!(f, "  panicked")?,
            Encoded::Stalled => writeln!(f, "  stalled: its output never ended")?,
        }
        writeln!(f, "  decoded:  {:?}", self.decoded)?;
        writeln!(f, "  expected: {:?}", self.values.expected())?;
        let new: Vec<String> = self
            .failures
            .iter()
            .filter(|failure| !self.explained.contains(*failure))
            .map(|failure| format!("{failure:?} ({})", failure.rules()))
            .collect();
        writeln!(f, "  new failures: {}", new.join(", "))?;
        let applied: Vec<String> = self
            .peer
            .known(Side::Encoder)
            .filter(|deviation| !deviation.explains(self.values).is_empty())
            .map(|deviation| format!("{deviation:?} ({})", deviation.rules()))
            .collect();
        writeln!(
            f,
            "  known deviations that apply: {} (explaining {:?})",
            applied.join(", "),
            self.explained
        )?;
        write!(
            f,
            "  input:    b\"{}\" (save as corpus/encoder_differential/regression-<what>, then \
             `cargo test --test integration corpus_replay`)",
            self.input.escape_ascii()
        )
    }
}
