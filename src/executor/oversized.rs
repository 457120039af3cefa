//! Request bodies past the limit, made while they are sent: a `tools/call` whose text
//! argument is filler, eight times the policy's `max_request_bytes` once decoded.
//!
//! Invariant: the client never holds the decoded bytes of a body, except the one giant chunk
//! of [`Oversize::OneChunk`], which is a single frame by definition (made for its request and
//! freed with it). A compression bomb is deflated from the filler as it is generated, so the
//! client holds only its compressed bytes (about a thousandth of the inflated size).
//!
//! Every oversized body of one tool and size is the same bytes (its JSON-RPC id is
//! [`OVERSIZED_ID`], never one of the run's own), so each thread compresses a bomb once and
//! keeps it, and the giant chunk of an in-process limit too ([`KEPT`]).

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use http_body::Frame;

use crate::adapter::RequestBody;
use crate::scenario::Oversize;

/// How many times the limit an oversized body holds once decoded.
pub const OVERSIZE_FACTOR: u64 = 8;

/// The least an oversized body holds once decoded (8 MiB), however small the limit: what a
/// correct server holds while it refuses (its buffers, a decoder's window and state, some
/// 100 KiB at most) stays far below half of it, and a server that holds it all must take
/// fresh pages for it, past the freed memory its allocator keeps resident, so that it shows in
/// the resident set from outside.
pub const MIN_OVERSIZE: u64 = 8 << 20;

/// The most a bomb inflates to, in limits (deflate reaches about 1000:1 on its filler): its
/// compressed bytes stay under the limit, so that a server's limit on the bytes it reads never
/// refuses it before it is inflated.
const BOMB_RATIO: u64 = 512;

/// The largest frame of a body sent in chunks.
const CHUNK: usize = 64 << 10;

/// The JSON-RPC id of every oversized request: 2^53 - 1, the largest integer a JavaScript
/// server reads exactly, far above the ids a run counts up to.
pub(super) const OVERSIZED_ID: u64 = (1 << 53) - 1;

/// The most bodies a thread keeps (bombs of a few KiB, or about 33 KiB for a 4 MiB limit; giant
/// chunks of [`MIN_OVERSIZE`]).
const KEPT_BODIES: usize = 16;

/// The largest giant chunk a thread keeps (that of the default 4 MiB limit, 32 MiB): larger
/// ones are made for their request and freed with it.
const KEPT_CHUNK_BYTES: u64 = OVERSIZE_FACTOR * crate::trace::DEFAULT_MAX_REQUEST_BYTES;

thread_local! {
    /// The bodies this thread made once and sends again: compressed bombs, and giant chunks up
    /// to [`KEPT_CHUNK_BYTES`], by kind, decoded size and tool.
    static KEPT: RefCell<HashMap<(Oversize, u64, String), Bytes>> = RefCell::new(HashMap::new());
}

/// The body of `key`, made by `make` unless this thread kept it.
fn kept(key: (Oversize, u64, String), make: impl FnOnce() -> Bytes) -> Bytes {
    KEPT.with_borrow_mut(|bodies| {
        if bodies.len() >= KEPT_BODIES && !bodies.contains_key(&key) {
            bodies.clear();
        }
        bodies.entry(key).or_insert_with(make).clone()
    })
}

/// The filler of the text argument.
static FILLER: [u8; CHUNK] = [b'a'; CHUNK];

/// One oversized body, ready to send.
pub(super) struct Oversized {
    /// The request's body: frames arrive as [`Oversized::feed`] sends them.
    pub body: RequestBody,
    /// Sends the frames; it stops when the request's body is dropped.
    pub feed: Pin<Box<dyn Future<Output = ()> + Send>>,
    /// The `Content-Encoding` to send, if the body has one.
    pub encoding: Option<&'static str>,
    /// The `Content-Length` to send, if the body announces its size.
    pub announced: Option<u64>,
    /// Its size once decoded.
    pub decoded_bytes: u64,
    /// Its size on the wire.
    pub wire_bytes: u64,
    /// The bytes [`Oversized::feed`] has handed over so far.
    pub sent: Arc<AtomicU64>,
}

