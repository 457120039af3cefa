//! The codec targets: `sse_decode` (any bytes, any chunking) and `sse_roundtrip` (untrusted
//! values through the encoder and back).

use std::cell::RefCell;

use arbitrary::{Arbitrary, Unstructured};

use super::transcript;
use crate::chunking::cut_cycling;
use crate::input::{chunked_stream, Corpus, Untrusted, FUZZ_LIMITS};
use crate::sse::search::{find, line_breaks, line_breaks_or_nul};
use crate::sse::{
    decode_chunks, DecodeError, Decoder, EncodePolicy, Event, EventRef, Frame, Limits, RawBlock,
    RawDecoder, RawItem, Record, RecordRef,
};

/// `sse_decode`: arbitrary bytes under an arbitrary chunk split.
///
/// Input: `[n] [n chunk sizes] [stream]`, with `n` taken modulo 16, so a seed file is a zero
/// byte followed by a plain stream (fed whole). Checks: no panic; the records (and any limit
/// error) equal a one-shot decode, in both the browser and the raw-block view; the decoder never
/// holds more than its limits allow.
///
/// The hot path allocates nothing once warm: each view is compared as the transcript of what
/// the decoders lend (`src/fuzz/transcript.rs`), written into buffers reused across
/// executions, and decoded to owned records or blocks only when the transcripts differ, to show
/// how. A cut into one chunk is the one-shot decode itself, so it is decoded once.
pub fn sse_decode(data: &[u8]) -> Corpus {
    let Some((sizes, stream)) = chunked_stream(data) else {
        return Corpus::Reject;
    };
    let chunks = cut_cycling(stream, &sizes);
    TRANSCRIPTS.with_borrow_mut(|transcripts| {
        same_as_one_shot(&chunks, stream, transcripts, records, || {
            assert_eq!(
                decode_owned(&chunks),
                decode_owned(&[stream]),
                "records depend on chunking"
            );
        });
        same_as_one_shot(&chunks, stream, transcripts, raw_items, || {
            assert_eq!(
                raw_blocks(&chunks),
                raw_blocks(&[stream]),
                "raw blocks depend on chunking"
            );
        });
    });
    Corpus::Keep
}

/// Decodes the cut with `decode` and, unless the cut is one chunk (the one-shot decode itself),
/// the whole stream too, into the two `transcripts`. When their transcripts or errors differ
/// it panics: through `show_owned`, which asserts the owned values equal and so shows how they
/// differ, or else because the lent bytes differ where the owned values (UTF-8 replaced) agree.
fn same_as_one_shot(
    chunks: &[&[u8]],
    stream: &[u8],
    (cut, whole): &mut (Vec<u8>, Vec<u8>),
    decode: fn(&[&[u8]], &mut Vec<u8>) -> Option<DecodeError>,
    show_owned: impl FnOnce(),
) {
    let error = decode(chunks, cut);
    if chunks.len() > 1 && (error, &*cut) != (decode(&[stream], whole), &*whole) {
        show_owned();
        panic!(
            "what the decoder lends depends on chunking, in bytes its owned values decode alike"
        );
    }
}

