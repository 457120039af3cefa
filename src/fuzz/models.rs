//! The model fuzz targets: arbitrary op sequences against the correct models (no fault),
//! checked by the same oracle as the property suites ([`crate::model::check`]).

use std::fmt::{Debug, Write};

use arbitrary::{Arbitrary, Unstructured};

use crate::input::Corpus;
use crate::model::check::{SessionCase, StreamCase, Violation};

/// `bounded_stream`: a [`StreamCase`] (small limits, up to 256 ops of offer, read, clock,
/// finish, cancel and abort, then an end) on one bounded stream.
///
/// Checks, after every op: answers fit their ops; buffered bytes within the high-water mark
/// plus one chunk, chunks within the chunk mark; the idle and duration deadlines closed the
/// stream when due and not before; the ledger holds exactly what is live. At the end: the
/// stream closed and holds nothing; a finished stream delivered every accepted byte; the
/// reader got the accepted chunks, then at most one terminal event (at most the byte cap plus
/// one terminal event), that of the deadline that closed it.
pub fn bounded_stream(data: &[u8]) -> Corpus {
    let Ok(case) = StreamCase::arbitrary_take_rest(Unstructured::new(data)) else {
        return Corpus::Reject;
    };
    if let Err(violation) = case.check() {
        fail(
            "bounded_stream",
            &violation,
            &(case.config, case.end),
            &case.ops,
        );
    }
    Corpus::Keep
}

/// `session_resume`: a [`SessionCase`] (small limits, a seed for the store's entropy, up to
/// 128 ops of create, open, close, append, resume, DELETE, clock and sweep over many sessions
/// and streams, then how the live sessions end).
///
/// Checks, after every op: every answer of the store against an oracle (lifecycle, caps,
/// expiry, fresh ids, contiguous sequence numbers); every resume returns only the asking
/// session's events on the id's stream, strictly after the id, in order, without a gap unless
/// it says `Evicted`, or the one right refusal; forged, mutated, invented and other-key ids
/// are refused; the ledger holds exactly what is live. At the end, once every session has
/// ended: the ledger is at zero and every session id is unknown.
pub fn session_resume(data: &[u8]) -> Corpus {
    let Ok(case) = SessionCase::arbitrary_take_rest(Unstructured::new(data)) else {
        return Corpus::Reject;
    };
    if let Err(violation) = case.check() {
        fail(
            "session_resume",
            &violation,
            &(case.config, case.seed, &case.ends),
            &case.ops,
        );
    }
    Corpus::Keep
}

/// Panics with the violation and the whole case, one op a line.
#[cold]
fn fail<Op: Debug>(target: &str, violation: &Violation, setup: &dyn Debug, ops: &[Op]) -> ! {
    let mut report = format!("{target}: {violation}\nsetup: {setup:?}\nops:\n");
    for (n, op) in ops.iter().enumerate() {
        let _ = writeln!(report, "  #{n} {op:?}");
    }
    panic!("{report}");
}

#[cfg(test)]
mod tests {
    //! The fuzz targets' checks are not vacuous: on concrete op sequences, each broken variant
    //! of a model is reported as a violation of the invariant it breaks, and the correct model
    //! passes the same sequence.

    use crate::model::check::{
        Invariant, MintedIdPick, Pick, SessionCase, SessionEnd, SessionOp, StreamCase,
        StreamEnding, StreamOp,
    };
    use crate::model::{
        AtCapacity, Fault, HighWater, LogLimits, Millis, SessionConfig, StreamConfig, StreamKind,
    };

    fn stream_case(config: StreamConfig, ops: &[StreamOp], end: StreamEnding) -> StreamCase {
        StreamCase {
            config,
            ops: ops.to_vec(),
            end,
        }
    }

