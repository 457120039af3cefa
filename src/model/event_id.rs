//! Event ids: minted and verified with the server instance's secret key.
//!
//! An id reads `STREAM-SEQ-OWNER-TAG` (visible ASCII, at most 81 bytes):
//! - `STREAM` and `SEQ`: the stream number in its session and the event's sequence number, in
//!   canonical decimal (no sign, no leading zero);
//! - `OWNER`: 16 hex digits, HMAC-SHA256(key, "owner" || session id) truncated to 64 bits, a
//!   pseudonym of the session that does not reveal its id;
//! - `TAG`: 32 hex digits, HMAC-SHA256(key, "event" || owner || stream || seq) truncated to 128
//!   bits.
//!
//! Verification recomputes the tag and compares it in constant time, so an id the server did
//! not mint (mutated, invented, or minted under another server's key) is refused as forged
//! without any lookup. A genuine id whose owner is not the asking session is recognised as
//! foreign by comparing pseudonyms, again without a lookup.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::lower_hex;
use super::session::{SessionId, StreamNo};

/// Bytes of the server's secret key (SHA-256's block size).
pub(crate) const KEY_BYTES: usize = 64;
const OWNER_BYTES: usize = 8;
const TAG_BYTES: usize = 16;

/// A session's pseudonym inside its event ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Owner([u8; OWNER_BYTES]);

/// The parts of an id whose tag verified (or, under [`super::Fault::UncheckedTag`], parsed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verified {
    pub owner: Owner,
    pub stream: StreamNo,
    pub seq: u64,
}

/// Why an id was refused by verification alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdError {
    /// Not of the form `STREAM-SEQ-OWNER-TAG`.
    Malformed,
    /// Well formed, but its tag is not one this server minted.
    Forged,
}

/// The server instance's secret key, ready to mint and verify ids.
#[derive(Clone)]
pub(crate) struct IdKey {
    /// HMAC-SHA256 keyed once; each use clones the keyed state (no allocation).
    mac: Hmac<Sha256>,
}

impl fmt::Debug for IdKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdKey(secret)")
    }
}

impl IdKey {
    pub(super) fn new(key: &[u8; KEY_BYTES]) -> Self {
        Self {
            mac: Hmac::<Sha256>::new(&(*key).into()),
        }
    }

    pub(super) fn owner(&self, session: &SessionId) -> Owner {
        let digest = self
            .mac
            .clone()
            .chain_update(b"owner")
            .chain_update(session.as_bytes())
            .finalize()
            .into_bytes();
        let mut owner = [0u8; OWNER_BYTES];
        owner.copy_from_slice(&digest[..OWNER_BYTES]);
        Owner(owner)
    }

    fn tagger(&self, owner: Owner, stream: StreamNo, seq: u64) -> Hmac<Sha256> {
        self.mac
            .clone()
            .chain_update(b"event")
            .chain_update(owner.0)
            .chain_update(stream.0.to_be_bytes())
            .chain_update(seq.to_be_bytes())
    }

    pub(super) fn mint(&self, owner: Owner, stream: StreamNo, seq: u64) -> String {
        let digest = self.tagger(owner, stream, seq).finalize().into_bytes();
        let mut id = String::with_capacity(88);
        id.push_str(itoa::Buffer::new().format(stream.0));
        id.push('-');
        id.push_str(itoa::Buffer::new().format(seq));
        id.push('-');
        lower_hex::push(&mut id, &owner.0);
        id.push('-');
        lower_hex::push(&mut id, &digest[..TAG_BYTES]);
        id
    }

    /// Parses `text` and, when `check_tag`, verifies its tag in constant time.
    pub(super) fn verify(&self, text: &str, check_tag: bool) -> Result<Verified, IdError> {
        let mut parts = text.split('-');
        let (Some(stream), Some(seq), Some(owner), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(IdError::Malformed);
        };
        let stream = decimal(stream)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or(IdError::Malformed)?;
        let seq = decimal(seq).ok_or(IdError::Malformed)?;
        let owner = Owner(lower_hex::parse::<OWNER_BYTES>(owner).ok_or(IdError::Malformed)?);
        let tag = lower_hex::parse::<TAG_BYTES>(tag).ok_or(IdError::Malformed)?;
        let stream = StreamNo(stream);
        if check_tag {
            self.tagger(owner, stream, seq)
                .verify_truncated_left(&tag)
                .map_err(|_| IdError::Forged)?;
        }
        Ok(Verified { owner, stream, seq })
    }
}

/// Canonical decimal: ASCII digits only, no leading zero (but "0"), within `u64`.
fn decimal(text: &str) -> Option<u64> {
    let canonical =
        text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}
