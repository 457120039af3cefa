//! The vulnerable fixtures: the reference server with exactly one classic bug switched on, and
//! the oracle that must catch each.

use crate::model::Fault;
use crate::oracle::Oracle;
use crate::reference::{Bug, ServerConfig};

/// One fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fixture {
    /// Its name, as in `--target fixture:NAME`.
    pub name: &'static str,
    /// The oracle that must report it.
    pub oracle: Oracle,
    /// The bug, in one line.
    pub about: &'static str,
    /// The seed scenario (see [`crate::scenario::seeds`]) that exposes it.
    pub seed: &'static str,
    switch: Switch,
}

/// Where the bug is switched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Switch {
    Model(Fault),
    Server(Bug),
    /// The stream byte cap is not applied at all.
    NoByteCap,
    /// A session may hold any number of streams at once.
    NoStreamCap,
}

impl Fixture {
    /// `config` with this fixture's bug switched on (and nothing else changed).
    pub fn apply(&self, mut config: ServerConfig) -> ServerConfig {
        match self.switch {
            Switch::Model(fault) => config.fault = Some(fault),
            Switch::Server(bug) => config.bug = Some(bug),
            Switch::NoByteCap => config.stream.byte_cap = usize::MAX,
            Switch::NoStreamCap => config.session.max_streams = usize::MAX,
        }
        config
    }

    /// The fixture called `name`.
    pub fn named(name: &str) -> Option<&'static Fixture> {
        FIXTURES.iter().find(|fixture| fixture.name == name)
    }
}

const fn fixture(
    name: &'static str,
    seed: &'static str,
    oracle: Oracle,
    switch: Switch,
    about: &'static str,
) -> Fixture {
    Fixture {
        name,
        seed,
        oracle,
        about,
        switch,
    }
}

