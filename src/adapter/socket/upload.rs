//! The request body as it goes on the wire.

use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use crate::adapter::{BoxError, RequestBody};

/// The executor's request body, sent frame by frame.
///
/// - A body that has already ended empty when the request is sent (a GET's, a DELETE's) is
///   sent as no body at all: no `Transfer-Encoding`, no `Content-Length`.
/// - Any other body has no exact size, so hyper sends it with `Transfer-Encoding: chunked`,
///   one HTTP chunk per data frame; after each frame the body yields once, so hyper flushes
///   every chunk in its own write (with `TCP_NODELAY`, its own segment) instead of gathering
///   the executor's chunks into one write.
/// - An aborted upload (the channel's error) fails hyper's request, which closes the
///   connection: the server sees a chunked body cut off mid-way, then the end of the
///   connection.
pub(super) enum Upload {
    Empty,
    Chunked {
        /// The frame (or error) taken while finding out whether the body was empty.
        first: Option<Result<Frame<Bytes>, BoxError>>,
        rest: RequestBody,
        /// A data frame went out on the last poll: yield before the next.
        yield_next: bool,
    },
}

impl Upload {
    /// Looks at `body` once without waiting: an ended body becomes [`Upload::Empty`].
    pub(super) fn new(mut body: RequestBody) -> Self {
        let mut cx = Context::from_waker(Waker::noop());
        match Pin::new(&mut body).poll_frame(&mut cx) {
            Poll::Ready(None) => Upload::Empty,
            Poll::Ready(Some(first)) => Upload::Chunked {
                first: Some(first),
                rest: body,
                yield_next: false,
            },
            Poll::Pending => Upload::Chunked {
                first: None,
                rest: body,
                yield_next: false,
            },
        }
    }
}

impl Body for Upload {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let Upload::Chunked {
            first,
            rest,
            yield_next,
        } = self.get_mut()
        else {
            return Poll::Ready(None);
        };
        if *yield_next {
            *yield_next = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let frame = match first.take() {
            Some(frame) => Some(frame),
            None => std::task::ready!(Pin::new(rest).poll_frame(cx)),
        };
        *yield_next = matches!(&frame, Some(Ok(frame)) if frame.is_data());
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Upload::Empty)
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Upload::Empty => SizeHint::with_exact(0),
            Upload::Chunked { .. } => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;

    fn body(chunks: &[&'static str], abort: bool) -> RequestBody {
        let (mut sender, body) = RequestBody::new(chunks.len() + 1);
        for chunk in chunks {
            assert!(sender
                .try_send(Frame::data(Bytes::from_static(chunk.as_bytes())))
                .is_ok());
        }
        if abort {
            sender.abort("aborted".into());
        }
        body
    }

    #[tokio::test]
    async fn an_ended_body_is_no_body() {
        let upload = Upload::new(body(&[], false));
        assert!(upload.is_end_stream());
        assert_eq!(upload.size_hint().exact(), Some(0));
    }

    #[tokio::test]
    async fn frames_pass_one_by_one_and_an_abort_stays_an_error() {
        let mut upload = Upload::new(body(&["ab", "c"], true));
        assert!(!upload.is_end_stream());
        assert_eq!(upload.size_hint().exact(), None);
        let data = |frame: Option<Result<Frame<Bytes>, BoxError>>| {
            frame
                .expect("a frame")
                .expect("data")
                .into_data()
                .expect("data")
        };
        assert_eq!(data(upload.frame().await), "ab");
        assert_eq!(data(upload.frame().await), "c");
        assert!(matches!(upload.frame().await, Some(Err(_))));
    }
}
