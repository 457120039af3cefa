//! The response body as the executor reads it.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

use super::connection::{Connection, Pool};
use super::one_line;
use crate::adapter::BoxError;

/// A response body that owns its connection.
///
/// hyper reads the body from the socket only when the executor asks for a frame, so a body the
/// executor does not read stays in the server's hands (and the kernel's small receive buffer).
/// When the body ends, its connection goes back to the pool; when the executor drops it before
/// its end, or it fails, the connection is closed (a client abort), never pooled half-read.
pub(super) struct Response {
    body: Incoming,
    /// `None` once the connection was let go.
    connection: Option<Connection>,
    pool: Arc<Pool>,
}

impl Response {
    pub(super) fn new(body: Incoming, connection: Connection, pool: Arc<Pool>) -> Self {
        Self {
            body,
            connection: Some(connection),
            pool,
        }
    }

    /// Lets the connection go: back to the pool if the body was read to its end, closed
    /// otherwise.
    fn release(&mut self, ended: bool) {
        if let Some(connection) = self.connection.take() {
            if ended {
                self.pool.put(connection);
            }
        }
    }
}

impl Body for Response {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        match polled {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => {
                self.release(true);
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(error))) => {
                self.release(false);
                Poll::Ready(Some(Err(one_line(&error).into())))
            }
            Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(frame))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Response {
    /// A body whose last byte was read (a sized body taken to its length) counts as ended.
    fn drop(&mut self) {
        let ended = self.body.is_end_stream();
        self.release(ended);
    }
}