/// A body of `kind` that decodes to [`OVERSIZE_FACTOR`] × `limit` bytes (at least
/// [`MIN_OVERSIZE`], or for a bomb at least the smaller of that and [`BOMB_RATIO`] × `limit`):
/// `prefix`, filler, `suffix`, the text of a call of `tool` split around
/// its text argument.
pub(super) fn oversized(
    kind: Oversize,
    limit: u64,
    tool: &str,
    prefix: &[u8],
    suffix: &[u8],
) -> Oversized {
    let least = match kind {
        Oversize::Gzip | Oversize::Deflate => MIN_OVERSIZE.min(limit.saturating_mul(BOMB_RATIO)),
        Oversize::Sized | Oversize::Chunked | Oversize::OneChunk => MIN_OVERSIZE,
    };
    let decoded_bytes = limit.saturating_mul(OVERSIZE_FACTOR).max(least);
    let filler = decoded_bytes.saturating_sub((prefix.len() + suffix.len()) as u64);
    // At least eight frames, so that a server can refuse before the last of them.
    let chunk = CHUNK
        .min(usize::try_from(decoded_bytes / 8).unwrap_or(CHUNK))
        .max(1);
    let plain = Plain {
        prefix: Bytes::copy_from_slice(prefix),
        filler,
        suffix: Bytes::copy_from_slice(suffix),
        chunk,
    };
    let (frames, encoding, wire_bytes): (Frames, _, _) = match kind {
        Oversize::Sized | Oversize::Chunked => (Box::new(plain.frames()), None, decoded_bytes),
        Oversize::OneChunk => {
            let whole = if decoded_bytes <= KEPT_CHUNK_BYTES {
                kept((kind, decoded_bytes, tool.to_owned()), || plain.whole())
            } else {
                plain.whole()
            };
            (Box::new(std::iter::once(whole)), None, decoded_bytes)
        }
        Oversize::Gzip | Oversize::Deflate => {
            let wire = kept((kind, decoded_bytes, tool.to_owned()), || {
                plain.compressed(kind)
            });
            let len = wire.len() as u64;
            let encoding = if kind == Oversize::Gzip {
                "gzip"
            } else {
                "deflate"
            };
            (Box::new(cut(wire, chunk)), Some(encoding), len)
        }
    };
    let (mut sender, body) = RequestBody::new(1);
    let sent = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&sent);
    let feed = Box::pin(async move {
        for frame in frames {
            let len = frame.len() as u64;
            if sender.send(Frame::data(frame)).await.is_err() {
                return;
            }
            counted.fetch_add(len, Ordering::Relaxed);
        }
    });
    Oversized {
        body,
        feed,
        encoding,
        announced: (kind == Oversize::Sized).then_some(decoded_bytes),
        decoded_bytes,
        wire_bytes,
        sent,
    }
}

type Frames = Box<dyn Iterator<Item = Bytes> + Send>;

/// The decoded body: `prefix`, `filler` bytes of [`FILLER`], `suffix`, in frames of `chunk`.
struct Plain {
    prefix: Bytes,
    filler: u64,
    suffix: Bytes,
    chunk: usize,
}

impl Plain {
    fn frames(&self) -> impl Iterator<Item = Bytes> + Send + 'static {
        let chunk = self.chunk as u64;
        let filler = self.filler;
        let fillers = (0..filler.div_ceil(chunk)).map(move |i| {
            let len = chunk.min(filler - i * chunk) as usize;
            Bytes::from_static(&FILLER[..len])
        });
        std::iter::once(self.prefix.clone())
            .chain(fillers)
            .chain(std::iter::once(self.suffix.clone()))
    }

    /// The whole body in one frame.
    fn whole(&self) -> Bytes {
        let mut whole =
            Vec::with_capacity(self.prefix.len() + self.filler as usize + self.suffix.len());
        for frame in self.frames() {
            whole.extend_from_slice(&frame);
        }
        Bytes::from(whole)
    }

    /// The body in `kind`'s coding (gzip, or zlib for HTTP's `deflate`), compressed one frame
    /// at a time.
    fn compressed(&self, kind: Oversize) -> Bytes {
        let level = Compression::best();
        let written = if kind == Oversize::Gzip {
            let mut encoder = GzEncoder::new(Vec::new(), level);
            self.frames()
                .try_for_each(|frame| encoder.write_all(&frame))
                .and_then(|()| encoder.finish())
        } else {
            let mut encoder = ZlibEncoder::new(Vec::new(), level);
            self.frames()
                .try_for_each(|frame| encoder.write_all(&frame))
                .and_then(|()| encoder.finish())
        };
        // Writing into memory cannot fail.
        Bytes::from(written.unwrap_or_default())
    }
}

/// `wire` in frames of `chunk`.
fn cut(wire: Bytes, chunk: usize) -> impl Iterator<Item = Bytes> + Send {
    (0..wire.len().div_ceil(chunk))
        .map(move |i| wire.slice(i * chunk..wire.len().min((i + 1) * chunk)))
}