thread_local! {
    /// The transcripts of the cut decode and of the one-shot decode, reused across executions.
    static TRANSCRIPTS: RefCell<(Vec<u8>, Vec<u8>)> =
        const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Decodes under [`FUZZ_LIMITS`], checking the memory bound after every chunk; the records go
/// to `out` as their transcript (replacing what it held), and the limit error, if any, is
/// returned.
fn records(chunks: &[&[u8]], out: &mut Vec<u8>) -> Option<DecodeError> {
    out.clear();
    let mut decoder = Decoder::new(FUZZ_LIMITS);
    let mut sink = |record: RecordRef<'_>| transcript::push_record(out, record);
    for chunk in chunks {
        let fed = decoder.feed(chunk, &mut sink);
        assert!(
            decoder.pending_bytes() <= FUZZ_LIMITS.max_line_bytes + FUZZ_LIMITS.max_event_bytes,
            "decoder holds {} bytes, over its limits",
            decoder.pending_bytes()
        );
        if let Err(error) = fed {
            return Some(error);
        }
    }
    decoder.finish().err()
}

/// The owned records, to show what differs once transcripts do.
fn decode_owned(chunks: &[&[u8]]) -> Result<Vec<Record>, (Vec<Record>, DecodeError)> {
    decode_chunks(chunks.iter().copied(), FUZZ_LIMITS)
}

/// The raw-block view of a decode: every item the decoder lends (the bytes as written) goes to
/// `out` as its transcript (replacing what it held), and the limit error, if any, is returned.
fn raw_items(chunks: &[&[u8]], out: &mut Vec<u8>) -> Option<DecodeError> {
    out.clear();
    let mut decoder = RawDecoder::new(FUZZ_LIMITS);
    let mut visit = |item: RawItem<'_>| transcript::push_raw_item(out, item);
    for chunk in chunks {
        if let Err(error) = decoder.feed_lent(chunk, &mut visit) {
            return Some(error);
        }
    }
    decoder.finish().err()
}

/// The owned raw blocks, to show what differs once transcripts do.
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

    let sizes: Vec<usize> = input.chunk_sizes.iter().map(|&s| usize::from(s)).collect();
    let chunks = cut_cycling(&bytes, &sizes);
    let expected = Expected {
        retry: input.retry,
        event: event.as_deref(),
        data: &data,
        id: id.as_deref(),
    };
    if !expected.decodes_from(&chunks) {
        // Only now build the owned records, to show how they differ.
        let decoded = decode_chunks(chunks.iter().copied(), Limits::default());
        let owned = expected.owned();
        assert_eq!(
            decoded.as_ref().ok(),
            Some(&owned),
            "round trip changed the frame: {frame:?}"
        );
        panic!("the lent comparison and the owned one disagree on {frame:?}");
    }
    Corpus::Keep
}

/// What a round trip must decode to: the retry, if any, then exactly one event equal to the
/// frame's values after normalisation (data line ends as LF; CR, LF and, in the id, NUL
/// scrubbed to U+FFFD by a sanitising encoder; an empty or absent type is `message`).
#[derive(Debug, Clone, Copy)]
struct Expected<'a> {
    retry: Option<u64>,
    event: Option<&'a str>,
    data: &'a str,
    id: Option<&'a str>,
}

impl Expected<'_> {
    /// Whether `chunks` decode to exactly this, compared record by record as the decoder lends
    /// them (nothing is allocated).
    fn decodes_from(&self, chunks: &[&[u8]]) -> bool {
        let mut decoder = Decoder::new(Limits::default());
        let mut seen = 0;
        let mut matches = true;
        let mut sink = |record: RecordRef<'_>| {
            matches &= match (seen, record) {
                (0, RecordRef::Retry(retry)) => self.retry == Some(retry),
                (at, RecordRef::Event(event)) => {
                    at == usize::from(self.retry.is_some()) && self.is(event)
                }
                _ => false,
            };
            seen += 1;
        };
        for chunk in chunks {
            if decoder.feed(chunk, &mut sink).is_err() {
                return false;
            }
        }
        decoder.finish().is_ok() && matches && seen == usize::from(self.retry.is_some()) + 1
    }

    fn is(&self, event: EventRef<'_>) -> bool {
        let event_type = match self.event {
            Some(wanted) if !wanted.is_empty() => is_scrubbed(event.event_type, wanted, false),
            _ => event.event_type == "message",
        };
        let id = match self.id {
            Some(wanted) => is_scrubbed(event.last_event_id, wanted, true),
            None => event.last_event_id.is_empty(),
        };
        event_type && id && is_normalised(event.data, self.data)
    }

    /// The records, owned.
    fn owned(self) -> Vec<Record> {
        let scrub = |value: &str, nul: bool| {
            value.replace(|c| c == '\r' || c == '\n' || (nul && c == '\0'), "\u{FFFD}")
        };
        let mut records: Vec<Record> = self
            .retry
            .map(|retry| Record::Retry { retry })
            .into_iter()
            .collect();
        records.push(Record::Event(Event {
            event_type: self
                .event
                .filter(|e| !e.is_empty())
                .map_or_else(|| "message".to_owned(), |e| scrub(e, false)),
            data: self.data.replace("\r\n", "\n").replace('\r', "\n"),
            last_event_id: self.id.map(|i| scrub(i, true)).unwrap_or_default(),
        }));
        records
    }
}

/// Whether `decoded` is `original` with each CR LF pair and each lone CR as LF. Library
/// routines do the work (a byte loop here would be traced compare by compare): a search for
/// CR, then one comparison, or a normalised copy when there is a CR.
fn is_normalised(decoded: &str, original: &str) -> bool {
    if find(b'\r', original.as_bytes()).is_none() {
        return decoded == original;
    }
    decoded == original.replace("\r\n", "\n").replace('\r', "\n")
}

