//! Session ids and where they come from: unguessable ids drawn from an entropy source that is
//! the OS's, or seeded for replayable runs.

use std::fmt;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;

use crate::model::lower_hex;

const SESSION_ID_BYTES: usize = 24;
// Unguessable ids need at least 128 random bits.
const _: () = assert!(SESSION_ID_BYTES * 8 >= 128);

/// A session id: 192 bits from the store's entropy source, written as 48 lowercase hex digits
/// (visible ASCII, as `Mcp-Session-Id` requires).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId([u8; SESSION_ID_BYTES]);

impl SessionId {
    /// Characters in the written form.
    pub const TEXT_LEN: usize = 2 * SESSION_ID_BYTES;

    /// Reads the written form back; anything else (uppercase hex included) is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        lower_hex::parse(text).map(SessionId)
    }

    /// The id's 24 raw bytes, before hex encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        lower_hex::with_hex(&self.0, |text| f.write_str(text))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

/// A stream's number within its session, in the order streams were opened (never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamNo(pub u32);

impl fmt::Display for StreamNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where session ids and the server key come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entropy {
    /// The operating system's random source: what a server must use.
    Os,
    /// ChaCha12 seeded with this value, for replayable tests and fuzzing only: anyone who knows
    /// the seed can predict every id and forge every tag.
    Seeded(u64),
}

/// The store's entropy source, built from an [`Entropy`].
pub(super) enum Source {
    Os,
    Seeded(Box<ChaCha12Rng>),
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Os => "Os",
            Source::Seeded(_) => "Seeded",
        })
    }
}

impl Source {
    pub(super) fn new(entropy: Entropy) -> Self {
        match entropy {
            Entropy::Os => Source::Os,
            Entropy::Seeded(seed) => Source::Seeded(Box::new(ChaCha12Rng::seed_from_u64(seed))),
        }
    }

    /// A fresh session id.
    pub(super) fn session_id(&mut self) -> Result<SessionId, EntropyError> {
        let mut bytes = [0u8; SESSION_ID_BYTES];
        self.fill(&mut bytes)?;
        Ok(SessionId(bytes))
    }

    pub(super) fn fill(&mut self, out: &mut [u8]) -> Result<(), EntropyError> {
        match self {
            Source::Os => getrandom::fill(out).map_err(EntropyError::Os),
            Source::Seeded(rng) => {
                rng.fill_bytes(out);
                Ok(())
            }
        }
    }
}

/// Why the store could not draw a fresh session id or key.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EntropyError {
    /// The OS random source returned an error.
    #[error("the OS random source failed ({0}); retry, or check the platform's entropy source")]
    Os(getrandom::Error),
    /// A freshly drawn session id equals a live one, which only a broken source produces.
    #[error("a fresh session id collided with a live one; the entropy source is broken")]
    Collision,
}
