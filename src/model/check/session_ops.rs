//! The session store's generator half: [`SessionOp`] sequences over many sessions and streams,
//! and the [`SessionCase`] that the fuzz target reads from bytes and runs on a [`World`].

use arbitrary::{Arbitrary, Result as ArbitraryResult, Unstructured};
use sha2::{Digest, Sha256};

use super::{ranges, Pick, Violation, World};
use crate::model::{SessionConfig, StreamKind};

/// One request to the store. Sessions, streams and ids are picked among all ever created,
/// ended ones included.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub enum SessionOp {
    /// Create a session.
    Create,
    /// Open a stream of this kind in the picked session.
    Open(Pick, StreamKind),
    /// Close the picked stream (the second pick) of the picked session.
    Close(Pick, Pick),
    /// Append an event with this data ([`DATA_ALPHABET`], [`ranges::DATA_CHARS`]).
    Append(Pick, Pick, #[arbitrary(with = data_text)] String),
    /// Resume in the picked session with a Last-Event-ID picked as the [`MintedIdPick`] says.
    Resume(Pick, MintedIdPick),
    /// DELETE the picked session.
    Delete(Pick),
    /// Move the clock on by this many milliseconds ([`ranges::SESSION_ADVANCE_MS`]).
    Advance(#[arbitrary(with = advance_ms)] u64),
    /// Let the expiry timers fire at the current instant.
    Sweep,
}

/// Where a resume's Last-Event-ID comes from.
#[derive(Debug, Clone, PartialEq, Eq, Arbitrary)]
pub enum MintedIdPick {
    /// An id this server minted, of any session and stream.
    Genuine(Pick),
    /// An id this server minted for the asking session.
    Own(Pick),
    /// A minted id with the byte at the second pick replaced by this one (one of
    /// [`MUTATIONS`] when derived; a non-ASCII byte reads as U+FFFD).
    Mutated(Pick, Pick, #[arbitrary(with = mutation)] u8),
    /// An id minted by another server instance (another key).
    ForeignKey(Pick),
    /// Any text ([`ranges::GARBAGE_BYTES`] bytes, read as UTF-8 with replacement).
    Garbage(#[arbitrary(with = garbage)] String),
}

/// How a case ends each session still live after its ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum SessionEnd {
    /// DELETE the session.
    Delete,
    /// Its expiry, found by the sweep of the expiry timers.
    ExpireBySweep,
    /// Its expiry, found when the session is next used.
    ExpireOnUse,
}

/// The characters of appended data.
pub const DATA_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz \n";
/// Bytes that can replace one byte of an id: its own alphabet and a few that are not.
pub const MUTATIONS: &[u8] = b"0123456789abcdefABF-x :\x7f";

/// Each byte picks a character of [`DATA_ALPHABET`] (modulo, as `Unstructured::choose` would).
fn data_text(u: &mut Unstructured<'_>) -> ArbitraryResult<String> {
    let len = u.int_in_range(ranges::DATA_CHARS)?.min(u.len());
    let bytes = u.bytes(len)?;
    Ok(bytes
        .iter()
        .map(|&b| char::from(DATA_ALPHABET[usize::from(b) % DATA_ALPHABET.len()]))
        .collect())
}

fn garbage(u: &mut Unstructured<'_>) -> ArbitraryResult<String> {
    let len = u.int_in_range(ranges::GARBAGE_BYTES)?.min(u.len());
    Ok(String::from_utf8_lossy(u.bytes(len)?).into_owned())
}

fn mutation(u: &mut Unstructured<'_>) -> ArbitraryResult<u8> {
    u.choose(MUTATIONS).copied()
}

fn advance_ms(u: &mut Unstructured<'_>) -> ArbitraryResult<u64> {
    u.int_in_range(ranges::SESSION_ADVANCE_MS)
}

/// A whole sessions case: a config, the seed of the store's entropy, ops, and how the
/// sessions still live at the end are ended.
#[derive(Debug, Clone)]
pub struct SessionCase {
    /// The store's limits, drawn from [`ranges`].
    pub config: SessionConfig,
    /// The seed of the store's entropy (its key and session ids).
    pub seed: u64,
    /// The ops applied in order, at most [`SessionCase::MAX_OPS`] from fuzz input.
    pub ops: Vec<SessionOp>,
    /// How the live sessions end, used in turn (at most three; none means DELETE).
    pub ends: Vec<SessionEnd>,
}

impl SessionCase {
    /// The most ops a case decoded from fuzz input runs. A session op costs HMACs and map
    /// lookups, so fewer than a stream's: 128 keep an instrumented run above 20 000 cases a
    /// second, and still visit every state of at most 5 sessions of at most 4 streams whose
    /// logs keep at most 5 events.
    pub const MAX_OPS: usize = 128;

    /// Runs the case and checks every invariant of the store: every answer (resumes
    /// included) and the ledger after every op; then ends every session and checks that
    /// nothing stays held.
    pub fn check(&self) -> Result<(), Violation> {
        let mut world = World::new(self.config, self.seed);
        for (n, op) in self.ops.iter().enumerate() {
            world
                .apply(op)
                .and_then(|()| world.check_ledger())
                .map_err(|violation| violation.after_op(n))?;
        }
        world.end_every_session(&self.ends)
    }
}

/// The first 8 bytes of the SHA-256 of `bytes`: stable across platforms and Rust versions, so
/// a corpus file always replays the same case.
fn seed_of(bytes: &[u8]) -> u64 {
    let digest = Sha256::digest(bytes);
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(seed)
}

impl<'a> Arbitrary<'a> for SessionCase {
    /// A correct store (no fault) within [`ranges`], at most three ends, and at most
    /// [`Self::MAX_OPS`] ops.
    ///
    /// The seed is a digest of all the bytes, not some of them: with a seed read from the
    /// input, libFuzzer's comparison feedback carried an id minted in one run into the garbage
    /// Last-Event-ID of another run with the same seed, where it verifies although this run
    /// never minted it (`regression-tag-learned-from-another-input`). Now any change to the
    /// input changes the key, so an id is genuine only in the run that minted it.
    fn arbitrary(u: &mut Unstructured<'a>) -> ArbitraryResult<Self> {
        let seed = seed_of(u.peek_bytes(u.len()).unwrap_or_default());
        let config = ranges::session_config(u, None)?;
        let ends = u
            .arbitrary_iter()?
            .take(3)
            .collect::<ArbitraryResult<_>>()?;
        let ops = u
            .arbitrary_iter()?
            .take(Self::MAX_OPS)
            .collect::<ArbitraryResult<_>>()?;
        Ok(Self {
            config,
            seed,
            ops,
            ends,
        })
    }
}
