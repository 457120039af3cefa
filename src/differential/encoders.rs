//! Peer encoders, and what the reference decoder makes of their output.
//!
//! A safe encoder turns untrusted values into exactly one event whose data is the input after
//! CR/CRLF normalisation (E1, E2), and refuses (or sanitises) an `event`, `id` or comment that
//! would end its line (E3, E4). [`check`] decodes what a peer wrote with the reference
//! [`crate::sse::Decoder`] and [`crate::sse::RawDecoder`] and names every way it falls short.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use arbitrary::Arbitrary;

use crate::input::Untrusted;
use crate::sse::{decode_chunks, Decoder, Event, Limits, RawDecoder, RawItem, Record, RecordRef};

use super::Peer;

/// The input of `encoder_differential`: untrusted values for one frame.
#[derive(Debug, Clone, Arbitrary)]
pub struct EncoderInput {
    /// The event's data.
    pub data: Untrusted,
    /// The event type, or None to leave the `event` field out.
    pub event: Option<Untrusted>,
    /// The last-event-ID, or None to leave the `id` field out.
    pub id: Option<Untrusted>,
    /// A comment line, or None for none; only axum's encoder can write one.
    pub comment: Option<Untrusted>,
    /// The reconnection time in milliseconds, or None to leave the `retry` field out.
    pub retry: Option<u64>,
}

/// The values of one frame, as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    /// The event's data, rendered.
    pub data: String,
    /// The event type, or None when the frame has no `event` field.
    pub event: Option<String>,
    /// The last-event-ID, or None when the frame has no `id` field.
    pub id: Option<String>,
    /// The comment, or None when the frame has none.
    pub comment: Option<String>,
    /// The reconnection time in milliseconds, or None when the frame has no `retry` field.
    pub retry: Option<u64>,
}

impl EncoderInput {
    /// The pieces rendered as text, field by field.
    pub fn render(&self) -> Values {
        Values {
            data: self.data.render(),
            event: self.event.as_ref().map(Untrusted::render),
            id: self.id.as_ref().map(Untrusted::render),
            comment: self.comment.as_ref().map(Untrusted::render),
            retry: self.retry,
        }
    }
}

impl Values {
    /// The values `peer` can carry; a field its API lacks is dropped.
    pub fn for_peer(&self, peer: Peer) -> Values {
        Values {
            comment: self.comment.clone().filter(|_| peer == Peer::Axum),
            ..self.clone()
        }
    }

    /// An `event` that would end its line (E3).
    pub fn invalid_event(&self) -> bool {
        self.event
            .as_deref()
            .is_some_and(|e| e.contains(['\r', '\n']))
    }

    /// An `id` that would end its line or be ignored for its NUL (E3, F3).
    pub fn invalid_id(&self) -> bool {
        self.id
            .as_deref()
            .is_some_and(|i| i.contains(['\r', '\n', '\0']))
    }

    /// A comment that would end its line (E4).
    pub fn invalid_comment(&self) -> bool {
        self.comment
            .as_deref()
            .is_some_and(|c| c.contains(['\r', '\n']))
    }

    /// The one event a safe encoding decodes to (E1): data with CRLF and CR turned into LF.
    pub fn expected_event(&self) -> Event {
        Event {
            event_type: self
                .event
                .clone()
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| "message".to_owned()),
            data: self.data.replace("\r\n", "\n").replace('\r', "\n"),
            last_event_id: self.id.clone().unwrap_or_default(),
        }
    }

    /// What decoding a safe encoding yields: the retry, if any, then [`Values::expected_event`].
    pub fn expected(&self) -> Vec<Record> {
        let retry = self.retry.map(|retry| Record::Retry { retry });
        retry
            .into_iter()
            .chain([Record::Event(self.expected_event())])
            .collect()
    }
}

/// What an encoder did with the values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encoded {
    /// The bytes it wrote, in full.
    Bytes(Vec<u8>),
    /// It returned an error value.
    Refused(String),
    /// It panicked, and the panic was caught.
    Panicked,
    /// Its output was pending with nothing left to wait for: it would never end.
    Stalled,
}

