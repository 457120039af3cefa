//! The 2026-07-28 surface: which POSTs are stateless, and the checks they pass before they
//! are served.
//!
//! A POST is stateless when its `MCP-Protocol-Version` header says 2026-07-28, or when its
//! `_meta` names a protocol version (whatever the header says; `initialize` never is). Its
//! checks, in order, each a 400 with the revision's error code:
//! - `_meta` must carry `protocolVersion` and `clientCapabilities` (-32602);
//! - `MCP-Protocol-Version` must be present and equal `_meta`'s version (-32020);
//! - `Mcp-Method` must equal the method, and `Mcp-Name` the tool of a `tools/call` (-32020);
//! - the version must be one this server speaks statelessly (-32022, with the versions it
//!   supports);
//! - each argument the tool marks `x-mcp-header` must travel in its `Mcp-Param-*` header,
//!   decoded equal to the body's value (-32020).
//!
//! [`Bug::NoHeaderChecks`](super::Bug::NoHeaderChecks) skips the `Mcp-Method`, `Mcp-Name` and
//! `Mcp-Param-*` checks.

use base64::Engine;
use http::{HeaderMap, HeaderName};
use serde_json::Value;

use super::guard::MCP_PROTOCOL_VERSION;
use super::refusal::Refusal;
use super::rpc::Request;
use super::version::ProtocolVersion;

pub(crate) const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
const MCP_METHOD: HeaderName = HeaderName::from_static("mcp-method");
const MCP_NAME: HeaderName = HeaderName::from_static("mcp-name");

/// The log levels, least severe first (RFC 5424's order, as MCP names them).
const LOG_LEVELS: [&str; 8] = [
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

/// The tool arguments the reference marks `x-mcp-header`: `(tool, property, header)`.
pub(crate) const MARKED_ARGUMENTS: [(&str, &str, &str); 1] = [("echo", "text", "Text")];

/// Whether a POST of `request` with `headers` is a 2026-07-28 stateless request.
pub(crate) fn is_stateless(headers: &HeaderMap, request: &Request) -> bool {
    if request.method == "initialize" {
        return false;
    }
    let header_says = headers
        .get(MCP_PROTOCOL_VERSION)
        .is_some_and(|value| value.as_bytes() == ProtocolVersion::V2026_07_28.as_str().as_bytes());
    header_says || meta(request).is_some_and(|meta| meta.contains_key(META_VERSION))
}

/// What a stateless request asked for, once its checks pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Admitted {
    /// The least severe level of log message it wants, as an index into the levels, if any.
    pub log_level: Option<usize>,
}

/// Runs the checks of a stateless request, in the order the module describes.
pub(crate) fn admit(
    headers: &HeaderMap,
    request: &Request,
    check_headers: bool,
) -> Result<Admitted, Refusal> {
    let meta = meta(request).ok_or(Refusal::InvalidParams("a request needs `_meta`"))?;
    let version = meta
        .get(META_VERSION)
        .and_then(Value::as_str)
        .ok_or(Refusal::InvalidParams("`_meta` needs a protocolVersion"))?;
    if !meta.get(META_CAPABILITIES).is_some_and(Value::is_object) {
        return Err(Refusal::InvalidParams("`_meta` needs clientCapabilities"));
    }
    let header = single(headers, &MCP_PROTOCOL_VERSION)?
        .ok_or(Refusal::HeaderMismatch("MCP-Protocol-Version is missing"))?;
    if header != version {
        return Err(Refusal::HeaderMismatch(
            "MCP-Protocol-Version is not the version of `_meta`",
        ));
    }
    if check_headers {
        standard_headers(headers, request)?;
    }
    if version != ProtocolVersion::V2026_07_28.as_str() {
        return Err(Refusal::UnsupportedVersion {
            requested: version.to_owned(),
        });
    }
    if check_headers {
        param_headers(headers, request)?;
    }
    let log_level = match meta.get(META_LOG_LEVEL) {
        None => None,
        Some(level) => Some(
            level
                .as_str()
                .and_then(|level| LOG_LEVELS.iter().position(|known| *known == level))
                .ok_or(Refusal::InvalidParams("unknown logLevel"))?,
        ),
    };
    Ok(Admitted { log_level })
}

/// The index of the level `info`, the level of the reference's log messages.
pub(crate) const INFO: usize = 1;

fn meta(request: &Request) -> Option<&serde_json::Map<String, Value>> {
    request.params.get("_meta")?.as_object()
}

/// The one value of header `name`, as text; repeated or not visible ASCII: a mismatch.
fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Result<Option<&'a str>, Refusal> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => value
            .to_str()
            .map(Some)
            .map_err(|_| Refusal::HeaderMismatch("a header holds characters it may not")),
        (Some(_), Some(_)) => Err(Refusal::HeaderMismatch("a header is repeated")),
    }
}

/// `Mcp-Method` and, for a `tools/call`, `Mcp-Name`.
fn standard_headers(headers: &HeaderMap, request: &Request) -> Result<(), Refusal> {
    let method =
        single(headers, &MCP_METHOD)?.ok_or(Refusal::HeaderMismatch("Mcp-Method is missing"))?;
    if method != request.method {
        return Err(Refusal::HeaderMismatch(
            "Mcp-Method is not the body's method",
        ));
    }
    if request.method == "tools/call" {
        let name =
            single(headers, &MCP_NAME)?.ok_or(Refusal::HeaderMismatch("Mcp-Name is missing"))?;
        let tool = request.params.get("name").and_then(Value::as_str);
        if decode(name)?.as_deref() != tool {
            return Err(Refusal::HeaderMismatch("Mcp-Name is not the body's tool"));
        }
    }
    Ok(())
}

/// The `Mcp-Param-*` headers of the arguments the called tool marks.
fn param_headers(headers: &HeaderMap, request: &Request) -> Result<(), Refusal> {
    if request.method != "tools/call" {
        return Ok(());
    }
    let tool = request.params.get("name").and_then(Value::as_str);
    let arguments = request.params.get("arguments");
    for (marked_tool, property, header) in MARKED_ARGUMENTS {
        if tool != Some(marked_tool) {
            continue;
        }
        let name = HeaderName::try_from(format!("mcp-param-{}", header.to_ascii_lowercase()))
            .map_err(|_| Refusal::Internal("a marked argument's header name"))?;
        let expected = arguments
            .and_then(|arguments| arguments.get(property))
            .and_then(header_text);
        let sent = single(headers, &name)?.map(decode).transpose()?.flatten();
        match (expected, sent) {
            (None, None) => {}
            (Some(expected), Some(sent)) if expected == sent => {}
            (Some(_), None) => {
                return Err(Refusal::HeaderMismatch("an Mcp-Param header is missing"))
            }
            _ => {
                return Err(Refusal::HeaderMismatch(
                    "an Mcp-Param header is not the body's value",
                ))
            }
        }
    }
    Ok(())
}

/// An argument's value as a header carries it: strings as they are, integers and booleans
/// written out.
fn header_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Number(number) if number.is_i64() || number.is_u64() => Some(number.to_string()),
        _ => None,
    }
}

/// A header value decoded: `=?base64?…?=` to its UTF-8 text, anything else as it is.
fn decode(value: &str) -> Result<Option<String>, Refusal> {
    let Some(encoded) = value
        .strip_prefix("=?base64?")
        .and_then(|rest| rest.strip_suffix("?="))
    else {
        return Ok(Some(value.to_owned()));
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| Refusal::HeaderMismatch("a base64 header value does not decode"))?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|_| Refusal::HeaderMismatch("a base64 header value is not UTF-8"))
}
