//! Structure-aware mutation: edits of a scenario's op list, for libFuzzer's custom mutator.
//!
//! A random flip of a scenario's bytes mostly re-encodes the same ops or ends the scenario
//! early (see [`Scenario::from_bytes`]). An [`Edit`] instead changes what the scenario does:
//! it inserts, deletes, swaps or duplicates an op, or draws new parameters for one, and
//! [`splice`] joins the start of one scenario to the end of another. A new op mostly acts on
//! a session or client an earlier op opened, and a re-parameterised one mostly keeps its
//! slot, since an op on a slot nothing opened does little. Every edit keeps the
//! scenario within [`MAX_OPS`], and every choice comes from the caller's generator, so the
//! same seed makes the same edit.

use arbitrary::{Arbitrary, Unstructured};
use rand::{Rng, RngExt};

use super::{Op, Scenario, Slot, MAX_OPS};

/// The random bytes an op is drawn from: more than the longest op reads, so that few ops end
/// on `arbitrary`'s defaults for lack of data.
const OP_ENTROPY: usize = 96;

/// One edit of an op list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// A newly drawn op at a random position.
    Insert,
    /// One op removed.
    Delete,
    /// Two ops exchanged.
    Swap,
    /// A copy of one op at another position (the same op twice: a second DELETE, a second
    /// resume from the same id).
    Duplicate,
    /// One op replaced by an op of the same kind with newly drawn parameters.
    Reparameterise,
}

impl Edit {
    /// Every edit, in the order [`edit`] draws from.
    pub const ALL: [Edit; 5] = [
        Edit::Insert,
        Edit::Delete,
        Edit::Swap,
        Edit::Duplicate,
        Edit::Reparameterise,
    ];
}

/// Applies one edit, drawn by `rng` among those that apply (an empty scenario can only grow,
/// a full one cannot), and returns it.
pub fn edit(scenario: &mut Scenario, rng: &mut impl Rng) -> Edit {
    let ops = &mut scenario.ops;
    let applies = |edit: &Edit| match edit {
        Edit::Insert => ops.len() < MAX_OPS,
        Edit::Delete | Edit::Reparameterise => !ops.is_empty(),
        Edit::Swap => ops.len() >= 2,
        Edit::Duplicate => !ops.is_empty() && ops.len() < MAX_OPS,
    };
    let choices: Vec<Edit> = Edit::ALL.into_iter().filter(applies).collect();
    let chosen = choices[rng.random_range(0..choices.len())];
    match chosen {
        Edit::Insert => {
            let at = rng.random_range(0..=ops.len());
            let mut op = fresh_op(rng, &[]);
            let opened: Vec<Slot> = ops[..at]
                .iter()
                .filter(|op| op.opens_slot())
                .filter_map(|op| op.clone().slot_mut().copied())
                .collect();
            if let (Some(slot), false) = (op.slot_mut(), opened.is_empty()) {
                if rng.random_ratio(3, 4) {
                    *slot = opened[rng.random_range(0..opened.len())];
                }
            }
            ops.insert(at, op);
        }
        Edit::Delete => {
            ops.remove(rng.random_range(0..ops.len()));
        }
        Edit::Swap => {
            let a = rng.random_range(0..ops.len());
            let b = (a + rng.random_range(1..ops.len())) % ops.len();
            ops.swap(a, b);
        }
        Edit::Duplicate => {
            let copy = ops[rng.random_range(0..ops.len())].clone();
            ops.insert(rng.random_range(0..=ops.len()), copy);
        }
        Edit::Reparameterise => {
            let at = rng.random_range(0..ops.len());
            let mut op = fresh_op(rng, &variant_tag(&ops[at]));
            if let (Some(new), Some(old)) = (op.slot_mut(), ops[at].slot_mut()) {
                if rng.random_ratio(3, 4) {
                    *new = *old;
                }
            }
            ops[at] = op;
        }
    }
    chosen
}

/// The first ops of `head` (up to a random cut) followed by the last ops of `tail` (from a
/// random cut), at most [`MAX_OPS`] in all.
pub fn splice(head: &Scenario, tail: &Scenario, rng: &mut impl Rng) -> Scenario {
    let cut_head = rng.random_range(0..=head.ops.len());
    let cut_tail = rng.random_range(0..=tail.ops.len());
    let ops = head.ops[..cut_head]
        .iter()
        .chain(&tail.ops[cut_tail..])
        .take(MAX_OPS)
        .cloned()
        .collect();
    Scenario { ops }
}

/// The byte values that end numbers at their edges (0, 1, the signed and unsigned limits),
/// where caps and counters break: a quarter of the bytes a fresh op is drawn from.
const EDGE_BYTES: [u8; 5] = [0x00, 0x01, 0x7f, 0x80, 0xff];

