//! The 2026-07-28 form of a request: `_meta` in its params, the standard headers
//! (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`, `Mcp-Param-*`), and the ways a
//! scenario's [`Deviation`] departs from them.

use base64::Engine;
use http::{HeaderName, HeaderValue};
use serde_json::{json, Map, Value};

use crate::scenario::{Deviation, STATELESS_VERSION};

pub(super) const MCP_METHOD: &str = "mcp-method";
pub(super) const MCP_NAME: &str = "mcp-name";
const MCP_PARAM_PREFIX: &str = "mcp-param-";

/// The `_meta` keys of a 2026-07-28 request.
pub(super) const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
const META_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
const META_CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
const META_LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";

/// A version no server supports.
const UNSUPPORTED_VERSION: &str = "1999-01-01";

/// What a request sent in the 2026-07-28 form needs beyond its body: the headers that name
/// its method, tool and marked arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Form {
    /// How it departs from the correct request.
    pub deviation: Deviation,
    /// Its JSON-RPC method.
    pub method: String,
    /// The `Mcp-Name` value: a `tools/call`'s tool.
    pub name: Option<String>,
    /// `(header suffix, argument value)` for each argument its tool marks `x-mcp-header`.
    pub params: Vec<(String, String)>,
}

/// The `params` of a request, with the `_meta` of the 2026-07-28 form (as `deviation` says)
/// merged into whatever `_meta` they had.
pub(super) fn with_meta(params: Value, deviation: Deviation) -> Value {
    let mut params = match params {
        Value::Object(params) => params,
        _ => Map::new(),
    };
    let meta = params
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        let version = match deviation {
            Deviation::UnsupportedVersion => Some(UNSUPPORTED_VERSION),
            Deviation::NoMetaVersion => None,
            _ => Some(STATELESS_VERSION),
        };
        match version {
            Some(version) => meta.insert(META_VERSION.to_owned(), json!(version)),
            None => meta.remove(META_VERSION),
        };
        match deviation {
            Deviation::NoCapabilities => meta.remove(META_CAPABILITIES),
            _ => meta.insert(META_CAPABILITIES.to_owned(), json!({})),
        };
        match deviation {
            Deviation::NoClientInfo => meta.remove(META_CLIENT_INFO),
            _ => meta.insert(
                META_CLIENT_INFO.to_owned(),
                json!({ "name": "mcp-transport-fuzz", "version": env!("CARGO_PKG_VERSION") }),
            ),
        };
        if let Some(level) = deviation.log_level() {
            meta.insert(META_LOG_LEVEL.to_owned(), json!(level));
        }
    }
    Value::Object(params)
}

/// The `MCP-Protocol-Version` header `deviation` sends (`None`: no header).
pub(super) fn version_header(deviation: Deviation) -> Option<&'static str> {
    match deviation {
        Deviation::NoVersionHeader => None,
        Deviation::UnsupportedVersion => Some(UNSUPPORTED_VERSION),
        Deviation::VersionMismatch => Some("2025-11-25"),
        _ => Some(STATELESS_VERSION),
    }
}

/// The `Mcp-Method`, `Mcp-Name` and `Mcp-Param-*` headers of `form`, each value encoded as
/// the revision says (see [`header_value`]).
pub(super) fn headers(form: &Form) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    let mut push = |name: String, value: &str| {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name),
            HeaderValue::try_from(header_value(value)),
        ) {
            out.push((name, value));
        }
    };
    match form.deviation {
        Deviation::NoMethodHeader => {}
        Deviation::WrongMethodHeader => push(MCP_METHOD.to_owned(), "tools/list"),
        _ => push(MCP_METHOD.to_owned(), &form.method),
    }
    if let Some(name) = &form.name {
        match form.deviation {
            Deviation::NoNameHeader => {}
            Deviation::WrongNameHeader => push(MCP_NAME.to_owned(), &format!("{name}-other")),
            _ => push(MCP_NAME.to_owned(), name),
        }
    }
    for (index, (suffix, value)) in form.params.iter().enumerate() {
        let name = format!("{MCP_PARAM_PREFIX}{}", suffix.to_ascii_lowercase());
        match form.deviation {
            Deviation::NoParamHeader if index == 0 => {}
            Deviation::WrongParamHeader if index == 0 => push(name, &format!("{value}-other")),
            _ => push(name, value),
        }
    }
    out
}

/// A header value as the revision writes an argument: plain when it is visible ASCII, with
/// inner spaces and tabs allowed; else (non-ASCII, control characters, leading or trailing
/// whitespace, or a plain value that looks encoded) `=?base64?…?=` of its UTF-8 bytes.
pub(super) fn header_value(value: &str) -> String {
    let visible = value
        .bytes()
        .all(|byte| byte == b' ' || byte == b'\t' || (0x21..=0x7e).contains(&byte));
    let edge_space = value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']);
    let looks_encoded = value.starts_with("=?base64?") && value.ends_with("?=");
    let plain = visible && !edge_space && !looks_encoded;
    if plain {
        value.to_owned()
    } else {
        let encoded = base64::engine::general_purpose::STANDARD.encode(value);
        format!("=?base64?{encoded}?=")
    }
}

/// Every `(header, property path)` that `schema` marks with `x-mcp-header`, along chains of
/// `properties` from its root (the only places the revision allows it).
pub(super) fn marked_arguments(schema: &Value) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    walk(schema, &mut Vec::new(), &mut out);
    out
}

fn walk(schema: &Value, path: &mut Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (name, property) in properties {
        path.push(name.clone());
        if let Some(header) = property.get("x-mcp-header").and_then(Value::as_str) {
            out.push((header.to_owned(), path.clone()));
        }
        walk(property, path, out);
        path.pop();
    }
}

/// The value at `path` in `arguments` as a header carries it (strings as they are, integers
/// and booleans written out); `None` when it is absent, null or of another type.
pub(super) fn argument_at(arguments: &Value, path: &[String]) -> Option<String> {
    let value = path
        .iter()
        .try_fold(arguments, |value, key| value.get(key))?;
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Number(number) if number.is_i64() || number.is_u64() => Some(number.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_the_revision_shows() {
        assert_eq!(header_value("us-west1"), "us-west1");
        assert_eq!(header_value("a b"), "a b");
        assert_eq!(
            header_value("Hello, 世界"),
            "=?base64?SGVsbG8sIOS4lueVjA==?="
        );
        assert_eq!(header_value(" padded "), "=?base64?IHBhZGRlZCA=?=");
        assert_eq!(header_value("line1\nline2"), "=?base64?bGluZTEKbGluZTI=?=");
        assert_eq!(
            header_value("=?base64?literal?="),
            "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?="
        );
    }

    #[test]
    fn finds_marked_arguments_on_properties_chains_only() {
        let schema = json!({ "type": "object", "properties": {
            "text": { "type": "string", "x-mcp-header": "Text" },
            "nested": { "type": "object", "properties": { "n": { "type": "integer", "x-mcp-header": "N" } } },
            "list": { "type": "array", "items": { "type": "string", "x-mcp-header": "Item" } },
        }});
        let marked = marked_arguments(&schema);
        assert_eq!(
            marked,
            vec![
                ("N".to_owned(), vec!["nested".to_owned(), "n".to_owned()]),
                ("Text".to_owned(), vec!["text".to_owned()]),
            ]
        );
        let arguments = json!({ "text": "hi", "nested": { "n": 7 } });
        assert_eq!(argument_at(&arguments, &marked[0].1).as_deref(), Some("7"));
        assert_eq!(argument_at(&arguments, &["missing".to_owned()]), None);
    }
}
