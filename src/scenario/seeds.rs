//! Seed scenarios: one per bug class, each the shortest client behaviour that exposes it.
//!
//! On the reference server every one of them is clean; on the fixture of its class, its
//! oracle reports it. They are the seed corpus of the harness fuzz targets (written to
//! `corpus/harness_reference/` as bytes by [`Scenario::to_bytes`]) and the campaign's
//! built-in seeds.

use super::{
    CacheKey, Deviation, Flood, IdPick, Interests, Misstep, Op, Oversize, Scenario, Slot,
    StreamPick, ToolCall, Upload, Version,
};
use crate::input::{Piece, Untrusted};

/// Each seed, by name (the file name in the corpus).
pub fn seeds() -> Vec<(&'static str, Scenario)> {
    let s0 = Slot::of_index(0);
    let s1 = Slot::of_index(1);
    let first = StreamPick(0);
    let init = |session| Op::Initialize {
        session,
        version: Version::V2025_06_18,
    };
    let call = |session, call| Op::Call {
        session,
        call,
        upload: Upload {
            chunks: Vec::new(),
            abort_after: None,
        },
    };
    let stream = |count, size, delay_ms| ToolCall::Stream {
        count,
        size,
        delay_ms,
    };
    let read_all = Op::Read {
        stream: first,
        bytes: u16::MAX,
    };
    let read_some = Op::Read {
        stream: first,
        bytes: 200,
    };
    let drop_first = Op::DropResponse { stream: first };
    let (c0, c1) = (s0, s1);
    let discover = |client| Op::Discover { client };
    let stateless = |client, call, deviation| Op::Stateless {
        client,
        call,
        deviation,
    };
    let echo = |pieces: Vec<Piece>| ToolCall::Echo {
        text: Untrusted(pieces),
    };
    // An echo call whose upload the client aborts after two 8-byte chunks.
    let aborted_upload = |session| Op::Call {
        session,
        call: echo(vec![Piece::Space]),
        upload: Upload {
            chunks: vec![8],
            abort_after: Some(2),
        },
    };
    let seeds = vec![
        (
            "echo-injected-event",
            vec![
                init(s0),
                Op::Initialized { session: s0 },
                call(
                    s0,
                    echo(vec![Piece::InjectedEvent, Piece::DataField, Piece::Lf]),
                ),
                read_all.clone(),
            ],
        ),
        (
            "resume-other-session",
            vec![
                init(s0),
                init(s1),
                call(s0, stream(5, 16, 100)),
                read_some.clone(),
                drop_first.clone(),
                Op::Resume {
                    session: s1,
                    id: IdPick::OtherSession {
                        session: s0,
                        event: 0,
                    },
                },
                read_all.clone(),
            ],
        ),
        (
            "resume-after-second-stream",
            vec![
                init(s0),
                call(s0, stream(5, 16, 100)),
                read_some.clone(),
                drop_first.clone(),
                call(s0, stream(5, 16, 100)),
                read_some.clone(),
                drop_first.clone(),
                Op::Resume {
                    session: s0,
                    id: IdPick::Own {
                        stream: first,
                        event: 0,
                    },
                },
            ],
        ),
        (
            "resume-own-stream",
            vec![
                init(s0),
                call(s0, stream(5, 16, 100)),
                read_some.clone(),
                drop_first.clone(),
                Op::Resume {
                    session: s0,
                    id: IdPick::Own {
                        stream: first,
                        event: 0,
                    },
                },
                read_all.clone(),
            ],
        ),
        (
            "two-echo-streams",
            vec![init(s0), call(s0, echo(vec![])), call(s0, echo(vec![]))],
        ),
        (
            "large-fast-stream",
            vec![init(s0), call(s0, stream(255, 1024, 0))],
        ),
        (
            "stall-large-stream",
            vec![
                init(s0),
                call(s0, stream(255, 1024, 0)),
                Op::Stall { millis: 1000 },
            ],
        ),
        (
            "stall-standalone-stream",
            vec![
                init(s0),
                Op::OpenGet { session: s0 },
                Op::Stall { millis: 10_000 },
                Op::Read {
                    stream: first,
                    bytes: 100,
                },
            ],
        ),
        (
            "drop-slow-stream",
            vec![init(s0), call(s0, stream(10, 16, 100)), drop_first.clone()],
        ),
        ("abort-upload", vec![init(s0), aborted_upload(s0)]),
        (
            "abort-upload-then-call",
            vec![init(s0), aborted_upload(s0), call(s0, stream(2, 16, 0))],
        ),
        (
            "fresh-cache-keys",
            vec![
                init(s0),
                call(
                    s0,
                    ToolCall::FetchCached {
                        key: CacheKey::Fresh,
                    },
                ),
                call(
                    s0,
                    ToolCall::FetchCached {
                        key: CacheKey::Fresh,
                    },
                ),
            ],
        ),
        (
            "subscribe-twice",
            vec![
                init(s0),
                call(s0, ToolCall::Subscribe),
                call(s0, ToolCall::Subscribe),
            ],
        ),
        (
            "monitor",
            vec![
                init(s0),
                call(
                    s0,
                    ToolCall::Monitor {
                        count: 20,
                        interval_ms: 990,
                    },
                ),
            ],
        ),
        (
            "echo-then-delete",
            vec![
                init(s0),
                call(s0, echo(vec![])),
                read_all.clone(),
                Op::Delete { session: s0 },
            ],
        ),
        (
            "use-after-delete",
            vec![
                init(s0),
                Op::Delete { session: s0 },
                Op::ListTools { session: s0 },
            ],
        ),
        (
            "three-sessions",
            vec![init(s0), init(s1), init(Slot::of_index(2))],
        ),
        (
            "foreign-origin",
            vec![
                init(s0),
                Op::Misstep {
                    session: s0,
                    misstep: Misstep::ForeignOrigin,
                },
            ],
        ),
        (
            "unknown-session",
            vec![
                init(s0),
                Op::Misstep {
                    session: s0,
                    misstep: Misstep::UnknownSessionId,
                },
            ],
        ),
        (
            "flood-slow-calls",
            vec![
                init(s0),
                Op::Initialized { session: s0 },
                Op::Flood {
                    session: s0,
                    streams: Flood::Calls,
                },
            ],
        ),
        (
            "flood-get-streams",
            vec![
                init(s0),
                Op::Initialized { session: s0 },
                Op::Flood {
                    session: s0,
                    streams: Flood::Gets,
                },
            ],
        ),
        (
            "oversized-chunked-body",
            vec![
                init(s0),
                Op::Initialized { session: s0 },
                Op::Oversize {
                    session: s0,
                    body: Oversize::Chunked,
                },
            ],
        ),
        (
            "gzip-bomb",
            vec![
                init(s0),
                Op::Initialized { session: s0 },
                Op::Oversize {
                    session: s0,
                    body: Oversize::Gzip,
                },
            ],
        ),
        (
            "stateless-concurrent-calls",
            vec![
                discover(c0),
                discover(c1),
                // 4 ms apart: slow enough in real time too (where delays are at most 4 ms).
                stateless(c0, stream(20, 8, 4), Deviation::None),
                stateless(c1, stream(20, 8, 4), Deviation::None),
                Op::Read {
                    stream: StreamPick(1),
                    bytes: u16::MAX,
                },
                read_all.clone(),
            ],
        ),
        (
            "stateless-drop-slow-call",
            vec![
                discover(c0),
                stateless(c0, stream(10, 8, 1000), Deviation::None),
                read_some.clone(),
                drop_first.clone(),
            ],
        ),
        (
            "listen-one-resource",
            vec![
                discover(c0),
                Op::Listen {
                    client: c0,
                    interests: Interests(0x10),
                },
                discover(c1),
                stateless(c1, ToolCall::Subscribe, Deviation::None),
                stateless(
                    c1,
                    ToolCall::FetchCached {
                        key: CacheKey::Repeat(0),
                    },
                    Deviation::None,
                ),
                read_all.clone(),
            ],
        ),
        (
            "wrong-name-header",
            vec![
                discover(c0),
                stateless(c0, echo(vec![Piece::Space]), Deviation::WrongNameHeader),
                read_all.clone(),
            ],
        ),
        (
            "stale-session-id",
            vec![
                init(s1),
                Op::Initialized { session: s1 },
                discover(c0),
                stateless(c0, echo(vec![Piece::Space]), Deviation::StaleSessionId),
                read_all.clone(),
            ],
        ),
        (
            "monitor-without-log-level",
            vec![
                discover(c0),
                stateless(
                    c0,
                    ToolCall::Monitor {
                        count: 2,
                        interval_ms: 0,
                    },
                    Deviation::None,
                ),
                read_all.clone(),
            ],
        ),
    ];
    seeds
        .into_iter()
        .map(|(name, ops)| (name, Scenario { ops }))
        .collect()
}
