//! Request bodies in a content coding (`identity`, `gzip`, `deflate`), decoded chunk by chunk
//! as they arrive, and never held past a limit.
//!
//! Invariant: with a limit, a [`BodyDecoder`] holds at most `limit` decoded bytes, whatever
//! the ratio of its coding: the bytes that would pass the limit are refused as they are
//! inflated, so a compression bomb costs no more memory than a plain body at the limit.

use std::io::{self, Write};

use bytes::{Bytes, BytesMut};
use flate2::write::{GzDecoder, ZlibDecoder};

/// A content coding the reference takes. HTTP's `deflate` is the zlib format (RFC 9110
/// 8.4.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Identity,
    Gzip,
    Deflate,
}

/// Why a body could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// The decoded bytes would pass the limit.
    OverLimit,
    /// The bytes are not valid in the coding.
    Malformed,
}

/// Decoded bytes, refused past `limit` (`None` holds everything).
#[derive(Debug)]
struct Bounded {
    bytes: BytesMut,
    limit: Option<usize>,
    over: bool,
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self
            .limit
            .is_some_and(|limit| self.bytes.len() + buf.len() > limit)
        {
            self.over = true;
            return Err(io::Error::other("the decoded body passes the limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[derive(Debug)]
enum Inner {
    Identity(Bounded),
    Gzip(GzDecoder<Bounded>),
    Deflate(ZlibDecoder<Bounded>),
}

/// Decodes one request body as its chunks arrive.
#[derive(Debug)]
pub(crate) struct BodyDecoder {
    inner: Inner,
}

impl BodyDecoder {
    /// A decoder of `coding` that holds at most `limit` decoded bytes (`None`: any number).
    pub(crate) fn new(coding: Coding, limit: Option<usize>) -> Self {
        let sink = Bounded {
            bytes: BytesMut::new(),
            limit,
            over: false,
        };
        let inner = match coding {
            Coding::Identity => Inner::Identity(sink),
            Coding::Gzip => Inner::Gzip(GzDecoder::new(sink)),
            Coding::Deflate => Inner::Deflate(ZlibDecoder::new(sink)),
        };
        Self { inner }
    }

    /// Decodes the next chunk of the body.
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<(), DecodeError> {
        let written = match &mut self.inner {
            Inner::Identity(sink) => sink.write_all(chunk),
            Inner::Gzip(decoder) => decoder.write_all(chunk),
            Inner::Deflate(decoder) => decoder.write_all(chunk),
        };
        written.map_err(|_| self.error())
    }

    /// The whole decoded body, once the last chunk has been pushed.
    pub(crate) fn finish(mut self) -> Result<Bytes, DecodeError> {
        let finished = match &mut self.inner {
            Inner::Identity(_) => Ok(()),
            Inner::Gzip(decoder) => decoder.try_finish(),
            Inner::Deflate(decoder) => decoder.try_finish(),
        };
        finished.map_err(|_| self.error())?;
        Ok(self.into_decoded())
    }

    /// What was decoded so far, however the body ended.
    pub(crate) fn into_decoded(mut self) -> Bytes {
        std::mem::take(&mut self.sink_mut().bytes).freeze()
    }

    fn sink_mut(&mut self) -> &mut Bounded {
        match &mut self.inner {
            Inner::Identity(sink) => sink,
            Inner::Gzip(decoder) => decoder.get_mut(),
            Inner::Deflate(decoder) => decoder.get_mut(),
        }
    }

    fn error(&self) -> DecodeError {
        let sink = match &self.inner {
            Inner::Identity(sink) => sink,
            Inner::Gzip(decoder) => decoder.get_ref(),
            Inner::Deflate(decoder) => decoder.get_ref(),
        };
        if sink.over {
            DecodeError::OverLimit
        } else {
            DecodeError::Malformed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{GzEncoder, ZlibEncoder};
    use flate2::Compression;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).expect("in memory");
        encoder.finish().expect("in memory")
    }

    fn zlib(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).expect("in memory");
        encoder.finish().expect("in memory")
    }

    fn decode(coding: Coding, limit: Option<usize>, wire: &[u8]) -> Result<Bytes, DecodeError> {
        let mut decoder = BodyDecoder::new(coding, limit);
        for chunk in wire.chunks(7) {
            decoder.push(chunk)?;
        }
        decoder.finish()
    }

    #[test]
    fn each_coding_decodes_within_the_limit() {
        let body = br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        for (coding, wire) in [
            (Coding::Identity, body.to_vec()),
            (Coding::Gzip, gzip(body)),
            (Coding::Deflate, zlib(body)),
        ] {
            assert_eq!(
                decode(coding, Some(body.len()), &wire).as_deref(),
                Ok(&body[..])
            );
        }
    }

    #[test]
    fn a_bomb_is_refused_holding_no_more_than_the_limit() {
        let inflated = vec![b'a'; 1 << 20];
        for (coding, wire) in [
            (Coding::Gzip, gzip(&inflated)),
            (Coding::Deflate, zlib(&inflated)),
        ] {
            assert!(
                wire.len() < 4096,
                "a bomb: {} bytes on the wire",
                wire.len()
            );
            let mut decoder = BodyDecoder::new(coding, Some(64 << 10));
            let refused = wire.chunks(512).find_map(|chunk| decoder.push(chunk).err());
            assert_eq!(refused, Some(DecodeError::OverLimit));
            assert!(decoder.into_decoded().len() <= 64 << 10);
            assert_eq!(decode(coding, None, &wire).map(|b| b.len()), Ok(1 << 20));
        }
        assert_eq!(
            decode(Coding::Identity, Some(10), &[b'a'; 11]),
            Err(DecodeError::OverLimit)
        );
    }

    #[test]
    fn bytes_not_in_the_coding_are_malformed() {
        let plain = br#"{"jsonrpc":"2.0"}"#;
        assert_eq!(
            decode(Coding::Gzip, None, plain),
            Err(DecodeError::Malformed)
        );
        assert_eq!(
            decode(Coding::Deflate, None, plain),
            Err(DecodeError::Malformed)
        );
    }
}
