//! Every known way a peer departs from the WHATWG rules or from a safe encoder (E1 to E5).
//!
//! A decoder deviation is a switch in the [`Model`] that predicts the peer's output; an encoder
//! deviation names the [`Failures`] it explains on the inputs that trigger it. The fuzz targets
//! accept what the known deviations predict or explain, and nothing else. Each variant is a row of
//! the deviation table in `fuzz/README.md`, and `tests/deviations.rs` runs its minimal input
//! through the peer to show that it still holds.

use super::encoders::{Failure, Failures, Values};
use super::prediction::{Model, RetryRule, Utf8Rule};
use super::Peer;

/// One known deviation of one peer, named `<Peer><What it does>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Deviation {
    // sse-stream 0.2.6, decoder.
    /// A line without a colon (`data`) is an `InvalidLine` error that ends the stream (L6).
    SseStream02RejectsLineWithoutColon,
    /// A line with an unknown field name is an `InvalidLine` error, not ignored (L7, F5).
    SseStream02RejectsUnknownField,
    /// A second `event`, `id` or `retry` line in one block is a `DuplicatedEventLine` error (F5).
    SseStream02RejectsRepeatedField,
    /// A `retry` value that is not a decimal `u64`, overflow included, is an `IntParse` error (F4).
    SseStream02RejectsInvalidRetry,
    /// `retry` is parsed with `trim_ascii().parse()`, so `+5` and padded values set the retry (F4).
    SseStream02LenientRetry,
    /// Invalid UTF-8 in a field value is a `Utf8Parse` error instead of U+FFFD (D3).
    SseStream02RejectsInvalidUtf8,
    // sse-stream 0.3.0, decoder.
    /// Invalid UTF-8 in a field value is a `Utf8Parse` error that ends the stream (D3).
    SseStream03RejectsInvalidUtf8,
    /// A `retry` value that overflows `u64` is ignored rather than saturated (F4, allowed).
    SseStream03IgnoresRetryOverflow,
    // eventsource-stream 0.2.3.
    /// A leading BOM makes the decoder panic: it slices `&string[1..]` inside the 3-byte BOM (D2).
    EventsourceStreamPanicsOnLeadingBom,
    /// Nothing after the first invalid UTF-8 byte is parsed; the error comes at the end (D3).
    EventsourceStreamStallsOnInvalidUtf8,
    /// A CR at the very end of the stream waits for an LF forever, so its line is lost (L1, L2).
    EventsourceStreamFinalCrPending,
    /// A `retry` in a block without data is lost, as the retry only travels on events (F4).
    EventsourceStreamDropsRetryWithoutEvent,
    /// `retry` is parsed with `parse::<u64>()`, so `+5` sets it and overflow is ignored (F4).
    EventsourceStreamRetryFromStr,
    // sse-codec 0.3.3, decoder.
    /// A BOM at the start of any line is stripped, not only at the start of the stream (D2).
    SseCodecBomOnAnyLine,
    /// Invalid UTF-8 on any line, comments included, is a `Utf8Error` (D3).
    SseCodecRejectsInvalidUtf8,
    /// The digit check runs before the space after the colon goes: `retry: 5` is ignored (L5, F4).
    SseCodecRetryKeepsLeadingSpace,
    /// An `event` or `id` line without a colon is ignored rather than setting the field to "" (L6).
    SseCodecIgnoresEventIdWithoutColon,
    /// `event:` with an empty value gives type "" instead of "message" (P4).
    SseCodecKeepsEmptyEventType,
    // async-sse 5.1.0, decoder.
    /// A BOM at the start of any line is stripped, not only at the start of the stream (D2).
    AsyncSseBomOnAnyLine,
    /// Invalid UTF-8 on any line, comments included, is an `InvalidData` error (D3).
    AsyncSseRejectsInvalidUtf8,
    /// The digit check runs before the space after the colon goes: `retry: 5` is ignored (L5, F4).
    AsyncSseRetryKeepsLeadingSpace,
    /// An `event` or `id` line without a colon is ignored rather than setting the field to "" (L6).
    AsyncSseIgnoresEventIdWithoutColon,
    /// `event:` with an empty value gives type "" instead of "message" (P4).
    AsyncSseKeepsEmptyEventType,
    /// `retry` is read as seconds (`Duration::from_secs_f64`), not milliseconds (F4).
    AsyncSseRetryInSeconds,
    /// A `retry` of 2^64 − 1024 or more panics in `Duration::from_secs_f64` (F4).
    AsyncSsePanicsOnHugeRetry,
    /// A CRLF split across two reads is read as a CR, then an empty line that dispatches (L2).
    AsyncSseSplitCrLfIsTwoLines,
    /// The unterminated last line of the stream is read as a line instead of dropped (L1, P6).
    AsyncSseReadsUnterminatedLine,
    // Encoders.
    /// Data is written raw, so a line break in it injects lines and events (E1).
    SseStream02EncoderDataNotSplit,
    /// `event` and `id` are written raw, so a line break in them injects fields (E3).
    SseStream02EncoderFieldsNotChecked,
    /// Data is written as `data:` lines from `str::lines`: a final line break and "" are lost,
    /// and a lone CR is not split, which injects lines (E1, E2).
    SseCodecEncoderDataByStrLines,
    /// `event` and `id` are written raw, so a line break in them injects fields (E3).
    SseCodecEncoderFieldsNotChecked,
    /// Data is written as `data:` lines from `str::lines`: a final line break and "" are lost,
    /// and a lone CR is not split, which injects lines (E1, E2).
    AsyncSseEncoderDataByStrLines,
    /// Fields are written as `data:{}` with no space, so a value's own leading space is eaten (E1).
    AsyncSseEncoderNoSpaceAfterColon,
    /// `event` and `id` are written raw, so a line break in them injects fields (E3).
    AsyncSseEncoderFieldsNotChecked,
    /// `retry` is written as whole seconds, which a decoder reads as milliseconds (E4).
    AsyncSseEncoderRetryInSeconds,
    /// An `event`, `id` or comment with a line break, or NUL in `id`, panics in `assert_eq!` (E3).
    AxumPanicsOnInvalidField,
    /// CR and LF of a CRLF each start a new `data:` line, so the data read back gains a line (E1).
    AxumCrLfDataDoubled,
    /// Empty data writes no `data:` line, so the event is never dispatched (E2).
    AxumEmptyDataNoEvent,
}

