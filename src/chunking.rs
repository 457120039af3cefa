//! Deterministic ways to cut a byte stream into chunks, so that any split can be replayed.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How to cut a stream into chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunking {
    /// One chunk holding everything.
    Whole,
    /// Chunks of this many bytes (the last one may be shorter). Zero is treated as one.
    Fixed(usize),
    /// Pseudo-random sizes from 0 to [`SEEDED_MAX_CHUNK`] bytes, empty chunks included, drawn
    /// from ChaCha8 seeded with this value: the same seed always gives the same split.
    Seeded(u64),
}

/// The largest chunk a seeded split produces.
pub const SEEDED_MAX_CHUNK: usize = 16;

impl Chunking {
    /// Splits `bytes`; the chunks concatenate to `bytes` exactly.
    pub fn split<'a>(&self, bytes: &'a [u8]) -> Vec<&'a [u8]> {
        match *self {
            Chunking::Whole => vec![bytes],
            Chunking::Fixed(size) => bytes.chunks(size.max(1)).collect(),
            Chunking::Seeded(seed) => {
                let mut rng = ChaCha8Rng::seed_from_u64(seed);
                let mut chunks = Vec::new();
                let mut rest = bytes;
                while !rest.is_empty() {
                    let size = rng.random_range(0..=SEEDED_MAX_CHUNK).min(rest.len());
                    let (chunk, tail) = rest.split_at(size);
                    chunks.push(chunk);
                    rest = tail;
                }
                chunks
            }
        }
    }
}

/// Cuts `bytes` into chunks whose sizes cycle through `sizes`; a zero is an empty chunk. When
/// `sizes` is empty or all zero, one final chunk takes the rest, so the chunks always
/// concatenate to `bytes` and their number is at most `2 * bytes.len() + sizes.len() + 1`.
pub fn cut_cycling<'a>(bytes: &'a [u8], sizes: &[usize]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut rest = bytes;
    for &size in sizes.iter().cycle().take(bytes.len() * 2 + sizes.len()) {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        chunks.push(chunk);
        rest = tail;
    }
    if !rest.is_empty() {
        chunks.push(rest);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// The cut follows its definition: chunk `i` takes `sizes[i % n]` bytes, or what is
        /// left, for at most `2 * len + n` cuts, and one last chunk takes any rest.
        #[test]
        fn cut_cycling_cuts_as_defined(
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
            sizes in proptest::collection::vec(prop_oneof![Just(0usize), 0..8usize], 0..5),
        ) {
            let chunks = cut_cycling(&bytes, &sizes);
            prop_assert_eq!(chunks.concat(), bytes.clone());
            prop_assert!(chunks.len() <= 2 * bytes.len() + sizes.len() + 1);
            let cuts = if sizes.is_empty() { 0 } else { 2 * bytes.len() + sizes.len() };
            let mut offset = 0;
            for (i, chunk) in chunks.iter().enumerate() {
                let expected = if i < cuts {
                    sizes[i % sizes.len()].min(bytes.len() - offset)
                } else {
                    bytes.len() - offset
                };
                prop_assert_eq!(chunk.len(), expected, "chunk {}", i);
                offset += chunk.len();
            }
            // The stream's end ends the cut: no empty chunk follows its last byte.
            prop_assert_eq!(chunks.last().map(|chunk| chunk.is_empty()), (!bytes.is_empty()).then_some(false));
        }
    }
}
