//! The Streamable HTTP surface: routing, the order of the checks, and the responses.
//!
//! Every request is checked in this order, and the first failed check answers:
//! Host (400/403), Origin (403), path (404), method (405); then per method:
//! - POST: Accept (406), Content-Type (415), Content-Encoding (415: only gzip and deflate),
//!   body (413, before reading when Content-Length announces too much / 408 / 400), JSON (400, parse error),
//!   one JSON-RPC message (400, invalid request); `initialize` then opens a session, anything
//!   else needs `Mcp-Session-Id` (400 missing, 404 unknown) and a matching
//!   `MCP-Protocol-Version` if present (400); a notification or response gets 202, a request
//!   an SSE stream (429 at the session's stream limit);
//! - GET: Accept (406), session (400/404), version (400), then `Last-Event-ID` resumes
//!   (refusals as in [`super::refusal`]) or the standalone stream opens (409 while connected);
//! - DELETE: session (400/404), version (400), then the session ends: 200.
//!
//! A request body is counted in [`super::Snapshot::uploads`] while it is read. The bugs of
//! this layer: [`Bug::NoOriginCheck`] skips the Origin check, [`Bug::NoAbortCleanup`] keeps
//! a failed body, [`Bug::StateAfterDelete`] and [`Bug::DeletedIdAccepted`] change what
//! DELETE does, [`Bug::GuessableSessionIds`] names sessions by a counter, and
//! [`Bug::WrongStatusUnknownSession`] answers an unknown session with 400.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;

use super::body::ReferenceBody;
use super::bug::Bug;
use super::decode::{BodyDecoder, DecodeError};
use super::guard::{self, MCP_SESSION_ID};
use super::methods;
use super::modern;
use super::refusal::Refusal;
use super::rpc::{self, Message};
use super::shared::{Shared, Upload};
use super::state::Connected;
use super::tasks::{self, TaskKind};
use super::version::ProtocolVersion;
use crate::model::SessionId;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Answers one request; every failure is a response too.
pub(crate) async fn handle<B>(
    shared: Arc<Shared>,
    request: Request<B>,
) -> Result<Response<ReferenceBody>, Infallible>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    Ok(route(&shared, request)
        .await
        .unwrap_or_else(|refusal| refused(&refusal, shared.config.bug)))
}

async fn route<B>(
    shared: &Arc<Shared>,
    request: Request<B>,
) -> Result<Response<ReferenceBody>, Refusal>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let (parts, body) = request.into_parts();
    let config = &shared.config;
    guard::host(&parts.headers, &parts.uri, &config.allowed_hosts)?;
    if config.bug != Some(Bug::NoOriginCheck) {
        guard::origin(&parts.headers, &config.allowed_origin_hosts)?;
    }
    if parts.uri.path() != config.path {
        return Err(Refusal::NotFound);
    }
    match parts.method {
        Method::POST => post(shared, &parts.headers, body).await,
        Method::GET => get(shared, &parts.headers),
        Method::DELETE => delete(shared, &parts.headers),
        _ => Err(Refusal::MethodNotAllowed),
    }
}

async fn post<B>(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    body: B,
) -> Result<Response<ReferenceBody>, Refusal>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    guard::accepts_post(headers)?;
    guard::json_body(headers)?;
    let body = read_body(shared, headers, body).await?;
    let request = match rpc::parse(&body)? {
        Message::Request(request) if request.method == "initialize" => {
            return initialize(shared, request);
        }
        Message::Request(request) if modern::is_stateless(headers, &request) => {
            return stateless(shared, headers, request);
        }
        Message::Request(request) => Some(request),
        Message::Notification | Message::Response => None,
    };
    let id = guard::session_id(headers)?;
    if request.as_ref().is_some_and(|r| r.method == "tools/call") && wedged(shared, headers) {
        // [`Bug::StuckAfterAbortedUpload`]: the call lock a failed upload left taken is never
        // released, so the call waits for it, with no response head, until the client leaves.
        return std::future::pending().await;
    }
    let mut state = shared.lock();
    let now = shared.now();
    let id = state.resolve(id).ok_or(Refusal::SessionUnknown)?;
    let session = state.touch(&id, now).ok_or(Refusal::SessionUnknown)?;
    guard::protocol_version(headers, session.version)?;
    let Some(request) = request else {
        return Ok(empty(StatusCode::ACCEPTED));
    };
    let stream = state.open_request_stream(&id, now)?;
    let connected = state.connect(&id, stream, Vec::new(), now)?;
    let ended = state.ended_signal(&id).ok_or(Refusal::SessionUnknown)?;
    drop(state);
    let response = sse(shared, &connected, None);
    tasks::spawn_stream_timer(shared, connected);
    let answer = methods::answer(Arc::clone(shared), id, stream, request);
    tasks::spawn_in_session(shared, TaskKind::Request, ended, answer);
    Ok(response)
}