/// One way an encoding falls short of E1 to E4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The encoder panicked instead of returning an error value (E3).
    Panicked,
    /// The encoder's output never ended.
    Stalled,
    /// Valid values were refused.
    RefusedValid,
    /// An `event`, `id` or comment that would end its line was written (E3, E4).
    AcceptedInvalid,
    /// A line the frame did not ask for: an unknown field or a repeated one (E1, E3).
    ExtraField,
    /// Not exactly one event (E1, E2).
    EventCount,
    /// The event's data is not the input's, normalised (E1).
    DataChanged,
    /// The event's type is not the input's (E3, F1, P4).
    TypeChanged,
    /// The event's last-event-ID is not the input's (E3, F3).
    IdChanged,
    /// The retry records are not the input's (E4, F4).
    RetryChanged,
}

impl Failure {
    const ALL: [Failure; 10] = [
        Failure::Panicked,
        Failure::Stalled,
        Failure::RefusedValid,
        Failure::AcceptedInvalid,
        Failure::ExtraField,
        Failure::EventCount,
        Failure::DataChanged,
        Failure::TypeChanged,
        Failure::IdChanged,
        Failure::RetryChanged,
    ];

    fn bit(self) -> u16 {
        1 << self as u16
    }

    /// The rules of `docs/sse-rules.md` that this failure breaks.
    pub fn rules(self) -> &'static str {
        match self {
            Failure::Panicked => "E3",
            Failure::Stalled => "E1",
            Failure::RefusedValid => "E1",
            Failure::AcceptedInvalid => "E3, E4",
            Failure::ExtraField => "E1, E3",
            Failure::EventCount => "E1, E2",
            Failure::DataChanged => "E1",
            Failure::TypeChanged => "E3, F1",
            Failure::IdChanged => "E3, F3",
            Failure::RetryChanged => "E4, F4",
        }
    }
}

/// A set of [`Failure`]s.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures(u16);

impl Failures {
    /// The empty set.
    pub const NONE: Failures = Failures(0);
    /// What a value written without escaping can do to the decoded frame.
    pub const INJECTION: Failures = Failures(
        1 << Failure::ExtraField as u16
            | 1 << Failure::EventCount as u16
            | 1 << Failure::DataChanged as u16
            | 1 << Failure::TypeChanged as u16
            | 1 << Failure::IdChanged as u16
            | 1 << Failure::RetryChanged as u16,
    );

    /// This set with `failure` added.
    pub fn with(self, failure: Failure) -> Failures {
        Failures(self.0 | failure.bit())
    }

    /// Every failure in either set.
    pub fn union(self, other: Failures) -> Failures {
        Failures(self.0 | other.0)
    }

    /// Whether `failure` is in the set.
    pub fn contains(self, failure: Failure) -> bool {
        self.0 & failure.bit() != 0
    }

    /// Whether every failure in this set is also in `of`.
    pub fn is_subset(self, of: Failures) -> bool {
        self.0 & !of.0 == 0
    }

    /// Whether the set holds no failure.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The failures in the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Failure> {
        Failure::ALL
            .into_iter()
            .filter(move |failure| self.contains(*failure))
    }
}

impl fmt::Debug for Failures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Encodes `values` (already restricted with [`Values::for_peer`]) with the encoder of `peer`,
/// one of [`Peer::ENCODERS`]. A panic is caught, but under libFuzzer its panic hook aborts
/// first: the fuzz target calls this only where no known deviation predicts a panic.
pub fn encode(peer: Peer, values: &Values) -> Encoded {
    catch_unwind(AssertUnwindSafe(|| match peer {
        Peer::SseStream02 => Encoded::Bytes(sse_stream_02(values)),
        Peer::SseStream03 => sse_stream_03(values),
        Peer::SseCodec => sse_codec(values),
        Peer::AsyncSse => async_sse(values),
        Peer::Axum => axum(values),
        Peer::EventsourceStream => unreachable!("eventsource-stream has no encoder"),
    }))
    .unwrap_or(Encoded::Panicked)
}

