//! The rule behind every finding, and how strong it is.
//!
//! A finding's [`Rule`] comes from its oracle and kind ([`rule_of`]): the text it breaks,
//! quoted, where that text stands, and its [`Level`]. The levels follow the project's transport
//! rules: a `must` is a MUST or MUST NOT of the MCP specification (or a direct consequence of
//! two), which a correct server never breaks; a `should` is a SHOULD or a security or resource
//! best practice; `hardening` is what the specification does not ask of a server at all, and is
//! reported only when the user asks for it (`--hardening`).

use std::fmt;

use serde::Serialize;

use super::Oracle;

/// How strong the rule behind a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A MUST or MUST NOT: a correct server never shows one (SARIF `error`).
    Must,
    /// A SHOULD, or a security or resource best practice (SARIF `warning`).
    Should,
    /// Asked of careful servers, not by the specification; off unless asked for (SARIF `note`).
    Hardening,
}

impl Level {
    /// The name used in reports: `must`, `should`, `hardening`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Must => "must",
            Level::Should => "should",
            Level::Hardening => "hardening",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The rule a finding breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// How strong it is.
    pub level: Level,
    /// Where its text stands: the specification's version and section, or the project's own
    /// rules for what the specification leaves to best practice.
    pub source: &'static str,
    /// The rule itself, quoted from its source.
    pub text: &'static str,
}

const TRANSPORTS: &str = "MCP 2025-11-25, Basic › Transports › Streamable HTTP";
const SESSIONS: &str = "MCP 2025-11-25, Basic › Transports › Session Management";
const RESUMABILITY: &str = "MCP 2025-11-25, Basic › Transports › Resumability and Redelivery";
const MULTIPLE: &str = "MCP 2025-11-25, Basic › Transports › Multiple Connections";
const SECURITY: &str = "MCP 2025-11-25, Basic › Transports › Security Warning";
const VERSION_HEADER: &str = "MCP 2025-11-25, Basic › Transports › Protocol Version Header";
const BEST_PRACTICES: &str = "MCP 2025-11-25, Security Best Practices › Session Hijacking";
const RESOURCES: &str = "mcp-transport-fuzz transport rules (resource best practice)";
const SHTTP_2026: &str = "MCP 2026-07-28, Basic › Transports › Streamable HTTP";
const META_2026: &str = "MCP 2026-07-28, Basic › _meta › Per-request protocol fields";
const LOGGING_2026: &str = "MCP 2026-07-28, Server › Utilities › Logging";
const SUBSCRIPTIONS_2026: &str = "MCP 2026-07-28, Basic › Patterns › Subscriptions";
const FRAMING: &str = "mcp-transport-fuzz transport rules (SSE framing of JSON-RPC messages)";

const fn must(source: &'static str, text: &'static str) -> Rule {
    Rule {
        level: Level::Must,
        source,
        text,
    }
}

const fn should(source: &'static str, text: &'static str) -> Rule {
    Rule {
        level: Level::Should,
        source,
        text,
    }
}

const fn hardening(source: &'static str, text: &'static str) -> Rule {
    Rule {
        level: Level::Hardening,
        source,
        text,
    }
}

const ORIGIN: Rule = must(
    SECURITY,
    "Servers MUST validate the Origin header on all incoming connections to prevent DNS \
     rebinding attacks. If the Origin header is present and invalid, servers MUST respond with \
     HTTP 403 Forbidden.",
);
const SESSION_GONE: Rule = must(
    SESSIONS,
    "The server MAY terminate the session at any time, after which it MUST respond to requests \
     containing that session ID with HTTP 404 Not Found.",
);
const CROSS_STREAM: Rule = must(
    RESUMABILITY,
    "The server MUST NOT replay messages that would have been delivered on a different stream.",
);
const REPLAY_AFTER: Rule = must(
    RESUMABILITY,
    "The server MAY use this header to replay messages that would have been sent after the last \
     event ID, on the stream that was disconnected, and to resume the stream from that point.",
);
const RESPONSE: Rule = must(
    TRANSPORTS,
    "If the input is a JSON-RPC request, the server MUST either return Content-Type: \
     text/event-stream, to initiate an SSE stream, or Content-Type: application/json, to return \
     one JSON object.",
);
const STREAM_ENDS: Rule = should(
    TRANSPORTS,
    "The SSE stream SHOULD eventually include a JSON-RPC response for the JSON-RPC request sent \
     in the POST body. After the JSON-RPC response has been sent, the server SHOULD terminate \
     the SSE stream.",
);
const EVENT_IS_MESSAGE: Rule = must(
    FRAMING,
    "Every event the server sends carries one JSON-RPC message that the server meant to send: \
     untrusted content never produces an SSE event, field or id of its own.",
);
const RELEASED: Rule = should(
    RESOURCES,
    "After a client abort or cancel, and after a session ends, the resources held for it \
     (tasks, timers, buffers, listeners, handles) are released.",
);
const LEAK: Rule = should(
    RESOURCES,
    "Live memory, tasks, listeners and descriptors do not grow with the number of calls or \
     sessions once they have ended.",
);