/// A 2026-07-28 request, once admitted (see [`modern`]): served in a session of its own that
/// no client can name, which ends when the request's stream goes (the request is cancelled)
/// or once its response is delivered. Its stream has no priming event and no event ids.
fn stateless(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    request: rpc::Request,
) -> Result<Response<ReferenceBody>, Refusal> {
    let bug = shared.config.bug;
    let admitted = modern::admit(headers, &request, bug != Some(Bug::NoHeaderChecks))?;
    if !methods::STATELESS_METHODS.contains(&request.method.as_str()) {
        return Err(Refusal::MethodNotFound);
    }
    let mut state = shared.lock();
    let now = shared.now();
    let (id, ended) = state.create_session(ProtocolVersion::V2026_07_28, now)?;
    if let Some(session) = state.session(&id) {
        session.log_level = admitted.log_level;
    }
    let stream = state.open_request_stream(&id, now)?;
    let connected = state.connect(&id, stream, Vec::new(), now)?;
    drop(state);
    let mut response = sse(shared, &connected, None);
    if bug == Some(Bug::LegacySessionEcho) {
        if let Some(stale) = headers.get(MCP_SESSION_ID) {
            response.headers_mut().insert(MCP_SESSION_ID, stale.clone());
        }
    }
    tasks::spawn_stream_timer(shared, connected);
    let answer = methods::answer(Arc::clone(shared), id, stream, request);
    tasks::spawn_in_session(shared, TaskKind::Request, ended, answer);
    Ok(response)
}

/// Whether a GET or DELETE names the 2026-07-28 revision, which has neither: 405.
fn names_stateless(headers: &HeaderMap) -> Result<(), Refusal> {
    let stateless = headers
        .get(guard::MCP_PROTOCOL_VERSION)
        .is_some_and(|value| value.as_bytes() == ProtocolVersion::V2026_07_28.as_str().as_bytes());
    if stateless {
        Err(Refusal::PostOnly)
    } else {
        Ok(())
    }
}

/// `initialize`: a new session speaking the version the client asked for, or the latest one
/// this server supports if it asked for another (the lifecycle's negotiation: the client
/// decides whether to go on); the response carries `Mcp-Session-Id`.
fn initialize(
    shared: &Arc<Shared>,
    request: rpc::Request,
) -> Result<Response<ReferenceBody>, Refusal> {
    let asked = request
        .params
        .get("protocolVersion")
        .and_then(Value::as_str)
        .ok_or(Refusal::InvalidParams(
            "initialize needs a string protocolVersion",
        ))?;
    let version = ProtocolVersion::parse(asked).unwrap_or(ProtocolVersion::LATEST);
    let mut state = shared.lock();
    let now = shared.now();
    let (id, ended) = state.create_session(version, now)?;
    let public_id = state.public_id(&id);
    let stream = state.open_request_stream(&id, now)?;
    let connected = state.connect(&id, stream, Vec::new(), now)?;
    drop(state);
    let response = sse(shared, &connected, Some(public_id));
    tasks::spawn_session_timer(shared, id, ended.clone());
    tasks::spawn_stream_timer(shared, connected);
    let answer = methods::answer(Arc::clone(shared), id, stream, request);
    tasks::spawn_in_session(shared, TaskKind::Request, ended, answer);
    Ok(response)
}