/// Every way `encoded` falls short for `values`.
///
/// The reference decoders lend what they decode and it is judged as lent: nothing is copied
/// out ([`decoded`] gives the records, for a report).
pub fn check(values: &Values, encoded: &Encoded) -> Failures {
    let invalid = values.invalid_event() || values.invalid_id() || values.invalid_comment();
    let bytes = match encoded {
        Encoded::Panicked => return Failures::NONE.with(Failure::Panicked),
        Encoded::Stalled => return Failures::NONE.with(Failure::Stalled),
        Encoded::Refused(_) if invalid => return Failures::NONE,
        Encoded::Refused(_) => return Failures::NONE.with(Failure::RefusedValid),
        Encoded::Bytes(bytes) => bytes,
    };
    let mut failures = Failures::NONE;
    if invalid {
        failures = failures.with(Failure::AcceptedInvalid);
    }
    let want = values.expected_event();
    let (mut retries, mut first_retry) = (0, None);
    let (mut events, mut first_event) = (0, Failures::NONE);
    let mut sink = |record: RecordRef<'_>| match record {
        RecordRef::Retry(retry) => {
            retries += 1;
            first_retry = first_retry.or(Some(retry));
        }
        RecordRef::Event(got) => {
            events += 1;
            if events == 1 {
                for (differs, failure) in [
                    (got.data != want.data, Failure::DataChanged),
                    (got.event_type != want.event_type, Failure::TypeChanged),
                    (got.last_event_id != want.last_event_id, Failure::IdChanged),
                ] {
                    if differs {
                        first_event = first_event.with(failure);
                    }
                }
            }
        }
    };
    // Encoded frames are far below the default limits; past them, what was decoded is judged.
    let _ = Decoder::new(Limits::default()).feed(bytes, &mut sink);
    let retries_kept = match values.retry {
        None => retries == 0,
        Some(retry) => retries == 1 && first_retry == Some(retry),
    };
    if !retries_kept {
        failures = failures.with(Failure::RetryChanged);
    }
    failures = match events {
        1 => failures.union(first_event),
        _ => failures.with(Failure::EventCount),
    };
    if has_extra_line(values, bytes) {
        failures = failures.with(Failure::ExtraField);
    }
    failures
}

/// The records the reference decodes from `encoded` (none unless it wrote bytes).
pub fn decoded(encoded: &Encoded) -> Vec<Record> {
    match encoded {
        Encoded::Bytes(bytes) => {
            decode_chunks([&bytes[..]], Limits::default()).unwrap_or_else(|(r, _)| r)
        }
        _ => Vec::new(),
    }
}

/// Whether the raw view of `bytes` holds a line the frame did not ask for. Only blocks that a
/// blank line completed count, as in the owned view.
fn has_extra_line(values: &Values, bytes: &[u8]) -> bool {
    /// Lines per kind: `event`, `id`, `retry`, comments.
    type Counts = [usize; 4];
    let (mut done, mut block): (Counts, Counts) = Default::default();
    let (mut unknown, mut block_unknown) = (false, false);
    let mut decoder = RawDecoder::new(Limits::default());
    // As in `check`: past the limits, the blocks decoded so far are judged.
    let _ = decoder.feed_lent(bytes, &mut |item| match item {
        RawItem::Comment(_) => block[3] += 1,
        RawItem::Field { name, .. } => match name {
            b"data" => {}
            b"event" => block[0] += 1,
            b"id" => block[1] += 1,
            b"retry" => block[2] += 1,
            _ => block_unknown = true,
        },
        RawItem::End => {
            for (total, count) in done.iter_mut().zip(std::mem::take(&mut block)) {
                *total += count;
            }
            unknown |= std::mem::take(&mut block_unknown);
        }
    });
    let asked = [
        values.event.is_some(),
        values.id.is_some(),
        values.retry.is_some(),
        values.comment.is_some(),
    ];
    unknown
        || done
            .iter()
            .zip(asked)
            .any(|(&count, asked)| count > usize::from(asked))
}

