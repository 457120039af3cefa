//! Proptest strategies for the model property suites, and the broken-variant runner.
//!
//! The op types, the harnesses ([`StreamRun`](mcp_transport_fuzz::model::check::StreamRun),
//! [`World`](mcp_transport_fuzz::model::check::World)) and the invariant checks live in the
//! library, in `mcp_transport_fuzz::model::check`, where the fuzz targets `bounded_stream` and
//! `session_resume` run the same checks; the strategies here build the same op types within the
//! same ranges (`check::ranges`).
//!
//! Each suite states one invariant as a function of a [`Fault`] (none for the correct model),
//! runs it with `proptest!` on the correct model, and runs it on a broken variant with
//! [`expect_counterexample`], which fails unless proptest finds a counterexample.
//!
//! Case counts: proptest's default (256) unless `PROPTEST_CASES` says otherwise, e.g.
//! `PROPTEST_CASES=2560 cargo test --release --test properties resume_isolation`.

use std::fmt::Debug;

use mcp_transport_fuzz::model::check::session_ops::{DATA_ALPHABET, MUTATIONS};
use mcp_transport_fuzz::model::check::{
    ranges, MintedIdPick, Pick, SessionOp, StreamOp, Violation,
};
use mcp_transport_fuzz::model::{
    AtCapacity, Fault, HighWater, LogLimits, Millis, SessionConfig, StreamConfig, StreamKind,
};
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::{Config, TestError, TestRng, TestRunner};

/// Runs `property` against a broken variant and panics unless proptest finds a counterexample.
/// The minimal counterexample is printed (see it with `--nocapture`).
pub fn expect_counterexample<S>(
    fault: Fault,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), TestCaseError>,
) where
    S: Strategy,
    S::Value: Debug,
{
    let defaults = Config::default();
    let config = Config {
        // A broken variant stops at its first counterexample; the margin only matters if the
        // property were too weak to see the bug.
        cases: defaults.cases.max(4096),
        failure_persistence: None,
        ..defaults
    };
    // A fixed seed: whether a broken variant is caught must never depend on luck.
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    match TestRunner::new_with_rng(config, rng).run(&strategy, property) {
        Err(TestError::Fail(reason, input)) => {
            eprintln!("{fault:?} caught: {reason}\n  minimal input: {input:?}")
        }
        other => panic!("the property cannot tell {fault:?} from the correct model: {other:?}"),
    }
}

/// A check's violation as a proptest failure.
pub fn fail(violation: Violation) -> TestCaseError {
    TestCaseError::fail(violation.to_string())
}

// ---------------------------------------------------------------------------------------------
// The bounded stream.

/// Small limits, so that caps, marks and deadlines are reached within a few ops.
pub fn stream_config(fault: Option<Fault>) -> impl Strategy<Value = StreamConfig> {
    let high_water = prop_oneof![
        ranges::HIGH_WATER_BYTES.prop_map(HighWater::Bytes),
        ranges::HIGH_WATER_CHUNKS.prop_map(HighWater::Chunks),
        (ranges::HIGH_WATER_BYTES, ranges::HIGH_WATER_CHUNKS)
            .prop_map(|(bytes, chunks)| HighWater::Both { bytes, chunks }),
    ];
    (
        ranges::BYTE_CAP,
        high_water,
        ranges::STREAM_IDLE_MS,
        ranges::MAX_DURATION_MS,
        ranges::MAX_CHUNK_BYTES,
    )
        .prop_map(
            move |(byte_cap, high_water, idle, duration, max_chunk_bytes)| StreamConfig {
                byte_cap,
                high_water,
                idle_timeout: Millis(idle),
                max_duration: Millis(duration),
                max_chunk_bytes,
                fault,
            },
        )
}

