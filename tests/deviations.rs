//! Every row of the deviation table in `fuzz/README.md`, confirmed against the peer.
//!
//! For a decoder deviation, the minimal input goes through the peer: its output must differ from
//! the WHATWG rules and equal the model with exactly that deviation switched on, and
//! `sse_differential` must accept it. For an encoder deviation, the peer's encoding must fail,
//! those failures must be explained by that deviation alone, and the encoder comparison must
//! accept it. When a peer changes, the row that no longer holds fails here.

use mcp_transport_fuzz::differential::decoders::{expect, run};
use mcp_transport_fuzz::differential::encoders::{check, decoded, encode, Encoded, Values};
use mcp_transport_fuzz::differential::{
    compare_encoders, sse_differential, Deviation, Input, Side,
};

/// A deviation's minimal input.
enum Case {
    /// A stream, cut into chunks of these sizes (cycling; none means whole).
    Decoder {
        stream: &'static [u8],
        sizes: &'static [u8],
    },
    Encoder(Values),
}

fn stream(stream: &'static [u8]) -> Case {
    Case::Decoder { stream, sizes: &[] }
}

fn data(data: &str) -> Values {
    Values {
        data: data.to_owned(),
        ..Values::default()
    }
}

/// The table's minimal inputs. The match is exhaustive: a new deviation needs a row here.
fn case(deviation: Deviation) -> Case {
    use Deviation::*;
    match deviation {
        SseStream02RejectsLineWithoutColon => stream(b"data\n\n"),
        SseStream02RejectsUnknownField => stream(b"foo: bar\ndata: x\n\n"),
        SseStream02RejectsRepeatedField => stream(b"event: a\nevent: b\ndata: x\n\n"),
        SseStream02RejectsInvalidRetry => stream(b"retry: soon\ndata: x\n\n"),
        SseStream02LenientRetry => stream(b"retry: +5\ndata: x\n\n"),
        SseStream02RejectsInvalidUtf8 | SseStream03RejectsInvalidUtf8 => stream(b"data: \xFF\n\n"),
        SseStream03IgnoresRetryOverflow => stream(b"retry: 99999999999999999999\ndata: x\n\n"),
        EventsourceStreamPanicsOnLeadingBom => stream(b"\xEF\xBB\xBFdata: x\n\n"),
        EventsourceStreamStallsOnInvalidUtf8 => stream(b"data: \xFF\n\ndata: x\n\n"),
        EventsourceStreamFinalCrPending => stream(b"data: x\r\r"),
        EventsourceStreamDropsRetryWithoutEvent => stream(b"retry: 5\n\ndata: x\n\n"),
        EventsourceStreamRetryFromStr => stream(b"retry: +5\ndata: x\n\n"),
        SseCodecBomOnAnyLine | AsyncSseBomOnAnyLine => {
            stream(b"data: 1\n\n\xEF\xBB\xBFdata: 2\n\n")
        }
        SseCodecRejectsInvalidUtf8 | AsyncSseRejectsInvalidUtf8 => stream(b":\xFF\ndata: x\n\n"),
        SseCodecRetryKeepsLeadingSpace | AsyncSseRetryKeepsLeadingSpace => {
            stream(b"retry: 5\ndata: x\n\n")
        }
        SseCodecIgnoresEventIdWithoutColon | AsyncSseIgnoresEventIdWithoutColon => {
            stream(b"event: a\nevent\ndata: x\n\n")
        }
        SseCodecKeepsEmptyEventType | AsyncSseKeepsEmptyEventType => stream(b"event:\ndata: x\n\n"),
        AsyncSseRetryInSeconds => stream(b"retry:5\n\n"),
        AsyncSsePanicsOnHugeRetry => stream(b"retry:18446744073709551615\n\n"),
        AsyncSseSplitCrLfIsTwoLines => Case::Decoder {
            stream: b"data: x\r\ndata: y\n\n",
            sizes: &[8],
        },
        AsyncSseReadsUnterminatedLine => stream(b"retry:0"),
        SseStream02EncoderDataNotSplit => Case::Encoder(data("one\n\ndata: injected")),
        SseStream02EncoderFieldsNotChecked => Case::Encoder(Values {
            event: Some("message\ndata: injected".to_owned()),
            ..data("x")
        }),
        SseCodecEncoderDataByStrLines => Case::Encoder(data("x\n")),
        SseCodecEncoderFieldsNotChecked => Case::Encoder(Values {
            id: Some("7\ndata: injected".to_owned()),
            ..data("x")
        }),
        AsyncSseEncoderDataByStrLines => Case::Encoder(data("a\rb")),
        AsyncSseEncoderNoSpaceAfterColon => Case::Encoder(data(" indented")),
        AsyncSseEncoderFieldsNotChecked => Case::Encoder(Values {
            event: Some("a\nid: injected".to_owned()),
            ..data("x")
        }),
        AsyncSseEncoderRetryInSeconds => Case::Encoder(Values {
            retry: Some(3000),
            ..data("x")
        }),
        AxumPanicsOnInvalidField => Case::Encoder(Values {
            event: Some("a\nb".to_owned()),
            ..data("x")
        }),
        AxumCrLfDataDoubled => Case::Encoder(data("a\r\nb")),
        AxumEmptyDataNoEvent => Case::Encoder(data("")),
    }
}