    #[test]
    fn bounded_stream_check_reports_each_broken_stream() {
        let config = StreamConfig {
            byte_cap: 399,
            high_water: HighWater::Chunks(5),
            idle_timeout: Millis(300),
            max_duration: Millis(1000),
            max_chunk_bytes: 79,
            fault: None,
        };
        use StreamOp::*;
        let cases = [
            (
                Fault::ByteCapOffByOne,
                Invariant::ByteCap,
                // One 7-byte event against a 6-byte cap.
                stream_case(
                    StreamConfig {
                        byte_cap: 6,
                        ..config
                    },
                    &[Offer(0), Read(47)],
                    StreamEnding::FinishAndDrain,
                ),
            ),
            (
                Fault::NoBackpressure,
                Invariant::HighWater,
                stream_case(
                    StreamConfig {
                        high_water: HighWater::Chunks(1),
                        ..config
                    },
                    &[Offer(0), Offer(0)],
                    StreamEnding::Cancel,
                ),
            ),
            (
                Fault::NoIdleTimeout,
                Invariant::Deadline,
                stream_case(
                    config,
                    &[Offer(3), Advance(299), Advance(1)],
                    StreamEnding::Abort,
                ),
            ),
            (
                Fault::DurationResetsOnRead,
                Invariant::Deadline,
                // Read every 200 ms: never idle, but past the duration at 1000 ms.
                stream_case(
                    config,
                    &[
                        Offer(1),
                        Advance(200),
                        Read(47),
                        Offer(1),
                        Advance(200),
                        Read(47),
                        Offer(1),
                        Advance(200),
                        Read(47),
                        Offer(1),
                        Advance(200),
                        Read(47),
                        Advance(200),
                    ],
                    StreamEnding::Cancel,
                ),
            ),
            (
                Fault::LeakOnAbort,
                Invariant::Ledger,
                stream_case(config, &[Offer(5), Offer(5), Read(3)], StreamEnding::Abort),
            ),
            (
                Fault::TerminalMidEvent,
                Invariant::ByteCap,
                // The idle timeout fires while the reader holds 5 bytes of a 28-byte event.
                stream_case(
                    config,
                    &[Offer(20), Read(5), Advance(300)],
                    StreamEnding::FinishAndDrain,
                ),
            ),
        ];
        for (fault, invariant, mut case) in cases {
            assert_eq!(case.check(), Ok(()), "the correct model fails {case:?}");
            case.config.fault = Some(fault);
            let violation = case
                .check()
                .expect_err(&format!("{fault:?} passes {case:?}"));
            assert_eq!(violation.invariant, invariant, "{fault:?}: {violation}");
        }
    }

    #[test]
    fn session_resume_check_reports_each_broken_store() {
        let config = SessionConfig {
            max_sessions: 5,
            at_capacity: AtCapacity::Refuse,
            max_streams: 4,
            idle_timeout: Millis(500),
            log: LogLimits {
                max_events: 5,
                max_bytes: 1499,
            },
            fault: None,
        };
        use SessionOp::*;
        let (s0, s1) = (Pick(0), Pick(1));
        let append = |stream: Pick| Append(s0, stream, "data".to_owned());
        let cases = [
            (
                Fault::ResumeIgnoresSession,
                Invariant::Isolation,
                config,
                // Session 1 resumes with the first id of session 0.
                vec![
                    Create,
                    Create,
                    Open(s0, StreamKind::Request),
                    append(s0),
                    append(s0),
                    Resume(s1, MintedIdPick::Genuine(s0)),
                ],
            ),
            (
                Fault::ResumeUsesLatestStream,
                Invariant::Isolation,
                config,
                vec![
                    Create,
                    Open(s0, StreamKind::Request),
                    append(s0),
                    append(s0),
                    Open(s0, StreamKind::Standalone),
                    append(s1),
                    append(s1),
                    Resume(s0, MintedIdPick::Own(s0)),
                ],
            ),
            (
                Fault::InclusiveReplay,
                Invariant::Isolation,
                config,
                vec![
                    Create,
                    Open(s0, StreamKind::Request),
                    append(s0),
                    append(s0),
                    Resume(s0, MintedIdPick::Own(s0)),
                ],
            ),
            (
                Fault::SilentEviction,
                Invariant::Isolation,
                SessionConfig {
                    log: LogLimits {
                        max_events: 1,
                        max_bytes: 1499,
                    },
                    ..config
                },
                vec![
                    Create,
                    Open(s0, StreamKind::Request),
                    append(s0),
                    append(s0),
                    append(s0),
                    Resume(s0, MintedIdPick::Own(s0)),
                ],
            ),
            (
                Fault::UncheckedTag,
                Invariant::Forgery,
                config,
                // An id minted under another key is taken for another session's.
                vec![Create, Resume(s0, MintedIdPick::ForeignKey(s0))],
            ),
            (
                Fault::LeakOnExpiry,
                Invariant::Ledger,
                config,
                vec![
                    Create,
                    Open(s0, StreamKind::Request),
                    append(s0),
                    Advance(499),
                    Advance(1),
                    Sweep,
                ],
            ),
        ];
        for (fault, invariant, config, ops) in cases {
            let mut case = SessionCase {
                config,
                seed: 7,
                ops,
                ends: vec![SessionEnd::Delete],
            };
            assert_eq!(case.check(), Ok(()), "the correct model fails {case:?}");
            case.config.fault = Some(fault);
            let violation = case
                .check()
                .expect_err(&format!("{fault:?} passes {case:?}"));
            assert_eq!(violation.invariant, invariant, "{fault:?}: {violation}");
        }
    }
}
