//! The custom libFuzzer mutator of the scenario targets (`harness_*`): half the mutations are
//! edits of the op list ([`crate::scenario::mutate`]), half are libFuzzer's own byte
//! mutations (which also reach free text, the dictionary and the compare table).
//!
//! A harness input is `prefix` bytes that pick a variant or fixture (kept as they are, but
//! for a rare fresh draw) and then scenario bytes. An edited scenario is written back in its
//! byte form, with free text left out (it has none, see [`Scenario::to_bytes`]), and ops are
//! dropped from its end until it fits `max_size`.

use std::sync::OnceLock;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::scenario::mutate::{edit, splice};
use crate::scenario::Scenario;

/// The environment variable that switches the structure-aware half off: `bytes` leaves every
/// mutation to libFuzzer, the baseline the mutator is measured against.
pub const MUTATOR_ENV: &str = "MCP_FUZZ_MUTATOR";

/// Whether [`MUTATOR_ENV`] asks for libFuzzer's byte mutations only.
fn bytes_only() -> bool {
    static BYTES_ONLY: OnceLock<bool> = OnceLock::new();
    *BYTES_ONLY.get_or_init(|| std::env::var(MUTATOR_ENV).is_ok_and(|v| v == "bytes"))
}

/// Mutates the input in `data[..size]` in place into at most `max_size` bytes and returns its
/// new size: an op-list edit, or `bytes_mutator` (libFuzzer's `LLVMFuzzerMutate`, with the
/// same arguments) on a coin flip or when [`MUTATOR_ENV`] says `bytes`.
pub fn mutate_scenario_input(
    data: &mut [u8],
    size: usize,
    max_size: usize,
    seed: u32,
    prefix: usize,
    bytes_mutator: impl FnOnce(&mut [u8], usize, usize) -> usize,
) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.into());
    if bytes_only() || max_size <= prefix || rng.random_bool(0.5) {
        return bytes_mutator(data, size, max_size);
    }
    let mut head = head_of(&data[..size], prefix, &mut rng);
    let mut scenario = Scenario::from_bytes(&data[size.min(prefix)..size]);
    edit(&mut scenario, &mut rng);
    if rng.random_ratio(1, 32) {
        head.iter_mut().for_each(|b| *b = rng.random());
    }
    write_input(&head, scenario, &mut data[..max_size])
}

/// Writes into `out` the input whose first `prefix` bytes are `first`'s, followed by the
/// scenario bytes of an op-list splice of `first` and `second`; returns its size. Returns 0
/// (libFuzzer then picks another mutation) when [`MUTATOR_ENV`] says `bytes`.
pub fn crossover_scenario_inputs(
    first: &[u8],
    second: &[u8],
    out: &mut [u8],
    seed: u32,
    prefix: usize,
) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(seed.into());
    if bytes_only() || out.len() <= prefix {
        return 0;
    }
    let head = head_of(first, prefix, &mut rng);
    let scenario_of = |input: &[u8]| Scenario::from_bytes(input.get(prefix..).unwrap_or_default());
    let joined = splice(&scenario_of(first), &scenario_of(second), &mut rng);
    write_input(&head, joined, out)
}

/// The first `prefix` bytes of `input`, completed with random bytes when it is shorter.
fn head_of(input: &[u8], prefix: usize, rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut head = input[..prefix.min(input.len())].to_vec();
    head.resize_with(prefix, || rng.random());
    head
}

/// Writes `head` and then the bytes of `scenario` without its free text into `out`, dropping
/// ops from the scenario's end until both fit; returns the bytes written. `out` must hold
/// `head`.
fn write_input(head: &[u8], scenario: Scenario, out: &mut [u8]) -> usize {
    let mut scenario = scenario.without_free_text();
    let room = out.len() - head.len();
    let body = loop {
        let bytes = scenario
            .to_bytes()
            .expect("a scenario without free text, within MAX_OPS, has a byte form");
        if bytes.len() <= room {
            break bytes;
        }
        scenario.ops.pop();
    };
    out[..head.len()].copy_from_slice(head);
    out[head.len()..head.len() + body.len()].copy_from_slice(&body);
    head.len() + body.len()
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;
    use crate::scenario::seeds;

    /// The seed scenarios, and random bytes (free text and all), behind a prefix byte.
    fn seed_inputs(prefix: u8) -> Vec<Vec<u8>> {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let random = (0..100).map(|_| {
            let mut bytes = vec![0u8; rng.random_range(0..1024)];
            rng.fill_bytes(&mut bytes);
            bytes
        });
        seeds::seeds()
            .into_iter()
            .map(|(_, s)| s.without_free_text().to_bytes().unwrap())
            .chain(random)
            .map(|scenario| [vec![prefix], scenario].concat())
            .collect()
    }

    #[test]
    fn edits_fit_max_size_and_write_scenario_bytes() {
        let mut edited = 0;
        for input in seed_inputs(0xA5) {
            for seed in 0..64u32 {
                let max_size = 1 + (seed as usize * 13) % 200;
                let mut data = input.clone();
                data.resize(input.len().max(max_size), 0);
                let mut byte_level = false;
                let size =
                    mutate_scenario_input(&mut data, input.len(), max_size, seed, 1, |_, s, m| {
                        byte_level = true;
                        s.min(m)
                    });
                assert!(size <= max_size);
                if !byte_level {
                    edited += 1;
                    let scenario = Scenario::from_bytes(&data[1..size]);
                    assert_eq!(scenario.to_bytes().unwrap(), &data[1..size]);
                }
            }
        }
        assert!(
            edited > 100,
            "the structure-aware half runs about half the time"
        );
    }

    #[test]
    fn the_same_seed_makes_the_same_mutation() {
        for input in seed_inputs(3) {
            let run = |seed| {
                let mut data = input.clone();
                data.resize(4096, 0);
                let size =
                    mutate_scenario_input(&mut data, input.len(), 4096, seed, 1, |_, s, _| s);
                data.truncate(size);
                data
            };
            for seed in 0..16 {
                assert_eq!(run(seed), run(seed));
            }
        }
    }

    #[test]
    fn crossover_joins_two_scenarios_behind_the_first_prefix() {
        let inputs = seed_inputs(9);
        let mut out = vec![0; 4096];
        for (seed, pair) in inputs.windows(2).enumerate() {
            let size = crossover_scenario_inputs(&pair[0], &pair[1], &mut out, seed as u32, 1);
            assert_eq!(out[0], 9);
            let joined = Scenario::from_bytes(&out[1..size]);
            assert!(joined.ops.len() <= crate::scenario::MAX_OPS);
        }
        assert_eq!(
            crossover_scenario_inputs(&inputs[0], &inputs[1], &mut out[..1], 0, 1),
            0
        );
    }
}