fn get(shared: &Arc<Shared>, headers: &HeaderMap) -> Result<Response<ReferenceBody>, Refusal> {
    names_stateless(headers)?;
    guard::accepts_event_stream(headers)?;
    let id = guard::session_id(headers)?;
    let last_event_id = guard::last_event_id(headers)?;
    let mut state = shared.lock();
    let now = shared.now();
    let id = state.resolve(id).ok_or(Refusal::SessionUnknown)?;
    let session = state.touch(&id, now).ok_or(Refusal::SessionUnknown)?;
    guard::protocol_version(headers, session.version)?;
    let (stream, replay) = match last_event_id {
        Some(last_event_id) => state.resume(&id, last_event_id, now)?,
        None => (state.standalone_stream(&id, now)?, Vec::new()),
    };
    if !state.has_stream(&id, stream) {
        // Only under `Fault::ResumeIgnoresSession`: another session's events, from what acts
        // as one global log, sent to whoever asked.
        drop(state);
        return Ok(replayed(replay));
    }
    let connected = state.connect(&id, stream, replay, now)?;
    drop(state);
    let response = sse(shared, &connected, None);
    tasks::spawn_stream_timer(shared, connected);
    Ok(response)
}

fn delete(shared: &Arc<Shared>, headers: &HeaderMap) -> Result<Response<ReferenceBody>, Refusal> {
    names_stateless(headers)?;
    let id = guard::session_id(headers)?;
    let mut state = shared.lock();
    let now = shared.now();
    let id = state.resolve(id).ok_or(Refusal::SessionUnknown)?;
    let session = state.touch(&id, now).ok_or(Refusal::SessionUnknown)?;
    guard::protocol_version(headers, session.version)?;
    match shared.config.bug {
        Some(Bug::DeletedIdAccepted) => {}
        Some(Bug::StateAfterDelete) => {
            if let Some(ended) = state.hide_session(&id) {
                drop(state);
                tasks::spawn_hidden_keeper(shared, id, ended);
            }
        }
        _ => {
            state.end_session(&id, now);
        }
    }
    Ok(empty(StatusCode::OK))
}

/// The whole body, decoded from its content coding, at most `max_request_bytes` on the wire
/// and once decoded, within `request_timeout`, counted in `uploads` while it is read. A body
/// that announces more than the limit is refused before a byte of it is read; a body that
/// passes it is refused as soon as it does (a compression bomb included).
///
/// Under [`Bug::NoBodyLimit`] the body is read whole and only then measured; under
/// [`Bug::InflateUnbounded`] it is inflated whole and only then measured. Under
/// [`Bug::NoAbortCleanup`], a body that fails is kept; under [`Bug::StuckAfterAbortedUpload`],
/// it leaves its session's call lock taken.
async fn read_body<B>(shared: &Arc<Shared>, headers: &HeaderMap, body: B) -> Result<Bytes, Refusal>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let limit = shared.config.max_request_bytes;
    let bug = shared.config.bug;
    let coding = guard::content_coding(headers)?;
    let unbounded_wire = bug == Some(Bug::NoBodyLimit);
    if !unbounded_wire && guard::announced_length(headers).is_some_and(|n| n > limit as u64) {
        return Err(Refusal::BodyTooLarge { limit });
    }
    let decoded_limit = match bug {
        Some(Bug::NoBodyLimit | Bug::InflateUnbounded) => None,
        _ => Some(limit),
    };
    let wire_limit = if unbounded_wire { usize::MAX } else { limit };
    let upload = Upload::new(shared);
    let timeout = Duration::from_millis(shared.config.request_timeout.0);
    let mut decoder = BodyDecoder::new(coding, decoded_limit);
    let received = tokio::time::timeout(timeout, receive(body, wire_limit, &mut decoder)).await;
    let failed = match received {
        Err(_) => return Err(Refusal::BodyTimeout),
        Ok(Ok(())) => {
            let decoded = decoder.finish().map_err(|error| refusal_of(error, limit))?;
            // The bugs measure only now, the whole body held.
            return if decoded.len() > limit {
                Err(Refusal::BodyTooLarge { limit })
            } else {
                Ok(decoded)
            };
        }
        Ok(Err(Received::Decode(error))) => return Err(refusal_of(error, limit)),
        Ok(Err(Received::Wire(error))) if error.is::<LengthLimitError>() => {
            return Err(Refusal::BodyTooLarge { limit });
        }
        Ok(Err(Received::Wire(_))) => decoder.into_decoded(),
    };
    match bug {
        Some(Bug::NoAbortCleanup) => keep_failed_upload(shared, headers, upload, failed),
        Some(Bug::StuckAfterAbortedUpload) => wedge_session(shared, headers),
        _ => {}
    }
    Err(Refusal::BodyFailed)
}