/// Whether `decoded` is `original` with each CR and LF (and NUL, when `nul`) as U+FFFD; as
/// [`is_normalised`], a copy is made only when there is something to scrub.
fn is_scrubbed(decoded: &str, original: &str, nul: bool) -> bool {
    let bytes = original.as_bytes();
    let clean = match nul {
        true => line_breaks_or_nul(bytes).next().is_none(),
        false => line_breaks(bytes).next().is_none(),
    };
    if clean {
        return decoded == original;
    }
    decoded == original.replace(|c| c == '\r' || c == '\n' || (nul && c == '\0'), "\u{FFFD}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in decode whose transcript is the number of chunks it was given.
    fn counts_chunks(chunks: &[&[u8]], out: &mut Vec<u8>) -> Option<DecodeError> {
        out.clear();
        out.extend_from_slice(&chunks.len().to_le_bytes());
        None
    }

    /// A stand-in decode that fails only when the stream comes in more than one chunk.
    fn fails_when_cut(chunks: &[&[u8]], out: &mut Vec<u8>) -> Option<DecodeError> {
        out.clear();
        (chunks.len() > 1).then_some(DecodeError::LineTooLong { limit: 1 })
    }

    /// A stand-in decode whose transcript is the stream itself, however it is cut.
    fn concatenates(chunks: &[&[u8]], out: &mut Vec<u8>) -> Option<DecodeError> {
        out.clear();
        chunks.iter().for_each(|chunk| out.extend_from_slice(chunk));
        None
    }

    #[test]
    fn the_one_shot_comparison_catches_chunk_dependent_transcripts_and_errors() {
        let (chunks, stream): (&[&[u8]], &[u8]) = (&[b"a", b"b"], b"ab");
        for decode in [counts_chunks, fails_when_cut] {
            let caught = std::panic::catch_unwind(|| {
                same_as_one_shot(chunks, stream, &mut Default::default(), decode, || {})
            });
            assert!(caught.is_err());
        }
        same_as_one_shot(chunks, stream, &mut Default::default(), concatenates, || {});
        // A cut into one chunk is the one-shot decode: nothing to compare.
        same_as_one_shot(
            &[stream],
            stream,
            &mut Default::default(),
            counts_chunks,
            || {},
        );
    }

    /// The lent comparison says what the owned one says: on every frame the sanitising
    /// encoder writes, cut in two ways, and on streams that are not that frame.
    #[test]
    fn the_lent_comparison_agrees_with_the_owned_one() {
        for data in ["", "a", "a\r\nb", "a\rb\nc\r", "\0x\r", "é\n\n", "data: x"] {
            for event in [None, Some(""), Some("t\r\nu"), Some("ok")] {
                for id in [None, Some(""), Some("1\x002"), Some("a\nb")] {
                    for retry in [None, Some(7)] {
                        let frame = Frame {
                            comment: None,
                            event,
                            id,
                            retry,
                            data: Some(data),
                        };
                        let mut bytes = Vec::new();
                        frame
                            .encode_with(EncodePolicy::Sanitize, &mut bytes)
                            .expect("sanitised");
                        let expected = Expected {
                            retry,
                            event,
                            data,
                            id,
                        };
                        for size in [1, bytes.len() / 2 + 1] {
                            let chunks = cut_cycling(&bytes, &[size]);
                            let decoded = decode_chunks(chunks.iter().copied(), Limits::default());
                            assert_eq!(decoded.ok(), Some(expected.owned()), "{frame:?}");
                            assert!(expected.decodes_from(&chunks), "{frame:?}");
                        }
                        let other_data = Expected {
                            data: "zz",
                            ..expected
                        };
                        assert!(!other_data.decodes_from(&[&bytes]), "{frame:?}");
                        let twice = [bytes.as_slice(), bytes.as_slice()].concat();
                        assert!(!expected.decodes_from(&[&twice]), "{frame:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn data_is_normalised_and_values_scrubbed_as_the_owned_copies_are() {
        assert!(is_normalised("a\nb\nc\n", "a\r\nb\rc\n"));
        assert!(!is_normalised("a\n\nb", "a\r\nb"));
        assert!(!is_normalised("ab", "abc"));
        assert!(!is_normalised("abc", "ab"));
        assert!(is_scrubbed("a\u{FFFD}\u{FFFD}b", "a\r\nb", false));
        assert!(is_scrubbed("\0", "\0", false));
        assert!(is_scrubbed("\u{FFFD}", "\0", true));
        assert!(!is_scrubbed("a\nb", "a\nb", false));
    }
}
