//! Driving the peer decoders synchronously over chunks, and predicting their output.
//!
//! Every peer reads from a source that returns `Poll::Pending` once before each chunk, as a
//! socket would between reads (the h2 fuzz target's trick). Polled with a no-op waker, a peer
//! thus returns `Pending` exactly when it has reported everything the chunks so far complete,
//! which also lets us collect what sse-stream 0.2 still queues after an error.

use std::cell::Cell;
use std::convert::Infallible;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::task::{Context, Poll, Waker};

use futures_util::Stream;

use crate::sse::Event;

use super::prediction::{self, Block, End, Item, Model, Outcome, PeerError};
use super::{Input, Peer};

/// What `model` predicts `peer` reports for `input`.
pub fn expect(peer: Peer, input: &Input<'_>, model: &Model) -> Outcome {
    match peer {
        Peer::SseStream02 | Peer::SseStream03 => prediction::blocks(&input.script, model),
        _ => prediction::browser(input, model),
    }
}

/// Runs the decoder of `peer`, one of [`Peer::DECODERS`], over the chunks of `input`. A panic in
/// the peer ends the outcome with [`End::Panic`] (under libFuzzer, whose panic hook aborts, it
/// ends the run instead).
pub fn run(peer: Peer, input: &Input<'_>) -> Outcome {
    let chunks = &input.chunks[..];
    let mut items = Vec::new();
    let end = catch_unwind(AssertUnwindSafe(|| match peer {
        Peer::SseStream02 => sse_stream_02(chunks, &mut items),
        Peer::SseStream03 => sse_stream_03(chunks, &mut items),
        Peer::EventsourceStream => eventsource_stream(chunks, &mut items),
        Peer::SseCodec => sse_codec(chunks, &mut items),
        Peer::AsyncSse => async_sse(chunks, &mut items),
        Peer::Axum => unreachable!("axum has no SSE decoder"),
    }))
    .unwrap_or(End::Panic);
    Outcome { items, end }
}

/// Hands out one chunk per poll, after a `Pending`; counts the `Pending`s it returns.
struct Chunks<'a> {
    chunks: &'a [&'a [u8]],
    next: usize,
    primed: bool,
    pendings: &'a Cell<usize>,
}

impl<'a> Chunks<'a> {
    fn new(chunks: &'a [&'a [u8]], pendings: &'a Cell<usize>) -> Self {
        Chunks {
            chunks,
            next: 0,
            primed: false,
            pendings,
        }
    }
}

impl<'a> Stream for Chunks<'a> {
    type Item = Result<&'a [u8], Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let Some(&chunk) = self.chunks.get(self.next) else {
            return Poll::Ready(None);
        };
        if !self.primed {
            self.primed = true;
            self.pendings.set(self.pendings.get() + 1);
            return Poll::Pending;
        }
        self.primed = false;
        self.next += 1;
        Poll::Ready(Some(Ok(chunk)))
    }
}

/// Polls a peer's stream to its end, or to its first error and then to the next `Pending` (the
/// items it still queued from the chunk that failed). `pendings` counts the source's `Pending`s:
/// a peer that returns more of them than its source did would hang, and ends in
/// [`End::Stalled`].
fn drain<S, T, E>(
    mut stream: Pin<&mut S>,
    pendings: &Cell<usize>,
    items: &mut Vec<Item>,
    item: impl Fn(T) -> Item,
    error: impl Fn(E) -> PeerError,
) -> End
where
    S: Stream<Item = Result<T, E>>,
{
    let mut cx = Context::from_waker(Waker::noop());
    let mut failed = None;
    let mut seen_pendings = 0;
    loop {
        match stream.as_mut().poll_next(&mut cx) {
            Poll::Ready(Some(Ok(next))) => items.push(item(next)),
            Poll::Ready(Some(Err(e))) if failed.is_none() => failed = Some(error(e)),
            Poll::Ready(Some(Err(_)) | None) => break,
            Poll::Pending => {
                seen_pendings += 1;
                if seen_pendings > pendings.get() {
                    return End::Stalled;
                }
                if failed.is_some() {
                    break;
                }
            }
        }
    }
    failed.map_or(End::Clean, End::Error)
}

fn sse_stream_02(chunks: &[&[u8]], items: &mut Vec<Item>) -> End {
    use sse_stream_02::Error;
    let pendings = Cell::new(0);
    let stream = pin!(sse_stream_02::SseStream::from_bytes_stream(Chunks::new(
        chunks, &pendings
    )));
    let block = |sse: sse_stream_02::Sse| {
        Item::Block(Block {
            event: sse.event,
            data: sse.data,
            id: sse.id,
            retry: sse.retry,
        })
    };
    let error = |error: Error| match error {
        Error::InvalidLine => PeerError::InvalidLine,
        Error::DuplicatedEventLine | Error::DuplicatedIdLine | Error::DuplicatedRetry => {
            PeerError::RepeatedField
        }
        Error::Utf8Parse(_) => PeerError::InvalidUtf8,
        Error::IntParse(_) => PeerError::InvalidRetry,
        Error::Body(error) => PeerError::Other(error.to_string()),
    };
    drain(stream, &pendings, items, block, error)
}

