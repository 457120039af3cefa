//! Response bodies: a fixed body, or an SSE stream read from a connection at the caller's pace.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use super::bug::Bug;
use super::shared::Shared;
use super::state::PipeId;

/// The body of every response of the reference server.
///
/// An SSE body yields what its connection's bounded stream releases, when it is polled:
/// nothing is produced for it beyond the high-water mark meanwhile. Dropping it is a client
/// abort: the connection is cancelled and everything it held is released at once (the request
/// itself goes on, into the stream's log, for resumption); under [`Bug::NoCancelCleanup`] the
/// connection is kept instead, until its session ends.
#[derive(Debug)]
pub struct ReferenceBody {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    /// A fixed body, `None` once read (or for an empty body).
    Full(Option<Bytes>),
    Sse(SseBody),
}

impl ReferenceBody {
    pub(crate) fn empty() -> Self {
        Self {
            kind: Kind::Full(None),
        }
    }

    pub(crate) fn full(bytes: Bytes) -> Self {
        Self {
            kind: Kind::Full(Some(bytes).filter(|bytes| !bytes.is_empty())),
        }
    }

    pub(crate) fn sse(shared: Arc<Shared>, pipe: PipeId) -> Self {
        Self {
            kind: Kind::Sse(SseBody {
                shared,
                pipe,
                ended: false,
            }),
        }
    }
}

impl Body for ReferenceBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let bytes = match &mut self.get_mut().kind {
            Kind::Full(bytes) => Poll::Ready(bytes.take()),
            Kind::Sse(sse) => sse.poll(cx),
        };
        bytes.map(|bytes| bytes.map(|bytes| Ok(Frame::data(bytes))))
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Full(bytes) => bytes.is_none(),
            Kind::Sse(sse) => sse.ended,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Kind::Sse(_) => SizeHint::default(),
        }
    }
}

/// The reading end of one connection.
#[derive(Debug)]
struct SseBody {
    shared: Arc<Shared>,
    pipe: PipeId,
    /// The connection has been read to its end and forgotten.
    ended: bool,
}

impl SseBody {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let read = {
            let mut state = self.shared.lock();
            state.read(self.pipe, self.shared.now(), cx.waker())
        };
        if let Poll::Ready(None) = read {
            self.ended = true;
        }
        read
    }
}

impl Drop for SseBody {
    fn drop(&mut self) {
        if !self.ended {
            let mut state = self.shared.lock();
            if self.shared.config.bug == Some(Bug::NoCancelCleanup) {
                state.abandon(self.pipe);
            } else {
                state.forget(self.pipe, self.shared.now());
            }
        }
    }
}