/// The rule that a finding of `oracle` with `kind` breaks.
pub fn rule_of(oracle: Oracle, kind: &str) -> Rule {
    match (oracle, kind) {
        (Oracle::Framing, "misplaced-response") => must(
            TRANSPORTS,
            "The server MUST NOT send a JSON-RPC response on the stream unless resuming a stream \
             associated with a previous client request.",
        ),
        (Oracle::Framing, "body-not-json") => RESPONSE,
        (Oracle::Framing, _) => EVENT_IS_MESSAGE,
        (Oracle::CrossSession, _) => must(
            RESUMABILITY,
            "The ID MUST be globally unique across all streams within that session, and the \
             server MUST NOT replay messages that would have been delivered on a different \
             stream: so no byte of one session's messages reaches another session.",
        ),
        (Oracle::CrossStream, _) => CROSS_STREAM,
        (Oracle::ReplayOrder, _) => REPLAY_AFTER,
        (Oracle::IdUniqueness, _) => must(
            RESUMABILITY,
            "If present, the ID MUST be globally unique across all streams within that session.",
        ),
        (Oracle::ByteCap, _) => should(
            RESOURCES,
            "A stream carries at most its byte limit, plus one terminal event that says why it \
             ended.",
        ),
        (Oracle::Backpressure, _) => should(
            RESOURCES,
            "A server holds at most its high-water mark of bytes for a slow or stalled reader, \
             and waits for the reader before producing more.",
        ),
        (Oracle::IdleDuration, _) => should(
            RESOURCES,
            "A stream that makes no progress closes after its idle timeout, and no stream stays \
             open past its maximum duration.",
        ),
        (Oracle::CancelCleanup, _) => RELEASED,
        (Oracle::SessionCleanup, "deleted-id-accepted") => SESSION_GONE,
        (Oracle::SessionCleanup, _) => RELEASED,
        (Oracle::Leak, _) => LEAK,
        (Oracle::SessionId, "not-visible-ascii") => must(
            SESSIONS,
            "The session ID MUST only contain visible ASCII characters (ranging from 0x21 to \
             0x7E).",
        ),
        (Oracle::SessionId, "predictable" | "reused-id") => must(
            BEST_PRACTICES,
            "MCP servers MUST use secure, non-deterministic session IDs.",
        ),
        (Oracle::SessionId, _) => should(
            SESSIONS,
            "The session ID SHOULD be globally unique and cryptographically secure (e.g., a \
             securely generated UUID, a JWT, or a cryptographic hash).",
        ),
        (Oracle::Lifecycle, "missing-session-not-400") => should(
            SESSIONS,
            "Servers that require a session ID SHOULD respond to requests without an \
             MCP-Session-Id header (other than initialization) with HTTP 400 Bad Request.",
        ),
        (Oracle::Lifecycle, "unknown-session-not-404" | "ended-session-not-404") => SESSION_GONE,
        (Oracle::Lifecycle, "bad-version-not-400") => must(
            VERSION_HEADER,
            "If the server receives a request with an invalid or unsupported \
             MCP-Protocol-Version, it MUST respond with 400 Bad Request.",
        ),
        (Oracle::Lifecycle, "foreign-host-accepted" | "foreign-host-not-4xx") => should(
            SECURITY,
            "When running locally, servers SHOULD bind only to localhost (127.0.0.1); a server \
             on loopback checks Host as well as Origin against DNS rebinding.",
        ),
        (Oracle::Lifecycle, "bad-accept-accepted" | "bad-accept-not-4xx") => hardening(
            TRANSPORTS,
            "The client MUST include an Accept header, listing both application/json and \
             text/event-stream: the MUST is the client's, so refusing another Accept is \
             hardening, not a requirement of the server.",
        ),
        (Oracle::Lifecycle, _) => ORIGIN,
        (Oracle::Liveness, "request-stream-never-ended") => STREAM_ENDS,
        (Oracle::Liveness, "stream-failed") => should(
            MULTIPLE,
            "Disconnection MAY occur at any time; a stream that fails mid-way loses the \
             messages it was to carry unless the client can resume it.",
        ),
        (Oracle::Liveness, _) => RESPONSE,
        (Oracle::ConnectionCap, _) => should(
            RESOURCES,
            "A server caps the concurrent long-lived streams one principal (a session, a token, \
             a client address) may hold, and refuses more (429 or 503) before they exhaust its \
             memory or descriptors.",
        ),
        (Oracle::Headers, "missing-meta-not-refused") => must(
            META_2026,
            "If a request is missing a required _meta field, the server MUST reject it with \
             JSON-RPC error code -32602 (Invalid params). On HTTP, the response status MUST be \
             400 Bad Request.",
        ),
        (Oracle::Headers, "unsupported-version-not-refused") => must(
            SHTTP_2026,
            "A request naming a protocol version the server does not support gets 400 Bad \
             Request with UnsupportedProtocolVersion (-32022), whose data lists the supported \
             versions.",
        ),
        (Oracle::Headers, "header-injected") => must(
            SHTTP_2026,
            "Values that are not plain visible ASCII MUST be Base64-encoded: a header value \
             built from a tool argument never splits into, or injects, another header.",
        ),
        (Oracle::Headers, "unsupported-revision-served") => should(
            SHTTP_2026,
            "A server that does not support the requested version answers 400 with an error, \
             so that a client falls back to initialize; it does not serve the request.",
        ),
        (Oracle::Headers, _) => must(
            SHTTP_2026,
            "Servers MUST reject requests with a missing MCP-Protocol-Version, Mcp-Method or \
             Mcp-Name header, or a header value that does not match the request body, with \
             400 Bad Request and HeaderMismatch (-32020).",
        ),
        (Oracle::LegacyIgnore, _) => should(
            SHTTP_2026,
            "A server that receives legacy traffic SHOULD answer GET and DELETE with 405, \
             ignore Mcp-Session-Id (never mint or echo session IDs) and ignore Last-Event-ID.",
        ),
        (Oracle::Logging, _) => must(
            LOGGING_2026,
            "The server MUST NOT emit notifications/message for a request that does not \
             include io.modelcontextprotocol/logLevel.",
        ),
        (Oracle::CrossRequest, _) => must(
            SHTTP_2026,
            "The server MUST send each response and notification of a request on that \
             request's own response stream: a message never reaches another request's stream.",
        ),
        (Oracle::Subscription, _) => must(
            SUBSCRIPTIONS_2026,
            "The server MUST send notifications/subscriptions/acknowledged first, MUST NOT send \
             notification types the client did not ask for, and tags each notification with \
             io.modelcontextprotocol/subscriptionId.",
        ),
        (Oracle::Cancellation, _) => should(
            SHTTP_2026,
            "Closing the SSE response stream MUST be treated by the server as cancellation of \
             that request: the server SHOULD stop the work and MUST NOT send any further \
             message for it.",
        ),
        (Oracle::RequestSize, _) => should(
            RESOURCES,
            "A server refuses a request body past its size limit (413) as soon as it passes it: \
             from its Content-Length, or while reading or inflating it, never holding more than \
             the limit; a content coding it does not inflate within the limit is refused (415).",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A kind of every level and of most oracles.
    fn sample_kinds() -> Vec<(Oracle, &'static str)> {
        vec![
            (Oracle::Framing, "data-not-json"),
            (Oracle::Framing, "body-not-json"),
            (Oracle::Framing, "misplaced-response"),
            (Oracle::Lifecycle, "bad-accept-accepted"),
            (Oracle::Lifecycle, "foreign-origin-accepted"),
            (Oracle::Lifecycle, "foreign-host-accepted"),
            (Oracle::Lifecycle, "unknown-session-not-404"),
            (Oracle::Lifecycle, "missing-session-not-400"),
            (Oracle::SessionId, "too-short"),
            (Oracle::SessionId, "predictable"),
            (Oracle::Liveness, "no-response"),
            (Oracle::Liveness, "crashed"),
        ]
    }

    #[test]
    fn each_rule_names_its_level_in_its_text() {
        for (oracle, kind) in sample_kinds() {
            let rule = rule_of(oracle, kind);
            match rule.level {
                Level::Must => assert!(
                    rule.text.contains("MUST") || rule.source == FRAMING,
                    "{oracle}/{kind}"
                ),
                Level::Should => assert!(
                    rule.text.contains("SHOULD") || rule.source == RESOURCES,
                    "{oracle}/{kind}"
                ),
                Level::Hardening => assert!(rule.text.contains("client"), "{oracle}/{kind}"),
            }
        }
    }

    #[test]
    fn the_accept_check_is_hardening_and_origin_and_404_are_must() {
        let level = |oracle, kind| rule_of(oracle, kind).level;
        assert_eq!(
            level(Oracle::Lifecycle, "bad-accept-accepted"),
            Level::Hardening
        );
        assert_eq!(
            level(Oracle::Lifecycle, "bad-accept-not-4xx"),
            Level::Hardening
        );
        assert_eq!(
            level(Oracle::Lifecycle, "foreign-origin-accepted"),
            Level::Must
        );
        assert_eq!(
            level(Oracle::Lifecycle, "ended-session-not-404"),
            Level::Must
        );
        assert_eq!(
            level(Oracle::Lifecycle, "foreign-host-accepted"),
            Level::Should
        );
        assert_eq!(
            level(Oracle::SessionCleanup, "deleted-id-accepted"),
            Level::Must
        );
        assert_eq!(level(Oracle::Leak, "heap-grew"), Level::Should);
    }
}