/// How receiving a body failed.
enum Received {
    /// The body itself failed, or passed the wire limit ([`LengthLimitError`]).
    Wire(BoxError),
    /// Its bytes could not be decoded within the limit.
    Decode(DecodeError),
}

fn refusal_of(error: DecodeError, limit: usize) -> Refusal {
    match error {
        DecodeError::OverLimit => Refusal::BodyTooLarge { limit },
        DecodeError::Malformed => Refusal::BodyMalformed,
    }
}

/// Pushes the data of `body` into `decoder` until its end, failing beyond `limit` bytes on
/// the wire.
async fn receive<B>(body: B, limit: usize, decoder: &mut BodyDecoder) -> Result<(), Received>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let mut body = std::pin::pin!(Limited::new(body, limit));
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.map_err(Received::Wire)?.into_data() {
            decoder.push(&data).map_err(Received::Decode)?;
        }
    }
    Ok(())
}

/// [`Bug::StuckAfterAbortedUpload`]: the session the failed upload's `Mcp-Session-Id` names
/// keeps its call lock taken.
fn wedge_session(shared: &Arc<Shared>, headers: &HeaderMap) {
    if let Ok(named) = guard::session_id(headers) {
        let mut state = shared.lock();
        if let Some(id) = state.resolve(named) {
            state.wedge(&id);
        }
    }
}

/// [`Bug::StuckAfterAbortedUpload`]: whether a failed upload left the call lock of the session
/// `headers` name taken.
fn wedged(shared: &Arc<Shared>, headers: &HeaderMap) -> bool {
    let Ok(named) = guard::session_id(headers) else {
        return false;
    };
    let state = shared.lock();
    state.resolve(named).is_some_and(|id| state.wedged(&id))
}

/// [`Bug::NoAbortCleanup`]: a task keeps the partial body of a failed upload (still counted
/// in `uploads`), parked until the session its `Mcp-Session-Id` names ends, or until the
/// server's last handle is dropped if it names none.
fn keep_failed_upload(shared: &Arc<Shared>, headers: &HeaderMap, upload: Upload, partial: Bytes) {
    let session = guard::session_id(headers).ok().and_then(|named| {
        let state = shared.lock();
        state.resolve(named).and_then(|id| state.ended_signal(&id))
    });
    let ended = session.unwrap_or_else(|| shared.stopped.clone());
    let kept = async move {
        let _kept = (upload, partial);
        std::future::pending::<()>().await;
    };
    tasks::spawn_in_session(shared, TaskKind::Request, ended, kept);
}

/// 200 with the SSE body of `connected` (and the session id, for initialize).
fn sse(
    shared: &Arc<Shared>,
    connected: &Connected,
    session: Option<SessionId>,
) -> Response<ReferenceBody> {
    let mut response = Response::new(ReferenceBody::sse(Arc::clone(shared), connected.pipe));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(session) = session {
        let value = HeaderValue::try_from(session.to_string())
            .expect("a session id is lowercase hex, a valid header value");
        headers.insert(MCP_SESSION_ID, value);
    }
    response
}

/// A finished SSE response of `frames`.
fn replayed(frames: Vec<Bytes>) -> Response<ReferenceBody> {
    let mut response = Response::new(ReferenceBody::full(frames.concat().into()));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

fn empty(status: StatusCode) -> Response<ReferenceBody> {
    let mut response = Response::new(ReferenceBody::empty());
    *response.status_mut() = status;
    response
}

/// The response to `refusal`, with its status (400 for an unknown session under
/// [`Bug::WrongStatusUnknownSession`]).
fn refused(refusal: &Refusal, bug: Option<Bug>) -> Response<ReferenceBody> {
    let mut response = Response::new(ReferenceBody::full(rpc::refusal_body(refusal)));
    *response.status_mut() = match (refusal, bug) {
        (Refusal::SessionUnknown, Some(Bug::WrongStatusUnknownSession)) => StatusCode::BAD_REQUEST,
        _ => refusal.status(),
    };
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if *refusal == Refusal::MethodNotAllowed {
        headers.insert(ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
    }
    if *refusal == Refusal::PostOnly {
        headers.insert(ALLOW, HeaderValue::from_static("POST"));
    }
    response
}