#[test]
fn every_decoder_deviation_still_holds_and_is_filtered() {
    for &deviation in Deviation::ALL {
        let Case::Decoder { stream, sizes } = case(deviation) else {
            continue;
        };
        assert_eq!(deviation.side(), Side::Decoder, "{deviation:?}");
        let peer = deviation.peer();
        let sizes_usize: Vec<usize> = sizes.iter().map(|&s| usize::from(s)).collect();
        let input = Input::new(stream, &sizes_usize);
        let theirs = run(peer, &input);
        let exact = expect(peer, &input, &peer.model([]));
        let modelled = expect(peer, &input, &peer.model([deviation]));
        assert_ne!(
            theirs,
            exact,
            "{deviation:?} no longer holds: {} follows the rules on b\"{}\"",
            peer.name(),
            stream.escape_ascii()
        );
        assert_eq!(
            theirs,
            modelled,
            "{deviation:?}: {} does not do what the deviation says on b\"{}\"",
            peer.name(),
            stream.escape_ascii()
        );
        let mut input = vec![u8::try_from(sizes.len()).expect("few sizes")];
        input.extend_from_slice(sizes);
        input.extend_from_slice(stream);
        sse_differential(&input);
    }
}

#[test]
fn every_encoder_deviation_still_holds_and_is_filtered() {
    for &deviation in Deviation::ALL {
        let Case::Encoder(values) = case(deviation) else {
            continue;
        };
        assert_eq!(deviation.side(), Side::Encoder, "{deviation:?}");
        let peer = deviation.peer();
        let values = values.for_peer(peer);
        let encoded = encode(peer, &values);
        let failures = check(&values, &encoded);
        let decoded = decoded(&encoded);
        assert!(
            !failures.is_empty(),
            "{deviation:?} no longer holds: {} encodes {values:?} safely",
            peer.name()
        );
        assert!(
            failures.is_subset(deviation.explains(&values)),
            "{deviation:?}: {} fails with {failures:?} on {values:?} ({encoded:?}, decoded as \
             {decoded:?}), more than the deviation says",
            peer.name()
        );
        if deviation == Deviation::AxumPanicsOnInvalidField {
            assert_eq!(encoded, Encoded::Panicked);
        }
        compare_encoders(&values, b"");
    }
}

#[test]
fn the_readme_table_lists_every_deviation() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/README.md"))
        .expect("fuzz/README.md exists");
    for deviation in Deviation::ALL {
        let name = format!("`{deviation:?}`");
        assert!(
            readme.contains(&name),
            "fuzz/README.md has no row for {name}"
        );
    }
}