fn sse_stream_03(chunks: &[&[u8]], items: &mut Vec<Item>) -> End {
    let pendings = Cell::new(0);
    let stream = pin!(sse_stream::SseByteStream::new(Chunks::new(
        chunks, &pendings
    )));
    let block = |sse: sse_stream::Sse| {
        Item::Block(Block {
            event: sse.event,
            data: sse.data,
            id: sse.id,
            retry: sse.retry,
        })
    };
    let error = |error: sse_stream::Error| match error {
        sse_stream::Error::Utf8Parse(_) => PeerError::InvalidUtf8,
        other => PeerError::Other(other.to_string()),
    };
    drain(stream, &pendings, items, block, error)
}

fn eventsource_stream(chunks: &[&[u8]], items: &mut Vec<Item>) -> End {
    use eventsource_stream::EventStreamError;
    let pendings = Cell::new(0);
    let stream = pin!(eventsource_stream::EventStream::new(Chunks::new(
        chunks, &pendings
    )));
    let event = |event: eventsource_stream::Event| Item::Event {
        event: Event {
            event_type: event.event,
            data: event.data,
            last_event_id: event.id,
        },
        retry: event.retry,
    };
    let error = |error: EventStreamError<Infallible>| match error {
        EventStreamError::Utf8(_) => PeerError::InvalidUtf8,
        EventStreamError::Parser(error) => PeerError::Other(error.to_string()),
        EventStreamError::Transport(never) => match never {},
    };
    drain(stream, &pendings, items, event, error)
}

/// sse-codec's `Decoder` is called directly on a growing buffer, as `FramedRead` does.
fn sse_codec(chunks: &[&[u8]], items: &mut Vec<Item>) -> End {
    use futures_codec::Decoder as _;
    let mut codec = sse_codec::SSECodec::default();
    let mut buffer = bytes::BytesMut::new();
    let item = |event: sse_codec::Event| match event {
        sse_codec::Event::Message { id, event, data } => Item::Event {
            event: Event {
                event_type: event,
                data,
                last_event_id: id.unwrap_or_default(),
            },
            retry: None,
        },
        sse_codec::Event::Retry { retry } => Item::Retry(std::time::Duration::from_millis(retry)),
    };
    for chunk in chunks {
        buffer.extend_from_slice(chunk);
        loop {
            match codec.decode(&mut buffer) {
                Ok(Some(event)) => items.push(item(event)),
                Ok(None) => break,
                Err(sse_codec::Error::Utf8Error(_)) => return End::Error(PeerError::InvalidUtf8),
                Err(error) => return End::Error(PeerError::Other(error.to_string())),
            }
        }
    }
    match codec.decode_eof(&mut buffer) {
        Ok(event) => {
            items.extend(event.map(item));
            End::Clean
        }
        Err(error) => End::Error(PeerError::Other(error.to_string())),
    }
}

/// An `AsyncBufRead` over the chunks that returns `Pending` once before each non-empty chunk
/// (an empty read would mean the end of the stream).
struct ChunkReader<'a> {
    chunks: &'a [&'a [u8]],
    next: usize,
    at: usize,
    primed: bool,
    pendings: &'a Cell<usize>,
}

impl futures_io::AsyncRead for ChunkReader<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        use futures_io::AsyncBufRead;
        let available = match self.as_mut().poll_fill_buf(cx) {
            Poll::Ready(Ok(available)) => available,
            other => return other.map_ok(|_| 0),
        };
        let read = available.len().min(buf.len());
        buf[..read].copy_from_slice(&available[..read]);
        self.consume(read);
        Poll::Ready(Ok(read))
    }
}

impl futures_io::AsyncBufRead for ChunkReader<'_> {
    fn poll_fill_buf(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        while let Some(chunk) = this.chunks.get(this.next) {
            if this.at == chunk.len() {
                this.next += 1;
                this.at = 0;
                this.primed = false;
                continue;
            }
            if !this.primed {
                this.primed = true;
                this.pendings.set(this.pendings.get() + 1);
                return Poll::Pending;
            }
            return Poll::Ready(Ok(&chunk[this.at..]));
        }
        Poll::Ready(Ok(&[]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.get_mut().at += amt;
    }
}

fn async_sse(chunks: &[&[u8]], items: &mut Vec<Item>) -> End {
    let pendings = Cell::new(0);
    let reader = ChunkReader {
        chunks,
        next: 0,
        at: 0,
        primed: false,
        pendings: &pendings,
    };
    let stream = pin!(async_sse::decode(reader));
    let item = |event: async_sse::Event| match event {
        async_sse::Event::Message(message) => Item::Event {
            event: Event {
                event_type: message.name().clone(),
                data: String::from_utf8_lossy(message.data()).into_owned(),
                last_event_id: message.id().clone().unwrap_or_default(),
            },
            retry: None,
        },
        async_sse::Event::Retry(retry) => Item::Retry(retry),
    };
    // The error type is http-types', which async-sse does not re-export: inferred here.
    drain(stream, &pendings, items, item, |error| {
        match error.downcast_ref::<io::Error>().map(io::Error::kind) {
            Some(io::ErrorKind::InvalidData) => PeerError::InvalidUtf8,
            _ => PeerError::Other(error.to_string()),
        }
    })
}
