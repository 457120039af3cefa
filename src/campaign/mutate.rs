//! Scenario inputs for the campaign: mutations of the corpus, and fresh random bytes.
//!
//! Every choice comes from one seeded ChaCha generator, so a campaign with the same seed and
//! corpus runs the same scenarios in the same order.

use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha12Rng;

/// The longest input the campaign makes (scenarios stop at 64 ops long before).
pub const MAX_INPUT_BYTES: usize = 4096;

/// Makes the next input from a pool of interesting ones.
#[derive(Debug)]
pub struct Mutator {
    rng: ChaCha12Rng,
}

impl Mutator {
    /// A mutator whose every choice follows from `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha12Rng::seed_from_u64(seed),
        }
    }

    /// One new input: usually a mutation of an input of `pool` (at times spliced with
    /// another), sometimes fresh random bytes.
    pub fn next(&mut self, pool: &[Vec<u8>]) -> Vec<u8> {
        if pool.is_empty() || self.rng.random_ratio(1, 16) {
            let len = self.rng.random_range(1..=256);
            return self.random_bytes(len);
        }
        let mut input = pool[self.rng.random_range(0..pool.len())].clone();
        for _ in 0..self.rng.random_range(1..=4) {
            self.mutate(&mut input, pool);
        }
        input.truncate(MAX_INPUT_BYTES);
        input
    }

    fn random_bytes(&mut self, len: usize) -> Vec<u8> {
        let mut bytes = vec![0; len];
        self.rng.fill_bytes(&mut bytes);
        bytes
    }

    fn mutate(&mut self, input: &mut Vec<u8>, pool: &[Vec<u8>]) {
        if input.is_empty() {
            input.push(self.rng.random());
            return;
        }
        let at = self.rng.random_range(0..input.len());
        match self.rng.random_range(0..7) {
            0 => input[at] ^= 1 << self.rng.random_range(0..8),
            1 => input[at] = self.rng.random(),
            2 => {
                let len = self.rng.random_range(1..=8);
                let bytes = self.random_bytes(len);
                input.splice(at..at, bytes);
            }
            3 => {
                let end = self.rng.random_range(at..=input.len().min(at + 16));
                input.drain(at..end);
            }
            4 => {
                let end = self.rng.random_range(at..=input.len().min(at + 32));
                let copy = input[at..end].to_vec();
                let to = self.rng.random_range(0..=input.len());
                input.splice(to..to, copy);
            }
            5 => {
                let other = &pool[self.rng.random_range(0..pool.len())];
                if !other.is_empty() {
                    let from = self.rng.random_range(0..other.len());
                    input.truncate(at);
                    input.extend_from_slice(&other[from..]);
                }
            }
            _ => {
                let len = self.rng.random_range(1..=32);
                let bytes = self.random_bytes(len);
                input.extend(bytes);
            }
        }
    }
}
