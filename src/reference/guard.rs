//! Header checks: each reads one rule of the transport off the request headers, or refuses.

use std::str::FromStr;

use http::header::{ACCEPT, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, HOST, ORIGIN};
use http::uri::Authority;
use http::{HeaderMap, HeaderName, HeaderValue, Uri};

use super::decode::Coding;
use super::refusal::Refusal;
use super::version::ProtocolVersion;
use crate::model::SessionId;

pub(crate) const MCP_SESSION_ID: HeaderName = HeaderName::from_static("mcp-session-id");
pub(crate) const MCP_PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");
pub(crate) const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

const JSON: &str = "application/json";
const EVENT_STREAM: &str = "text/event-stream";

/// A header that must appear at most once appeared more often.
struct Repeated;

/// The one value of `name`, if any.
fn single<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'a HeaderValue>, Repeated> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (value, None) => Ok(value),
        (_, Some(_)) => Err(Repeated),
    }
}

/// The host of an authority written as `host[:port]` (no user info), lowercased.
fn host_of(authority: &str) -> Option<String> {
    if authority.contains('@') {
        return None;
    }
    let authority = Authority::from_str(authority).ok()?;
    Some(authority.host().to_ascii_lowercase())
}

fn allowed(host: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|name| name.eq_ignore_ascii_case(host))
}

/// DNS-rebinding protection: the `Host` (or, without one, the URI's authority) must name an
/// allowed host. Missing, repeated or malformed: 400; well formed but not allowed: 403.
pub(crate) fn host(headers: &HeaderMap, uri: &Uri, hosts: &[String]) -> Result<(), Refusal> {
    let authority = match single(headers, &HOST).map_err(|Repeated| Refusal::HostMalformed)? {
        Some(value) => value.to_str().map_err(|_| Refusal::HostMalformed)?,
        None => uri.authority().ok_or(Refusal::HostMissing)?.as_str(),
    };
    let host = host_of(authority).ok_or(Refusal::HostMalformed)?;
    if allowed(&host, hosts) {
        Ok(())
    } else {
        Err(Refusal::HostNotAllowed)
    }
}

/// A present `Origin` must be `http` or `https` on an allowed host (any port); anything else
/// (`null`, another scheme, a path, a repeated header) is refused with 403.
pub(crate) fn origin(headers: &HeaderMap, hosts: &[String]) -> Result<(), Refusal> {
    let Some(value) = single(headers, &ORIGIN).map_err(|Repeated| Refusal::OriginNotAllowed)?
    else {
        return Ok(());
    };
    let origin = value.to_str().map_err(|_| Refusal::OriginNotAllowed)?;
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .ok_or(Refusal::OriginNotAllowed)?;
    match host_of(authority) {
        Some(host) if allowed(&host, hosts) => Ok(()),
        _ => Err(Refusal::OriginNotAllowed),
    }
}

/// Whether `Accept` lists `media` itself (wildcards do not count, as in the SDKs), with a
/// quality above zero.
fn accepts(headers: &HeaderMap, media: &str) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|range| {
            let mut parts = range.split(';');
            let listed = parts
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(media));
            listed && !parts.any(is_zero_quality)
        })
}

fn is_zero_quality(parameter: &str) -> bool {
    parameter.split_once('=').is_some_and(|(name, value)| {
        name.trim().eq_ignore_ascii_case("q") && value.trim().parse::<f32>() == Ok(0.0)
    })
}

/// A POST must accept both JSON and an event stream: else 406.
pub(crate) fn accepts_post(headers: &HeaderMap) -> Result<(), Refusal> {
    if accepts(headers, JSON) && accepts(headers, EVENT_STREAM) {
        Ok(())
    } else {
        Err(Refusal::NotAcceptable {
            needs: "both application/json and text/event-stream",
        })
    }
}

/// A GET must accept an event stream: else 406.
pub(crate) fn accepts_event_stream(headers: &HeaderMap) -> Result<(), Refusal> {
    if accepts(headers, EVENT_STREAM) {
        Ok(())
    } else {
        Err(Refusal::NotAcceptable {
            needs: "text/event-stream",
        })
    }
}

/// A POST body must be declared `application/json` (parameters allowed): else 415.
pub(crate) fn json_body(headers: &HeaderMap) -> Result<(), Refusal> {
    let value = single(headers, &CONTENT_TYPE)
        .ok()
        .flatten()
        .and_then(|value| value.to_str().ok())
        .ok_or(Refusal::UnsupportedMediaType)?;
    let media = value.split(';').next().unwrap_or_default().trim();
    if media.eq_ignore_ascii_case(JSON) {
        Ok(())
    } else {
        Err(Refusal::UnsupportedMediaType)
    }
}

/// The content coding of a POST body: none (or `identity`), `gzip` or `deflate`; any other,
/// or more than one, is refused with 415 (RFC 9110 15.5.16).
pub(crate) fn content_coding(headers: &HeaderMap) -> Result<Coding, Refusal> {
    let Some(value) =
        single(headers, &CONTENT_ENCODING).map_err(|Repeated| Refusal::UnsupportedEncoding)?
    else {
        return Ok(Coding::Identity);
    };
    let value = value
        .to_str()
        .map_err(|_| Refusal::UnsupportedEncoding)?
        .trim();
    if value.eq_ignore_ascii_case("identity") || value.is_empty() {
        Ok(Coding::Identity)
    } else if value.eq_ignore_ascii_case("gzip") || value.eq_ignore_ascii_case("x-gzip") {
        Ok(Coding::Gzip)
    } else if value.eq_ignore_ascii_case("deflate") {
        Ok(Coding::Deflate)
    } else {
        Err(Refusal::UnsupportedEncoding)
    }
}

