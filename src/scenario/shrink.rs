//! Shrinking a scenario to a minimal one that still shows what it showed: delete ops as delta
//! debugging does (halves, then quarters, down to single ops), then simplify what is left
//! (session slots renumbered from 0, numbers towards 0, uploads whole, untrusted text without
//! its pieces), and repeat both until neither changes anything.
//!
//! Invariants: the result shows (when `shows` holds for the input); every accepted step makes
//! the scenario strictly smaller (fewer ops, or the same ops with smaller parameters), so
//! shrinking ends; `shows` is asked at most [`MAX_TRIALS`] times; and with a deterministic
//! `shows` the same input always gives the same result.

use super::{
    CacheKey, Deviation, IdPick, Interests, Op, Scenario, Slot, StreamPick, ToolCall, Upload,
};
use crate::input::{Piece, Untrusted};

/// The most candidates one shrink tries.
pub const MAX_TRIALS: usize = 2_000;

/// What one shrink did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shrunk {
    /// The smallest scenario found that still shows.
    pub scenario: Scenario,
    /// How many candidates were tried.
    pub trials: usize,
}

impl Scenario {
    /// The scenario with every free-text piece of its untrusted text left out: the nearest one
    /// with a byte form (see [`Scenario::to_bytes`]).
    pub fn without_free_text(&self) -> Scenario {
        let ops = self
            .ops
            .iter()
            .map(|op| match op {
                Op::Call {
                    session,
                    call,
                    upload,
                } => Op::Call {
                    session: *session,
                    call: call.without_free_text(),
                    upload: upload.clone(),
                },
                Op::Stateless {
                    client,
                    call,
                    deviation,
                } => Op::Stateless {
                    client: *client,
                    call: call.without_free_text(),
                    deviation: *deviation,
                },
                other => other.clone(),
            })
            .collect();
        Scenario { ops }
    }
}

impl ToolCall {
    /// The call with the free-text pieces of its untrusted text left out.
    fn without_free_text(&self) -> ToolCall {
        match self {
            ToolCall::Echo { text } => ToolCall::Echo {
                text: Untrusted(
                    text.0
                        .iter()
                        .filter(|piece| !matches!(piece, Piece::Text(_)))
                        .cloned()
                        .collect(),
                ),
            },
            other => other.clone(),
        }
    }
}

/// Shrinks `scenario`, keeping only candidates for which `shows` holds.
pub fn shrink(scenario: &Scenario, mut shows: impl FnMut(&Scenario) -> bool) -> Shrunk {
    let mut shrinker = Shrinker {
        best: scenario.clone(),
        trials: 0,
        shows: &mut shows,
    };
    loop {
        let before = shrinker.best.clone();
        shrinker.delete_ops();
        shrinker.renumber_sessions();
        shrinker.simplify_ops();
        if shrinker.best == before || shrinker.exhausted() {
            break;
        }
    }
    Shrunk {
        scenario: shrinker.best,
        trials: shrinker.trials,
    }
}

struct Shrinker<'a, F> {
    best: Scenario,
    trials: usize,
    shows: &'a mut F,
}

impl<F: FnMut(&Scenario) -> bool> Shrinker<'_, F> {
    fn exhausted(&self) -> bool {
        self.trials >= MAX_TRIALS
    }

    /// Takes `candidate` when it shows.
    fn try_candidate(&mut self, candidate: Scenario) -> bool {
        if self.exhausted() || candidate == self.best {
            return false;
        }
        self.trials += 1;
        let kept = (self.shows)(&candidate);
        if kept {
            self.best = candidate;
        }
        kept
    }

    /// Removes runs of `chunk` ops, halving `chunk` down to 1.
    fn delete_ops(&mut self) {
        let mut chunk = self.best.ops.len().div_ceil(2);
        while chunk >= 1 && !self.exhausted() {
            let mut start = 0;
            while start < self.best.ops.len() && !self.exhausted() {
                let mut ops = self.best.ops.clone();
                ops.drain(start..(start + chunk).min(ops.len()));
                if !self.try_candidate(Scenario { ops }) {
                    start += chunk;
                }
            }
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
    }

    /// Renames the sessions in order of first use to s0, s1, …
    fn renumber_sessions(&mut self) {
        let mut order: Vec<usize> = Vec::new();
        for op in &self.best.ops {
            for slot in slots(op) {
                if !order.contains(&slot.index()) {
                    order.push(slot.index());
                }
            }
        }
        let rename = |slot: Slot| {
            let position = order.iter().position(|&i| i == slot.index());
            Slot::of_index(position.unwrap_or(slot.index()))
        };
        let ops = self
            .best
            .ops
            .iter()
            .map(|op| map_slots(op, rename))
            .collect();
        self.try_candidate(Scenario { ops });
    }

    /// Tries each op's simpler forms, simplest first, until none is taken.
    fn simplify_ops(&mut self) {
        let mut index = 0;
        while index < self.best.ops.len() && !self.exhausted() {
            let taken = simpler(&self.best.ops[index]).into_iter().any(|op| {
                let mut ops = self.best.ops.clone();
                ops[index] = op;
                self.try_candidate(Scenario { ops })
            });
            if !taken {
                index += 1;
            }
        }
    }
}