fn sse_stream_02(values: &Values) -> Vec<u8> {
    let sse = sse_stream_02::Sse {
        event: values.event.clone(),
        data: Some(values.data.clone()),
        id: values.id.clone(),
        retry: values.retry,
    };
    bytes::Bytes::from(sse).to_vec()
}

fn sse_stream_03(values: &Values) -> Encoded {
    let sse = sse_stream::Sse {
        event: values.event.clone(),
        data: Some(values.data.clone()),
        id: values.id.clone(),
        retry: values.retry,
    };
    match sse.encode() {
        Ok(bytes) => Encoded::Bytes(bytes.to_vec()),
        Err(error) => Encoded::Refused(error.to_string()),
    }
}

/// sse-codec writes a retry as a frame of its own, as its `Event::Retry` is one.
fn sse_codec(values: &Values) -> Encoded {
    use futures_codec::Encoder as _;
    let mut codec = sse_codec::SSECodec::default();
    let mut out = bytes::BytesMut::new();
    let retry = values.retry.map(|retry| sse_codec::Event::Retry { retry });
    let message = sse_codec::Event::Message {
        id: values.id.clone(),
        event: values.event.clone().unwrap_or_else(|| "message".to_owned()),
        data: values.data.clone(),
    };
    for event in retry.into_iter().chain([message]) {
        if let Err(error) = codec.encode(event, &mut out) {
            return Encoded::Refused(error.to_string());
        }
    }
    Encoded::Bytes(out.to_vec())
}

/// async-sse writes through a channel of capacity one; the sending future and the reader are
/// polled in turn until the sender is done and dropped and the reader reaches its end.
fn async_sse(values: &Values) -> Encoded {
    use futures_io::AsyncBufRead;
    let (sender, mut reader) = async_sse::encode();
    let send = async move {
        if let Some(retry) = values.retry {
            sender
                .send_retry(Duration::from_millis(retry), None)
                .await?;
        }
        sender
            .send(values.event.as_deref(), &values.data, values.id.as_deref())
            .await?;
        drop(sender);
        Ok::<(), io::Error>(())
    };
    let mut send = pin!(send);
    let mut sent = None;
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Vec::new();
    loop {
        let mut progress = false;
        if sent.is_none() {
            if let Poll::Ready(result) = send.as_mut().poll(&mut cx) {
                sent = Some(result);
                progress = true;
            }
        }
        match Pin::new(&mut reader).poll_fill_buf(&mut cx) {
            Poll::Ready(Ok([])) => break,
            Poll::Ready(Ok(buf)) => {
                out.extend_from_slice(buf);
                let read = buf.len();
                Pin::new(&mut reader).consume(read);
                progress = true;
            }
            Poll::Ready(Err(error)) => return Encoded::Refused(error.to_string()),
            Poll::Pending => {}
        }
        if !progress {
            return Encoded::Stalled;
        }
    }
    match sent {
        Some(Err(error)) => Encoded::Refused(error.to_string()),
        _ => Encoded::Bytes(out),
    }
}

/// axum writes the event as the body of an `Sse` response, read here frame by frame.
fn axum(values: &Values) -> Encoded {
    use axum::body::HttpBody;
    use axum::response::sse::{Event, Sse};
    use axum::response::IntoResponse;
    let mut event = Event::default();
    if let Some(comment) = &values.comment {
        event = event.comment(comment);
    }
    if let Some(name) = &values.event {
        event = event.event(name);
    }
    if let Some(id) = &values.id {
        event = event.id(id);
    }
    if let Some(retry) = values.retry {
        event = event.retry(Duration::from_millis(retry));
    }
    let event = event.data(&values.data);
    let response = Sse::new(futures_util::stream::iter([Ok::<_, Infallible>(event)]));
    let mut body = response.into_response().into_body();
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Vec::new();
    loop {
        match Pin::new(&mut body).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    out.extend_from_slice(&data);
                }
            }
            Poll::Ready(Some(Err(error))) => return Encoded::Refused(error.to_string()),
            Poll::Ready(None) => return Encoded::Bytes(out),
            Poll::Pending => return Encoded::Stalled,
        }
    }
}