/// Which side of a peer a deviation is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The peer's decoder, checked by `sse_differential` through its [`Model`].
    Decoder,
    /// The peer's encoder, checked by `encoder_differential` through [`Deviation::explains`].
    Encoder,
}

impl Deviation {
    /// Every deviation, in table order.
    pub const ALL: &'static [Deviation] = &[
        Deviation::SseStream02RejectsLineWithoutColon,
        Deviation::SseStream02RejectsUnknownField,
        Deviation::SseStream02RejectsRepeatedField,
        Deviation::SseStream02RejectsInvalidRetry,
        Deviation::SseStream02LenientRetry,
        Deviation::SseStream02RejectsInvalidUtf8,
        Deviation::SseStream03RejectsInvalidUtf8,
        Deviation::SseStream03IgnoresRetryOverflow,
        Deviation::EventsourceStreamPanicsOnLeadingBom,
        Deviation::EventsourceStreamStallsOnInvalidUtf8,
        Deviation::EventsourceStreamFinalCrPending,
        Deviation::EventsourceStreamDropsRetryWithoutEvent,
        Deviation::EventsourceStreamRetryFromStr,
        Deviation::SseCodecBomOnAnyLine,
        Deviation::SseCodecRejectsInvalidUtf8,
        Deviation::SseCodecRetryKeepsLeadingSpace,
        Deviation::SseCodecIgnoresEventIdWithoutColon,
        Deviation::SseCodecKeepsEmptyEventType,
        Deviation::AsyncSseBomOnAnyLine,
        Deviation::AsyncSseRejectsInvalidUtf8,
        Deviation::AsyncSseRetryKeepsLeadingSpace,
        Deviation::AsyncSseIgnoresEventIdWithoutColon,
        Deviation::AsyncSseKeepsEmptyEventType,
        Deviation::AsyncSseRetryInSeconds,
        Deviation::AsyncSsePanicsOnHugeRetry,
        Deviation::AsyncSseSplitCrLfIsTwoLines,
        Deviation::AsyncSseReadsUnterminatedLine,
        Deviation::SseStream02EncoderDataNotSplit,
        Deviation::SseStream02EncoderFieldsNotChecked,
        Deviation::SseCodecEncoderDataByStrLines,
        Deviation::SseCodecEncoderFieldsNotChecked,
        Deviation::AsyncSseEncoderDataByStrLines,
        Deviation::AsyncSseEncoderNoSpaceAfterColon,
        Deviation::AsyncSseEncoderFieldsNotChecked,
        Deviation::AsyncSseEncoderRetryInSeconds,
        Deviation::AxumPanicsOnInvalidField,
        Deviation::AxumCrLfDataDoubled,
        Deviation::AxumEmptyDataNoEvent,
    ];

    /// The peer crate this deviation is in.
    pub fn peer(self) -> Peer {
        use Deviation::*;
        match self {
            SseStream02RejectsLineWithoutColon
            | SseStream02RejectsUnknownField
            | SseStream02RejectsRepeatedField
            | SseStream02RejectsInvalidRetry
            | SseStream02LenientRetry
            | SseStream02RejectsInvalidUtf8
            | SseStream02EncoderDataNotSplit
            | SseStream02EncoderFieldsNotChecked => Peer::SseStream02,
            SseStream03RejectsInvalidUtf8 | SseStream03IgnoresRetryOverflow => Peer::SseStream03,
            EventsourceStreamPanicsOnLeadingBom
            | EventsourceStreamStallsOnInvalidUtf8
            | EventsourceStreamFinalCrPending
            | EventsourceStreamDropsRetryWithoutEvent
            | EventsourceStreamRetryFromStr => Peer::EventsourceStream,
            SseCodecBomOnAnyLine
            | SseCodecRejectsInvalidUtf8
            | SseCodecRetryKeepsLeadingSpace
            | SseCodecIgnoresEventIdWithoutColon
            | SseCodecKeepsEmptyEventType
            | SseCodecEncoderDataByStrLines
            | SseCodecEncoderFieldsNotChecked => Peer::SseCodec,
            AsyncSseBomOnAnyLine
            | AsyncSseRejectsInvalidUtf8
            | AsyncSseRetryKeepsLeadingSpace
            | AsyncSseIgnoresEventIdWithoutColon
            | AsyncSseKeepsEmptyEventType
            | AsyncSseRetryInSeconds
            | AsyncSsePanicsOnHugeRetry
            | AsyncSseSplitCrLfIsTwoLines
            | AsyncSseReadsUnterminatedLine
            | AsyncSseEncoderDataByStrLines
            | AsyncSseEncoderNoSpaceAfterColon
            | AsyncSseEncoderFieldsNotChecked
            | AsyncSseEncoderRetryInSeconds => Peer::AsyncSse,
            AxumPanicsOnInvalidField | AxumCrLfDataDoubled | AxumEmptyDataNoEvent => Peer::Axum,
        }
    }

    /// Whether this deviation is in the peer's decoder or its encoder.
    pub fn side(self) -> Side {
        use Deviation::*;
        match self {
            SseStream02EncoderDataNotSplit
            | SseStream02EncoderFieldsNotChecked
            | SseCodecEncoderDataByStrLines
            | SseCodecEncoderFieldsNotChecked
            | AsyncSseEncoderDataByStrLines
            | AsyncSseEncoderNoSpaceAfterColon
            | AsyncSseEncoderFieldsNotChecked
            | AsyncSseEncoderRetryInSeconds
            | AxumPanicsOnInvalidField
            | AxumCrLfDataDoubled
            | AxumEmptyDataNoEvent => Side::Encoder,
            _ => Side::Decoder,
        }
    }

    /// The rules of `docs/sse-rules.md` it breaks.
    pub fn rules(self) -> &'static str {
        use Deviation::*;
        match self {
            SseStream02RejectsLineWithoutColon => "L6",
            SseStream02RejectsUnknownField => "L7, F5",
            SseStream02RejectsRepeatedField => "F5",
            SseStream02RejectsInvalidRetry | SseStream02LenientRetry => "F4",
            SseStream02RejectsInvalidUtf8
            | SseStream03RejectsInvalidUtf8
            | EventsourceStreamStallsOnInvalidUtf8
            | SseCodecRejectsInvalidUtf8
            | AsyncSseRejectsInvalidUtf8 => "D3",
            SseStream03IgnoresRetryOverflow => "F4 (overflow is the implementation's choice)",
            EventsourceStreamPanicsOnLeadingBom => "D2",
            EventsourceStreamFinalCrPending => "L1, L2",
            EventsourceStreamDropsRetryWithoutEvent | EventsourceStreamRetryFromStr => "F4",
            SseCodecBomOnAnyLine | AsyncSseBomOnAnyLine => "D2",
            SseCodecRetryKeepsLeadingSpace | AsyncSseRetryKeepsLeadingSpace => "L5, F4",
            SseCodecIgnoresEventIdWithoutColon | AsyncSseIgnoresEventIdWithoutColon => "L6",
            SseCodecKeepsEmptyEventType | AsyncSseKeepsEmptyEventType => "P4",
            AsyncSseRetryInSeconds | AsyncSsePanicsOnHugeRetry => "F4",
            AsyncSseSplitCrLfIsTwoLines => "L2",
            AsyncSseReadsUnterminatedLine => "L1, P6",
            SseStream02EncoderDataNotSplit => "E1",
            SseStream02EncoderFieldsNotChecked
            | SseCodecEncoderFieldsNotChecked
            | AsyncSseEncoderFieldsNotChecked
            | AxumPanicsOnInvalidField => "E3",
            SseCodecEncoderDataByStrLines | AsyncSseEncoderDataByStrLines => "E1, E2",
            AsyncSseEncoderNoSpaceAfterColon | AxumCrLfDataDoubled => "E1",
            AsyncSseEncoderRetryInSeconds => "E4",
            AxumEmptyDataNoEvent => "E2",
        }
    }

    /// Turns on this deviation's switch (decoder deviations only).
    pub(crate) fn apply(self, model: &mut Model) {
        use Deviation::*;
        match self {
            SseStream02RejectsLineWithoutColon => model.reject_line_without_colon = true,
            SseStream02RejectsUnknownField => model.reject_unknown_field = true,
            SseStream02RejectsRepeatedField => model.reject_repeated_field = true,
            // Both are the one parse, `trim_ascii().parse::<u64>()`.
            SseStream02RejectsInvalidRetry | SseStream02LenientRetry => {
                model.retry = RetryRule::TrimmedOrError;
            }
            SseStream02RejectsInvalidUtf8 | SseStream03RejectsInvalidUtf8 => {
                model.utf8 = Utf8Rule::ErrorInFieldValue;
            }
            SseStream03IgnoresRetryOverflow => model.retry = RetryRule::IgnoreOverflow,
            EventsourceStreamPanicsOnLeadingBom => model.panic_on_leading_bom = true,
            EventsourceStreamStallsOnInvalidUtf8 => model.utf8 = Utf8Rule::Stall,
            EventsourceStreamFinalCrPending => model.final_cr_pending = true,
            EventsourceStreamDropsRetryWithoutEvent => model.retry_only_with_event = true,
            EventsourceStreamRetryFromStr => model.retry = RetryRule::FromStr,
            SseCodecBomOnAnyLine | AsyncSseBomOnAnyLine => model.bom_on_any_line = true,
            SseCodecRejectsInvalidUtf8 | AsyncSseRejectsInvalidUtf8 => {
                model.utf8 = Utf8Rule::ErrorOnAnyLine;
            }
            SseCodecRetryKeepsLeadingSpace | AsyncSseRetryKeepsLeadingSpace => {
                model.retry = RetryRule::RawDigits;
            }
            SseCodecIgnoresEventIdWithoutColon | AsyncSseIgnoresEventIdWithoutColon => {
                model.ignore_event_id_without_colon = true;
            }
            SseCodecKeepsEmptyEventType | AsyncSseKeepsEmptyEventType => {
                model.keep_empty_event_type = true;
            }
            AsyncSseRetryInSeconds => model.retry_in_seconds = true,
            AsyncSsePanicsOnHugeRetry => {
                model.retry_in_seconds = true;
                model.panic_on_huge_retry = true;
            }
            AsyncSseSplitCrLfIsTwoLines => model.split_crlf_is_two_lines = true,
            AsyncSseReadsUnterminatedLine => model.read_unterminated_line = true,
            _ => {}
        }
    }

    /// The failures this deviation explains when `peer` encodes `values` (encoder deviations
    /// only); empty when the values do not trigger it.
    pub fn explains(self, values: &Values) -> Failures {
        use Deviation::*;
        let injection = Failures::INJECTION;
        let fields_unchecked = values.invalid_event() || values.invalid_id();
        let triggered = |condition: bool, failures: Failures| {
            if condition {
                failures
            } else {
                Failures::NONE
            }
        };
        match self {
            SseStream02EncoderDataNotSplit => {
                triggered(values.data.contains(['\r', '\n']), injection)
            }
            SseStream02EncoderFieldsNotChecked
            | SseCodecEncoderFieldsNotChecked
            | AsyncSseEncoderFieldsNotChecked => {
                triggered(fields_unchecked, injection.with(Failure::AcceptedInvalid))
            }
            SseCodecEncoderDataByStrLines | AsyncSseEncoderDataByStrLines => {
                triggered(str_lines_lose_data(&values.data), injection)
            }
            AsyncSseEncoderNoSpaceAfterColon => triggered(
                values.data.split('\n').any(|line| line.starts_with(' '))
                    || values.event.as_deref().is_some_and(|e| e.starts_with(' '))
                    || values.id.as_deref().is_some_and(|i| i.starts_with(' ')),
                Failures::NONE
                    .with(Failure::DataChanged)
                    .with(Failure::TypeChanged)
                    .with(Failure::IdChanged),
            ),
            AsyncSseEncoderRetryInSeconds => triggered(
                values.retry.is_some_and(|retry| retry > 0),
                Failures::NONE.with(Failure::RetryChanged),
            ),
            AxumPanicsOnInvalidField => triggered(
                fields_unchecked || values.invalid_comment(),
                Failures::NONE.with(Failure::Panicked),
            ),
            AxumCrLfDataDoubled => triggered(
                values.data.contains("\r\n"),
                Failures::NONE.with(Failure::DataChanged),
            ),
            AxumEmptyDataNoEvent => triggered(
                values.data.is_empty(),
                Failures::NONE.with(Failure::EventCount),
            ),
            _ => Failures::NONE,
        }
    }
}

/// Whether writing `data` as `data:` lines from `str::lines` loses or breaks it: `lines` yields
/// nothing for "", drops a final line break, and does not split at a CR without LF.
fn str_lines_lose_data(data: &str) -> bool {
    let lone_cr = data
        .bytes()
        .zip(data.bytes().skip(1).map(Some).chain([None]))
        .any(|(byte, next)| byte == b'\r' && next != Some(b'\n'));
    data.is_empty() || data.ends_with('\n') || lone_cr
}

impl Peer {
    /// The peer's known deviations on `side`.
    pub fn known(self, side: Side) -> impl Iterator<Item = Deviation> {
        Deviation::ALL
            .iter()
            .copied()
            .filter(move |deviation| deviation.peer() == self && deviation.side() == side)
    }

    /// The model of this peer's decoder: its shape, with `deviations` switched on.
    pub fn model(self, deviations: impl IntoIterator<Item = Deviation>) -> Model {
        let mut model = Model {
            attach_retry: self == Peer::EventsourceStream,
            ..Model::default()
        };
        for deviation in deviations {
            deviation.apply(&mut model);
        }
        model
    }
}