/// Op sequences; `enders` weighs Finish, Cancel and Abort (0 leaves them out); the clock moves
/// less than `max_advance` ms at a time.
pub fn stream_ops(enders: u32, max_advance: u64) -> impl Strategy<Value = Vec<StreamOp>> {
    let op = prop_oneof![
        8 => ranges::OFFER_DATA_BYTES.prop_map(StreamOp::Offer),
        6 => ranges::READ_BYTES.prop_map(StreamOp::Read),
        3 => (0..max_advance).prop_map(StreamOp::Advance),
        enders => Just(StreamOp::Finish),
        enders => Just(StreamOp::Cancel),
        enders => Just(StreamOp::Abort),
    ];
    proptest::collection::vec(op, 0..64)
}

// ---------------------------------------------------------------------------------------------
// Sessions and resumption.

/// Small caps, so that refusals, eviction and expiry happen within a few ops.
pub fn session_config(fault: Option<Fault>) -> impl Strategy<Value = SessionConfig> {
    (
        ranges::MAX_SESSIONS,
        prop_oneof![Just(AtCapacity::Refuse), Just(AtCapacity::EvictIdlest)],
        ranges::MAX_STREAMS,
        ranges::SESSION_IDLE_MS,
        ranges::LOG_EVENTS,
        ranges::LOG_BYTES,
    )
        .prop_map(
            move |(max_sessions, at_capacity, max_streams, idle, max_events, max_bytes)| {
                SessionConfig {
                    max_sessions,
                    at_capacity,
                    max_streams,
                    idle_timeout: Millis(idle),
                    log: LogLimits {
                        max_events,
                        max_bytes,
                    },
                    fault,
                }
            },
        )
}

fn pick() -> impl Strategy<Value = Pick> {
    any::<u8>().prop_map(Pick)
}

pub fn id_pick() -> impl Strategy<Value = MintedIdPick> {
    prop_oneof![
        2 => pick().prop_map(MintedIdPick::Genuine),
        4 => pick().prop_map(MintedIdPick::Own),
        3 => (pick(), pick(), select(MUTATIONS))
            .prop_map(|(id, at, byte)| MintedIdPick::Mutated(id, at, byte)),
        1 => pick().prop_map(MintedIdPick::ForeignKey),
        1 => garbage().prop_map(MintedIdPick::Garbage),
    ]
}

/// Id-like garbage of [`ranges::GARBAGE_BYTES`] bytes, as the fuzz targets derive it.
fn garbage() -> impl Strategy<Value = String> {
    proptest::collection::vec(select(GARBAGE_ALPHABET), ranges::GARBAGE_BYTES)
        .prop_map(|bytes| bytes.into_iter().map(char::from).collect())
}

/// The characters of an id's written form, and its separator.
const GARBAGE_ALPHABET: &[u8] = b"0123456789abcdef-";

fn data() -> impl Strategy<Value = String> {
    proptest::collection::vec(select(DATA_ALPHABET), ranges::DATA_CHARS)
        .prop_map(|bytes| bytes.into_iter().map(char::from).collect())
}

/// Op sequences shorter than `len`; `resumes` weighs resumes (0 leaves them out).
pub fn session_ops(resumes: u32, len: usize) -> impl Strategy<Value = Vec<SessionOp>> {
    let kind = prop_oneof![
        3 => Just(StreamKind::Request),
        1 => Just(StreamKind::Standalone),
    ];
    let op = prop_oneof![
        2 => Just(SessionOp::Create),
        3 => (pick(), kind).prop_map(|(s, k)| SessionOp::Open(s, k)),
        1 => (pick(), pick()).prop_map(|(s, t)| SessionOp::Close(s, t)),
        8 => (pick(), pick(), data()).prop_map(|(s, t, data)| SessionOp::Append(s, t, data)),
        resumes => (pick(), id_pick()).prop_map(|(s, id)| SessionOp::Resume(s, id)),
        1 => pick().prop_map(SessionOp::Delete),
        1 => ranges::SESSION_ADVANCE_MS.prop_map(SessionOp::Advance),
        1 => Just(SessionOp::Sweep),
    ];
    proptest::collection::vec(op, 0..len)
}