/// The session slots `op` names.
fn slots(op: &Op) -> Vec<Slot> {
    match op {
        Op::Initialize { session, .. }
        | Op::Initialized { session }
        | Op::ListTools { session }
        | Op::Call { session, .. }
        | Op::OpenGet { session }
        | Op::Delete { session }
        | Op::Misstep { session, .. }
        | Op::Flood { session, .. }
        | Op::Oversize { session, .. } => vec![*session],
        Op::Discover { client } | Op::Listen { client, .. } | Op::Stateless { client, .. } => {
            vec![*client]
        }
        Op::Resume {
            session,
            id: IdPick::OtherSession { session: other, .. },
        } => vec![*session, *other],
        Op::Resume { session, .. } => vec![*session],
        Op::Read { .. } | Op::Stall { .. } | Op::DropResponse { .. } => Vec::new(),
    }
}

/// `op` with every session slot renamed by `rename`.
fn map_slots(op: &Op, rename: impl Fn(Slot) -> Slot) -> Op {
    let mut op = op.clone();
    match &mut op {
        Op::Initialize { session, .. }
        | Op::Initialized { session }
        | Op::ListTools { session }
        | Op::Call { session, .. }
        | Op::OpenGet { session }
        | Op::Delete { session }
        | Op::Misstep { session, .. }
        | Op::Flood { session, .. }
        | Op::Oversize { session, .. } => *session = rename(*session),
        Op::Discover { client } | Op::Listen { client, .. } | Op::Stateless { client, .. } => {
            *client = rename(*client)
        }
        Op::Resume { session, id } => {
            *session = rename(*session);
            if let IdPick::OtherSession { session: other, .. } = id {
                *other = rename(*other);
            }
        }
        Op::Read { .. } | Op::Stall { .. } | Op::DropResponse { .. } => {}
    }
    op
}

/// Smaller values of a number: 0, then half of it.
fn smaller<T>(value: T) -> Vec<T>
where
    T: Copy + PartialEq + Default + std::ops::Div<Output = T> + From<u8>,
{
    let mut out = Vec::new();
    for candidate in [T::default(), value / T::from(2)] {
        if candidate != value && !out.contains(&candidate) {
            out.push(candidate);
        }
    }
    out
}

/// The simpler forms of `op`, simplest first; each is strictly smaller than `op`.
fn simpler(op: &Op) -> Vec<Op> {
    match op {
        Op::Call {
            session,
            call,
            upload,
        } => {
            let mut out = Vec::new();
            if upload.chunks.len() + usize::from(upload.abort_after.is_some()) > 0 {
                out.push(Op::Call {
                    session: *session,
                    call: call.clone(),
                    upload: Upload {
                        chunks: Vec::new(),
                        abort_after: None,
                    },
                });
            }
            out.extend(simpler_upload(upload).into_iter().map(|upload| Op::Call {
                session: *session,
                call: call.clone(),
                upload,
            }));
            out.extend(simpler_call(call).into_iter().map(|call| Op::Call {
                session: *session,
                call,
                upload: upload.clone(),
            }));
            out
        }
        Op::Read { stream, bytes } => {
            let mut out = pick_zero(*stream, |stream| Op::Read {
                stream,
                bytes: *bytes,
            });
            out.extend(smaller(*bytes).into_iter().map(|bytes| Op::Read {
                stream: *stream,
                bytes,
            }));
            out
        }
        Op::Stall { millis } => smaller(*millis)
            .into_iter()
            .map(|millis| Op::Stall { millis })
            .collect(),
        Op::DropResponse { stream } => pick_zero(*stream, |stream| Op::DropResponse { stream }),
        Op::Resume { session, id } => simpler_id(id)
            .into_iter()
            .map(|id| Op::Resume {
                session: *session,
                id,
            })
            .collect(),
        Op::Stateless {
            client,
            call,
            deviation,
        } => {
            let mut out = Vec::new();
            if *deviation != Deviation::None {
                out.push(Op::Stateless {
                    client: *client,
                    call: call.clone(),
                    deviation: Deviation::None,
                });
            }
            out.extend(simpler_call(call).into_iter().map(|call| Op::Stateless {
                client: *client,
                call,
                deviation: *deviation,
            }));
            out
        }
        Op::Listen { client, interests } => smaller(interests.0)
            .into_iter()
            .map(|bits| Op::Listen {
                client: *client,
                interests: Interests(bits),
            })
            .collect(),
        Op::Initialize { .. }
        | Op::Discover { .. }
        | Op::Initialized { .. }
        | Op::ListTools { .. }
        | Op::OpenGet { .. }
        | Op::Delete { .. }
        | Op::Misstep { .. }
        | Op::Flood { .. }
        | Op::Oversize { .. } => Vec::new(),
    }
}

