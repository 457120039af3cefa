//! Refusals: every way a request is turned down, each with one HTTP status.

use http::StatusCode;

use crate::model::{ResumeError, SessionError};

/// JSON-RPC error codes of the refusals' bodies.
pub(crate) mod code {
    pub(crate) const PARSE_ERROR: i64 = -32700;
    pub(crate) const INVALID_REQUEST: i64 = -32600;
    pub(crate) const METHOD_NOT_FOUND: i64 = -32601;
    pub(crate) const INVALID_PARAMS: i64 = -32602;
    pub(crate) const INTERNAL_ERROR: i64 = -32603;
    /// A transport-level refusal (the range JSON-RPC leaves to servers).
    pub(crate) const SERVER_ERROR: i64 = -32000;
    /// 2026-07-28: a header that is missing, malformed, or not what the body says.
    pub(crate) const HEADER_MISMATCH: i64 = -32020;
    /// 2026-07-28: a protocol version the server does not speak.
    pub(crate) const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
}

/// A request the server turns down: the response is [`Refusal::status`] with a JSON-RPC error
/// object (`id` null) as an `application/json` body. Messages never quote the request, so a
/// refusal reveals nothing beyond its status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("the request names no host; send a Host header")]
    HostMissing,
    #[error("the Host header is malformed or repeated")]
    HostMalformed,
    #[error("the Host is not one this server answers to (DNS rebinding protection)")]
    HostNotAllowed,
    #[error("the Origin is not allowed")]
    OriginNotAllowed,
    #[error("no endpoint here; the MCP endpoint is elsewhere")]
    NotFound,
    #[error("the MCP endpoint takes GET, POST and DELETE")]
    MethodNotAllowed,
    #[error("the Accept header must list {needs}")]
    NotAcceptable { needs: &'static str },
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    #[error("the body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("the body did not arrive in time")]
    BodyTimeout,
    #[error("the body could not be read")]
    BodyFailed,
    #[error("the body is not valid in its Content-Encoding")]
    BodyMalformed,
    #[error("the Content-Encoding must be gzip, deflate or identity")]
    UnsupportedEncoding,
    #[error("parse error: the body is not JSON")]
    Parse,
    #[error("invalid request: {0}")]
    InvalidMessage(&'static str),
    #[error("invalid params: {0}")]
    InvalidParams(&'static str),
    #[error("the request has no Mcp-Session-Id; send the id from the initialize response")]
    SessionMissing,
    #[error("unknown session: it never existed, was deleted or expired; initialize a new one")]
    SessionUnknown,
    #[error(
        "the MCP-Protocol-Version header is invalid, unsupported or not the negotiated version"
    )]
    ProtocolVersion,
    #[error("the Last-Event-ID is not a valid event id for this session")]
    LastEventId,
    #[error("the stream of the Last-Event-ID has ended; nothing can be replayed")]
    StreamEnded,
    #[error("events after the Last-Event-ID were evicted from the log; nothing was replayed")]
    Evicted,
    #[error("the stream already has a live connection; close it first")]
    StreamConnected,
    #[error("the session holds its maximum of {limit} streams; retry later")]
    TooManyStreams { limit: usize },
    #[error("the server holds its maximum of {limit} sessions; retry later")]
    TooManySessions { limit: usize },
    #[error("internal error: {0}")]
    Internal(&'static str),
    #[error("header mismatch: {0}")]
    HeaderMismatch(&'static str),
    #[error("unsupported protocol version")]
    UnsupportedVersion { requested: String },
    #[error("method not found")]
    MethodNotFound,
    #[error("the 2026-07-28 revision has no GET or DELETE: POST only")]
    PostOnly,
}

impl Refusal {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Refusal::HostMissing
            | Refusal::HostMalformed
            | Refusal::BodyFailed
            | Refusal::BodyMalformed
            | Refusal::Parse
            | Refusal::InvalidMessage(_)
            | Refusal::InvalidParams(_)
            | Refusal::SessionMissing
            | Refusal::ProtocolVersion
            | Refusal::LastEventId
            | Refusal::StreamEnded
            | Refusal::HeaderMismatch(_)
            | Refusal::UnsupportedVersion { .. } => StatusCode::BAD_REQUEST,
            Refusal::MethodNotFound => StatusCode::NOT_FOUND,
            Refusal::PostOnly => StatusCode::METHOD_NOT_ALLOWED,
            Refusal::HostNotAllowed | Refusal::OriginNotAllowed => StatusCode::FORBIDDEN,
            Refusal::NotFound | Refusal::SessionUnknown => StatusCode::NOT_FOUND,
            Refusal::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Refusal::NotAcceptable { .. } => StatusCode::NOT_ACCEPTABLE,
            Refusal::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Refusal::Evicted | Refusal::StreamConnected => StatusCode::CONFLICT,
            Refusal::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::UnsupportedMediaType | Refusal::UnsupportedEncoding => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Refusal::TooManyStreams { .. } => StatusCode::TOO_MANY_REQUESTS,
            Refusal::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Refusal::TooManySessions { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The JSON-RPC error code of the body.
    pub(crate) fn rpc_code(&self) -> i64 {
        match self {
            Refusal::Parse => code::PARSE_ERROR,
            Refusal::InvalidMessage(_) => code::INVALID_REQUEST,
            Refusal::InvalidParams(_) => code::INVALID_PARAMS,
            Refusal::Internal(_) => code::INTERNAL_ERROR,
            Refusal::HeaderMismatch(_) => code::HEADER_MISMATCH,
            Refusal::UnsupportedVersion { .. } => code::UNSUPPORTED_PROTOCOL_VERSION,
            Refusal::MethodNotFound => code::METHOD_NOT_FOUND,
            _ => code::SERVER_ERROR,
        }
    }

    /// The error's `data`, where the revision defines one: the versions this server speaks
    /// beside the one asked for.
    pub(crate) fn data(&self) -> Option<serde_json::Value> {
        match self {
            Refusal::UnsupportedVersion { requested } => Some(serde_json::json!({
                "supported": super::version::ProtocolVersion::SUPPORTED,
                "requested": requested,
            })),
            _ => None,
        }
    }
}

impl From<ResumeError> for Refusal {
    /// Malformed, forged and foreign ids get the same status and message, so a refusal never
    /// tells an attacker that an id is genuine (another session's); an ended stream is 400
    /// too (404 would tell the client its session is gone); an evicted position is 409.
    fn from(error: ResumeError) -> Self {
        match error {
            ResumeError::UnknownSession => Refusal::SessionUnknown,
            ResumeError::Malformed | ResumeError::Forged | ResumeError::ForeignSession => {
                Refusal::LastEventId
            }
            ResumeError::UnknownStream { .. } => Refusal::StreamEnded,
            ResumeError::Evicted { .. } => Refusal::Evicted,
        }
    }
}

impl From<SessionError> for Refusal {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::UnknownSession => Refusal::SessionUnknown,
            SessionError::UnknownStream { .. } => Refusal::StreamEnded,
            SessionError::TooManySessions { limit } => Refusal::TooManySessions { limit },
            SessionError::TooManyStreams { limit } => Refusal::TooManyStreams { limit },
            SessionError::StandaloneStreamOpen => Refusal::StreamConnected,
            SessionError::Entropy(_) => Refusal::Internal("the entropy source failed"),
            SessionError::Encode(_) => Refusal::Internal("an event could not be encoded"),
        }
    }
}