/// The body length a request announces in `Content-Length`, if it announces one it can keep.
pub(crate) fn announced_length(headers: &HeaderMap) -> Option<u64> {
    single(headers, &CONTENT_LENGTH)
        .ok()
        .flatten()?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The session a request names. Absent, empty or repeated: 400; anything that is not the
/// written form of a session id names no session: 404.
pub(crate) fn session_id(headers: &HeaderMap) -> Result<SessionId, Refusal> {
    let value = single(headers, &MCP_SESSION_ID)
        .map_err(|Repeated| Refusal::SessionMissing)?
        .filter(|value| !value.is_empty())
        .ok_or(Refusal::SessionMissing)?;
    value
        .to_str()
        .ok()
        .and_then(SessionId::parse)
        .ok_or(Refusal::SessionUnknown)
}

/// `MCP-Protocol-Version`, when present, must be the version the session negotiated (so a
/// supported one); when absent the session's version applies (the 2025-03-26 reading is only
/// for requests with no other way to tell). Else 400.
pub(crate) fn protocol_version(
    headers: &HeaderMap,
    negotiated: ProtocolVersion,
) -> Result<(), Refusal> {
    match single(headers, &MCP_PROTOCOL_VERSION).map_err(|Repeated| Refusal::ProtocolVersion)? {
        None => Ok(()),
        Some(value) => {
            let version = value.to_str().ok().and_then(ProtocolVersion::parse);
            if version == Some(negotiated) {
                Ok(())
            } else {
                Err(Refusal::ProtocolVersion)
            }
        }
    }
}

/// `Last-Event-ID`: `None` when absent or empty (a fresh stream); repeated or not text: 400.
pub(crate) fn last_event_id(headers: &HeaderMap) -> Result<Option<&str>, Refusal> {
    match single(headers, &LAST_EVENT_ID).map_err(|Repeated| Refusal::LastEventId)? {
        None => Ok(None),
        Some(value) => {
            let id = value.to_str().map_err(|_| Refusal::LastEventId)?;
            Ok(Some(id).filter(|id| !id.is_empty()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name, HeaderValue::from_str(value).expect("test header"));
        }
        map
    }

    fn loopback() -> Vec<String> {
        ["localhost", "127.0.0.1", "[::1]"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn hosts() {
        let uri = Uri::from_static("/mcp");
        for (value, expected) in [
            ("localhost:8080", Ok(())),
            ("LOCALHOST", Ok(())),
            ("127.0.0.1", Ok(())),
            ("[::1]:3000", Ok(())),
            ("evil.example", Err(Refusal::HostNotAllowed)),
            ("127.0.0.1.evil.example", Err(Refusal::HostNotAllowed)),
            ("user@localhost", Err(Refusal::HostMalformed)),
            ("", Err(Refusal::HostMalformed)),
        ] {
            let map = headers(&[(HOST, value)]);
            assert_eq!(host(&map, &uri, &loopback()), expected, "{value:?}");
        }
        let empty = HeaderMap::new();
        assert_eq!(host(&empty, &uri, &loopback()), Err(Refusal::HostMissing));
        let absolute = Uri::from_static("http://127.0.0.1:9/mcp");
        assert_eq!(host(&empty, &absolute, &loopback()), Ok(()));
        let twice = headers(&[(HOST, "localhost"), (HOST, "localhost")]);
        assert_eq!(host(&twice, &uri, &loopback()), Err(Refusal::HostMalformed));
    }

    #[test]
    fn origins() {
        assert_eq!(origin(&HeaderMap::new(), &loopback()), Ok(()));
        for (value, ok) in [
            ("http://localhost:5173", true),
            ("https://127.0.0.1", true),
            ("http://[::1]:80", true),
            ("null", false),
            ("http://evil.example", false),
            ("file://localhost", false),
            ("http://localhost/path", false),
            ("http://localhost.evil.example", false),
        ] {
            let map = headers(&[(ORIGIN, value)]);
            assert_eq!(origin(&map, &loopback()).is_ok(), ok, "{value:?}");
        }
    }

    #[test]
    fn accept_lists() {
        let both = headers(&[(ACCEPT, "application/json, text/event-stream")]);
        assert!(accepts_post(&both).is_ok());
        let split = headers(&[
            (ACCEPT, "application/json"),
            (ACCEPT, "TEXT/EVENT-STREAM;q=0.5"),
        ]);
        assert!(accepts_post(&split).is_ok());
        for value in [
            "*/*",
            "application/json",
            "application/json, text/event-stream;q=0",
        ] {
            assert!(
                accepts_post(&headers(&[(ACCEPT, value)])).is_err(),
                "{value}"
            );
        }
    }

    #[test]
    fn protocol_versions() {
        let negotiated = ProtocolVersion::V2025_06_18;
        assert!(protocol_version(&HeaderMap::new(), negotiated).is_ok());
        let same = headers(&[(MCP_PROTOCOL_VERSION, "2025-06-18")]);
        assert!(protocol_version(&same, negotiated).is_ok());
        for value in ["2025-11-25", "2024-11-05", "garbage", ""] {
            let map = headers(&[(MCP_PROTOCOL_VERSION, value)]);
            assert_eq!(
                protocol_version(&map, negotiated),
                Err(Refusal::ProtocolVersion)
            );
        }
    }
}