/// `make(StreamPick(0))` unless the pick is 0 already.
fn pick_zero(pick: StreamPick, make: impl Fn(StreamPick) -> Op) -> Vec<Op> {
    if pick.0 == 0 {
        Vec::new()
    } else {
        vec![make(StreamPick(0))]
    }
}

/// Fewer chunk sizes (each one left out in turn), and no abort.
fn simpler_upload(upload: &Upload) -> Vec<Upload> {
    let mut out: Vec<Upload> = (0..upload.chunks.len())
        .map(|skip| {
            let mut chunks = upload.chunks.clone();
            chunks.remove(skip);
            Upload {
                chunks,
                abort_after: upload.abort_after,
            }
        })
        .collect();
    if let Some(after) = upload.abort_after {
        out.extend(smaller(after).into_iter().map(|after| Upload {
            chunks: upload.chunks.clone(),
            abort_after: Some(after),
        }));
    }
    out
}

fn simpler_call(call: &ToolCall) -> Vec<ToolCall> {
    match call {
        ToolCall::Echo { text } => {
            let mut out = Vec::new();
            if !text.0.is_empty() {
                out.push(ToolCall::Echo {
                    text: Untrusted(Vec::new()),
                });
            }
            if text.0.len() > 1 {
                out.extend((0..text.0.len()).map(|skip| {
                    let mut pieces = text.0.clone();
                    pieces.remove(skip);
                    ToolCall::Echo {
                        text: Untrusted(pieces),
                    }
                }));
            }
            out
        }
        ToolCall::Stream {
            count,
            size,
            delay_ms,
        } => {
            let (count, size, delay_ms) = (*count, *size, *delay_ms);
            let mut out: Vec<ToolCall> = smaller(count)
                .into_iter()
                .map(|count| ToolCall::Stream {
                    count,
                    size,
                    delay_ms,
                })
                .collect();
            out.extend(smaller(size).into_iter().map(|size| ToolCall::Stream {
                count,
                size,
                delay_ms,
            }));
            out.extend(
                smaller(delay_ms)
                    .into_iter()
                    .map(|delay_ms| ToolCall::Stream {
                        count,
                        size,
                        delay_ms,
                    }),
            );
            out
        }
        ToolCall::FetchCached {
            key: CacheKey::Repeat(n),
        } if *n != 0 => vec![ToolCall::FetchCached {
            key: CacheKey::Repeat(0),
        }],
        ToolCall::Monitor { count, interval_ms } => {
            let (count, interval_ms) = (*count, *interval_ms);
            let mut out: Vec<ToolCall> = smaller(count)
                .into_iter()
                .map(|count| ToolCall::Monitor { count, interval_ms })
                .collect();
            out.extend(
                smaller(interval_ms)
                    .into_iter()
                    .map(|interval_ms| ToolCall::Monitor { count, interval_ms }),
            );
            out
        }
        ToolCall::FetchCached { .. } | ToolCall::Subscribe => Vec::new(),
    }
}

fn simpler_id(id: &IdPick) -> Vec<IdPick> {
    match *id {
        IdPick::Own { stream, event } => {
            simpler_pick(stream, event, |stream, event| IdPick::Own { stream, event })
        }
        IdPick::OtherStream { stream, event } => simpler_pick(stream, event, |stream, event| {
            IdPick::OtherStream { stream, event }
        }),
        IdPick::OtherSession { session, event } => smaller(event)
            .into_iter()
            .map(|event| IdPick::OtherSession { session, event })
            .collect(),
        IdPick::Mutated { event, at, with } => {
            let mut out: Vec<IdPick> = smaller(event)
                .into_iter()
                .map(|event| IdPick::Mutated { event, at, with })
                .collect();
            out.extend(
                smaller(at)
                    .into_iter()
                    .map(|at| IdPick::Mutated { event, at, with }),
            );
            out
        }
        IdPick::Forged { seq } => smaller(seq)
            .into_iter()
            .map(|seq| IdPick::Forged { seq })
            .collect(),
    }
}