/// Every fixture, one per bug class.
pub const FIXTURES: &[Fixture] = &[
    fixture(
        "sse-injection",
        "echo-injected-event",
        Oracle::Framing,
        Switch::Server(Bug::RawToolText),
        "tool output text written raw into the data field",
    ),
    fixture(
        "cross-session-resume",
        "resume-other-session",
        Oracle::CrossSession,
        Switch::Model(Fault::ResumeIgnoresSession),
        "resume trusts the session named in the id, not the one asking",
    ),
    fixture(
        "cross-stream-replay",
        "resume-after-second-stream",
        Oracle::CrossStream,
        Switch::Model(Fault::ResumeUsesLatestStream),
        "resume replays the session's latest stream, not the id's",
    ),
    fixture(
        "inclusive-replay",
        "resume-own-stream",
        Oracle::ReplayOrder,
        Switch::Model(Fault::InclusiveReplay),
        "resume replays the Last-Event-ID event itself",
    ),
    fixture(
        "duplicate-event-ids",
        "two-echo-streams",
        Oracle::IdUniqueness,
        Switch::Server(Bug::DuplicateEventIds),
        "per-stream counters as event ids, shared by a session's streams",
    ),
    fixture(
        "no-byte-cap",
        "large-fast-stream",
        Oracle::ByteCap,
        Switch::NoByteCap,
        "response streams have no byte cap",
    ),
    fixture(
        "no-backpressure",
        "stall-large-stream",
        Oracle::Backpressure,
        Switch::Model(Fault::NoBackpressure),
        "unbounded buffering for a slow reader",
    ),
    fixture(
        "no-idle-timeout",
        "stall-standalone-stream",
        Oracle::IdleDuration,
        Switch::Model(Fault::NoIdleTimeout),
        "a stalled stream never times out",
    ),
    fixture(
        "missing-cancel-cleanup",
        "drop-slow-stream",
        Oracle::CancelCleanup,
        Switch::Server(Bug::NoCancelCleanup),
        "a dropped response keeps its connection, buffers and timer",
    ),
    fixture(
        "stuck-after-aborted-upload",
        "abort-upload-then-call",
        Oracle::Liveness,
        Switch::Server(Bug::StuckAfterAbortedUpload),
        "an aborted upload leaves its session's call lock taken: later tool calls never answer",
    ),
    fixture(
        "missing-abort-cleanup",
        "abort-upload",
        Oracle::CancelCleanup,
        Switch::Server(Bug::NoAbortCleanup),
        "an aborted upload keeps its partial body and task",
    ),
    fixture(
        "unbounded-cache",
        "fresh-cache-keys",
        Oracle::Leak,
        Switch::Server(Bug::UnboundedCache),
        "a global cache keyed on tool arguments that never evicts",
    ),
    fixture(
        "listener-accumulation",
        "subscribe-twice",
        Oracle::Leak,
        Switch::Server(Bug::ListenerAccumulation),
        "every subscribe adds a global listener that is never removed",
    ),
    fixture(
        "interval-leak",
        "monitor",
        Oracle::Leak,
        Switch::Server(Bug::IntervalLeak),
        "monitor intervals (and what their closures hold) outlive their session",
    ),
    fixture(
        "state-after-delete",
        "echo-then-delete",
        Oracle::SessionCleanup,
        Switch::Server(Bug::StateAfterDelete),
        "DELETE forgets the id but keeps the session's streams and logs",
    ),
    fixture(
        "deleted-id-accepted",
        "use-after-delete",
        Oracle::SessionCleanup,
        Switch::Server(Bug::DeletedIdAccepted),
        "DELETE answers 200 and the id keeps working",
    ),
    fixture(
        "guessable-session-ids",
        "three-sessions",
        Oracle::SessionId,
        Switch::Server(Bug::GuessableSessionIds),
        "session ids from a counter",
    ),
    fixture(
        "missing-origin-check",
        "foreign-origin",
        Oracle::Lifecycle,
        Switch::Server(Bug::NoOriginCheck),
        "a foreign Origin is served",
    ),
    fixture(
        "wrong-status-unknown-session",
        "unknown-session",
        Oracle::Lifecycle,
        Switch::Server(Bug::WrongStatusUnknownSession),
        "an unknown session id gets 400 instead of 404",
    ),
    fixture(
        "no-stream-cap",
        "flood-slow-calls",
        Oracle::ConnectionCap,
        Switch::NoStreamCap,
        "one session may hold any number of concurrent streams",
    ),
    fixture(
        "no-body-limit",
        "oversized-chunked-body",
        Oracle::RequestSize,
        Switch::Server(Bug::NoBodyLimit),
        "a request body is read whole before its size is checked",
    ),
    fixture(
        "inflate-unbounded",
        "gzip-bomb",
        Oracle::RequestSize,
        Switch::Server(Bug::InflateUnbounded),
        "a gzip or deflate body is inflated whole before its size is checked",
    ),
    fixture(
        "shared-response-stream",
        "stateless-concurrent-calls",
        Oracle::CrossRequest,
        Switch::Server(Bug::SharedResponseStream),
        "2026-07-28: a stateless request's messages go to the latest open request stream",
    ),
    fixture(
        "no-cancel-on-close",
        "stateless-drop-slow-call",
        Oracle::Cancellation,
        Switch::Server(Bug::NoCancelOnClose),
        "2026-07-28: closing a request's stream does not stop its work",
    ),
    fixture(
        "listen-ignores-filter",
        "listen-one-resource",
        Oracle::Subscription,
        Switch::Server(Bug::ListenIgnoresFilter),
        "2026-07-28: subscriptions/listen sends every notification type to every listener",
    ),
    fixture(
        "no-header-checks",
        "wrong-name-header",
        Oracle::Headers,
        Switch::Server(Bug::NoHeaderChecks),
        "2026-07-28: Mcp-Method, Mcp-Name and Mcp-Param headers are not checked",
    ),
    fixture(
        "legacy-session-echo",
        "stale-session-id",
        Oracle::LegacyIgnore,
        Switch::Server(Bug::LegacySessionEcho),
        "2026-07-28: a stale Mcp-Session-Id is echoed in the response",
    ),
    fixture(
        "logs-without-level",
        "monitor-without-log-level",
        Oracle::Logging,
        Switch::Server(Bug::LogsWithoutLevel),
        "2026-07-28: log notifications reach requests that set no logLevel",
    ),
];