/// An op drawn from random bytes (a quarter of them [`EDGE_BYTES`]) that start with `prefix`
/// (an op's variant tag, to keep its kind, or nothing). Falls back to an op of no parameters
/// should `arbitrary` refuse the bytes.
fn fresh_op(rng: &mut impl Rng, prefix: &[u8]) -> Op {
    let mut bytes = [0u8; OP_ENTROPY];
    for byte in &mut bytes {
        *byte = if rng.random_ratio(1, 4) {
            EDGE_BYTES[rng.random_range(0..EDGE_BYTES.len())]
        } else {
            rng.random()
        };
    }
    bytes[..prefix.len()].copy_from_slice(prefix);
    Op::arbitrary(&mut Unstructured::new(&bytes)).unwrap_or(Op::ListTools {
        session: Slot::of_index(0),
    })
}

/// The bytes that name `op`'s variant: the first four of its encoding (`arbitrary` reads an
/// enum's variant as a `u32`).
fn variant_tag(op: &Op) -> Vec<u8> {
    let alone = Scenario {
        ops: vec![op.clone()],
    };
    let mut bytes = alone
        .without_free_text()
        .to_bytes()
        .expect("one op without free text has a byte form");
    bytes.truncate(4);
    bytes
}

#[cfg(test)]
mod tests {
    use std::mem::discriminant;

    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::scenario::seeds;

    fn seed_scenarios() -> Vec<Scenario> {
        seeds::seeds()
            .into_iter()
            .map(|(_, scenario)| scenario.without_free_text())
            .collect()
    }

    /// Scenarios read from random bytes: every kind of op, free text included.
    fn random_scenarios(count: usize) -> Vec<Scenario> {
        let mut rng = ChaCha8Rng::seed_from_u64(99);
        (0..count)
            .map(|_| {
                let mut bytes = vec![0u8; rng.random_range(0..1024)];
                rng.fill_bytes(&mut bytes);
                Scenario::from_bytes(&bytes)
            })
            .collect()
    }

    #[test]
    fn every_scenario_without_free_text_has_a_byte_form() {
        let scenarios = random_scenarios(2_000);
        let with_text = scenarios.iter().filter(|s| s.to_bytes().is_none()).count();
        assert!(with_text > 100, "free text is common in random scenarios");
        for scenario in scenarios {
            let plain = scenario.without_free_text();
            let bytes = plain.to_bytes().expect("a byte form");
            assert_eq!(Scenario::from_bytes(&bytes), plain);
        }
    }

    #[test]
    fn each_edit_does_what_it_names() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut seen = Vec::new();
        for before in seed_scenarios() {
            for _ in 0..64 {
                let mut after = before.clone();
                let edit = edit(&mut after, &mut rng);
                seen.push(edit);
                let (b, a) = (&before.ops, &after.ops);
                match edit {
                    Edit::Insert | Edit::Duplicate => assert_eq!(a.len(), b.len() + 1),
                    Edit::Delete => assert_eq!(a.len() + 1, b.len()),
                    Edit::Swap | Edit::Reparameterise => assert_eq!(a.len(), b.len()),
                }
                if edit == Edit::Duplicate {
                    let copied = a
                        .iter()
                        .any(|op| a.iter().filter(|o| *o == op).count() >= 2);
                    assert!(copied, "a duplicate shows twice");
                }
                if edit == Edit::Reparameterise {
                    let changed: Vec<_> = a.iter().zip(b).filter(|(x, y)| x != y).collect();
                    assert!(changed.len() <= 1);
                    for (x, y) in changed {
                        assert_eq!(discriminant(x), discriminant(y), "same kind of op");
                    }
                }
                assert!(a.len() <= MAX_OPS);
            }
        }
        for edit in Edit::ALL {
            assert!(seen.contains(&edit), "{edit:?} never drawn");
        }
    }

    #[test]
    fn edits_round_trip_through_bytes() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for scenario in seed_scenarios().into_iter().chain(random_scenarios(200)) {
            let mut scenario = scenario.without_free_text();
            for _ in 0..32 {
                edit(&mut scenario, &mut rng);
                let plain = scenario.without_free_text();
                let bytes = plain.to_bytes().expect("no free text");
                assert_eq!(Scenario::from_bytes(&bytes), plain);
            }
        }
    }

    #[test]
    fn a_full_scenario_never_grows_and_an_empty_one_only_grows() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let full = Scenario {
            ops: vec![fresh_op(&mut rng, &[]); MAX_OPS],
        };
        for _ in 0..64 {
            let mut scenario = full.clone();
            edit(&mut scenario, &mut rng);
            assert!(scenario.ops.len() <= MAX_OPS);
            let mut empty = Scenario { ops: Vec::new() };
            assert_eq!(edit(&mut empty, &mut rng), Edit::Insert);
        }
    }

    #[test]
    fn splice_keeps_a_head_of_one_and_a_tail_of_the_other() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let scenarios = seed_scenarios();
        for pair in scenarios.windows(2) {
            let (head, tail) = (&pair[0], &pair[1]);
            let joined = splice(head, tail, &mut rng);
            let from_head = joined
                .ops
                .iter()
                .zip(&head.ops)
                .take_while(|(a, b)| a == b)
                .count();
            let rest = &joined.ops[from_head..];
            assert!(
                tail.ops.ends_with(rest) || joined.ops.len() == MAX_OPS,
                "the rest is a tail of the second"
            );
        }
    }
}