/// The simpler forms of an id picked by stream and event: stream 0, then fewer events.
fn simpler_pick(
    stream: StreamPick,
    event: u8,
    make: impl Fn(StreamPick, u8) -> IdPick,
) -> Vec<IdPick> {
    let mut out = Vec::new();
    if stream.0 != 0 {
        out.push(make(StreamPick(0), event));
    }
    out.extend(smaller(event).into_iter().map(|event| make(stream, event)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Version;

    fn stall(millis: u16) -> Op {
        Op::Stall { millis }
    }

    fn call(session: usize, count: u8) -> Op {
        Op::Call {
            session: Slot::of_index(session),
            call: ToolCall::Stream {
                count,
                size: 900,
                delay_ms: 7,
            },
            upload: Upload {
                chunks: vec![3, 9],
                abort_after: Some(1),
            },
        }
    }

    fn stream_count(op: &Op) -> Option<u8> {
        match op {
            Op::Call {
                call: ToolCall::Stream { count, .. },
                ..
            } => Some(*count),
            _ => None,
        }
    }

    #[test]
    fn every_scenario_without_free_text_has_a_byte_form() {
        use rand::{Rng, RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(99);
        let scenarios: Vec<Scenario> = (0..2_000)
            .map(|_| {
                let mut bytes = vec![0u8; rng.random_range(0..1024)];
                rng.fill_bytes(&mut bytes);
                Scenario::from_bytes(&bytes)
            })
            .collect();
        let with_text = scenarios.iter().filter(|s| s.to_bytes().is_none()).count();
        assert!(with_text > 100, "free text is common in random scenarios");
        for scenario in scenarios {
            let plain = scenario.without_free_text();
            let bytes = plain.to_bytes().expect("a byte form");
            assert_eq!(Scenario::from_bytes(&bytes), plain);
        }
    }

    #[test]
    fn only_the_ops_that_matter_are_kept_and_their_parameters_shrink() {
        // "The bug": a stream call of at least 10 events on some session, then a stall.
        let shows = |s: &Scenario| {
            let at = s.ops.iter().position(|op| stream_count(op) >= Some(10));
            at.is_some_and(|at| {
                s.ops[at + 1..]
                    .iter()
                    .any(|op| matches!(op, Op::Stall { .. }))
            })
        };
        let mut ops: Vec<Op> = (0..30).map(|i| stall(i * 10)).collect();
        ops.insert(11, call(5, 200));
        ops.insert(
            3,
            Op::Initialize {
                session: Slot::of_index(5),
                version: Version::V2025_06_18,
            },
        );
        let scenario = Scenario { ops };
        let shrunk = shrink(&scenario, shows);
        assert!(shows(&shrunk.scenario));
        let calls: Vec<&Op> = shrunk.scenario.ops.iter().collect();
        assert_eq!(calls.len(), 2, "{}", shrunk.scenario);
        // Renumbered to s0, the upload whole, the count halved down to what still shows.
        assert_eq!(
            calls[0],
            &Op::Call {
                session: Slot::of_index(0),
                call: ToolCall::Stream {
                    count: 12,
                    size: 0,
                    delay_ms: 0
                },
                upload: Upload {
                    chunks: Vec::new(),
                    abort_after: None
                },
            }
        );
        assert_eq!(calls[1], &stall(0));
        assert!(shrunk.trials <= MAX_TRIALS);
    }

    #[test]
    fn a_scenario_that_needs_every_op_is_kept_whole() {
        let ops = vec![call(0, 0), stall(0), call(0, 0)];
        let scenario = Scenario { ops: ops.clone() };
        let shrunk = shrink(&scenario, |s| s.ops.len() == 3 && s.ops[1] == stall(0));
        // Only the calls' uploads could simplify.
        assert_eq!(shrunk.scenario.ops.len(), 3);
        assert!(shrunk.scenario.ops.iter().all(|op| !matches!(
            op,
            Op::Call { upload, .. } if !upload.chunks.is_empty()
        )));
    }

    #[test]
    fn nothing_changes_when_no_candidate_shows() {
        let scenario = Scenario {
            ops: (0..64).map(|i| stall(1000 + i)).collect(),
        };
        let mut asked = 0;
        let shrunk = shrink(&scenario, |_| {
            asked += 1;
            false
        });
        assert_eq!(shrunk.scenario, scenario, "nothing shows: nothing changes");
        assert_eq!(asked, shrunk.trials);
        assert!(asked < MAX_TRIALS);
    }
}
