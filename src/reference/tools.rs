//! The five tools: `echo`, `stream`, `fetch_cached`, `subscribe` and `monitor`.
//!
//! Everything a tool keeps lives in its session ([`super::state::Session`]) and is bounded by
//! [`ToolLimits`]; everything a tool sends goes through [`emit`], so through the model's safe
//! encoder with a session-minted id. (Except under the bugs of this layer:
//! [`Bug::UnboundedCache`] and [`Bug::ListenerAccumulation`] keep the cache and the listeners
//! in unbounded server-global stores, and the monitors of [`Bug::IntervalLeak`] outlive their
//! session.)

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::bug::{Bug, Listener};
use super::config::ToolLimits;
use super::methods::Failure;
use super::rpc::{self, Request, RpcError};
use super::shared::Shared;
use super::state::{Change, Destination, Gone};
use super::tasks::{emit, spawn_in_session, TaskKind};
use crate::model::{SessionId, StreamNo};

/// The `subscribe` topic that matches every key.
const ANY_TOPIC: &str = "*";

/// [`Bug::IntervalLeak`]: the least scratch buffer each monitor's tick callback captures.
const LEAKED_MONITOR_BYTES: usize = 4 << 10;

/// The tools, each `inputSchema` stating the bounds `limits` holds calls to.
pub(crate) fn list(limits: &ToolLimits) -> Value {
    let bounded = |maximum: u64| json!({ "type": "integer", "minimum": 0, "maximum": maximum });
    let count = bounded(limits.max_events);
    let size = bounded(limits.max_progress_bytes as u64);
    let delay = bounded(limits.max_delay.0);
    json!({ "tools": [
        {
            "name": "echo",
            "description": "Returns its text argument.",
            "inputSchema": {
                "type": "object",
                "properties": { "text": { "type": "string", "x-mcp-header": "Text" } },
                "required": ["text"],
            },
        },
        {
            "name": "stream",
            "description": "Sends `count` progress notifications carrying `size` filler bytes, `delay_ms` apart, then its result.",
            "inputSchema": {
                "type": "object",
                "properties": { "count": count, "size": size, "delay_ms": delay },
            },
        },
        {
            "name": "fetch_cached",
            "description": "Returns the content for `key` from the session's bounded LRU cache, or fetches it; a fetch notifies the session's listeners for the key on the standalone stream.",
            "inputSchema": {
                "type": "object",
                "properties": { "key": { "type": "string" } },
                "required": ["key"],
            },
        },
        {
            "name": "subscribe",
            "description": "Registers a listener for `topic` (a fetch_cached key, or \"*\" for all) on the session's standalone stream.",
            "inputSchema": {
                "type": "object",
                "properties": { "topic": { "type": "string" } },
            },
        },
        {
            "name": "monitor",
            "description": "Sends `count` log notifications on the session's standalone stream, `interval_ms` apart.",
            "inputSchema": {
                "type": "object",
                "properties": { "count": count, "interval_ms": delay },
            },
        },
    ]})
}

/// Runs `tools/call`. Unknown tools and bad arguments are JSON-RPC errors (invalid params);
/// a limit reached is a tool result with `isError`.
pub(crate) async fn call(
    shared: &Arc<Shared>,
    id: SessionId,
    stream: StreamNo,
    request: &Request,
) -> Result<Value, Failure> {
    let name = request
        .params
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params("`name` must be a string"))?;
    let no_arguments = Map::new();
    let args = match request.params.get("arguments") {
        None => &no_arguments,
        Some(Value::Object(args)) => args,
        Some(_) => return Err(RpcError::invalid_params("`arguments` must be an object").into()),
    };
    let limits = &shared.config.tools;
    match name {
        "echo" => Ok(text_result(text(args, "text")?)),
        "stream" => {
            let token = progress_token(request);
            stream_tool(shared, id, stream, token, args, limits).await
        }
        "fetch_cached" => fetch_cached(shared, id, args, limits).await,
        "subscribe" => {
            let result = subscribe(shared, id, args, limits)?;
            shared.lock().broadcast(Change::ResourceList, shared.now());
            Ok(result)
        }
        "monitor" if shared.lock().is_stateless(&id) => {
            request_logs(shared, id, stream, args, limits).await
        }
        "monitor" => monitor(shared, id, args, limits),
        _ => Err(RpcError::invalid_params("unknown tool").into()),
    }
}

/// The request's `_meta.progressToken`, or its id when it gave none.
fn progress_token(request: &Request) -> Value {
    request
        .params
        .get("_meta")
        .and_then(|meta| meta.get("progressToken"))
        .filter(|token| token.is_string() || token.is_number())
        .unwrap_or(&request.id)
        .clone()
}

async fn stream_tool(
    shared: &Shared,
    id: SessionId,
    stream: StreamNo,
    token: Value,
    args: &Map<String, Value>,
    limits: &ToolLimits,
) -> Result<Value, Failure> {
    let count = number(args, "count", 3, limits.max_events)?;
    let size = number(args, "size", 16, limits.max_progress_bytes as u64)?;
    let delay = number(args, "delay_ms", 0, limits.max_delay.0)?;
    let filler = "x".repeat(usize::try_from(size).unwrap_or(0));
    for progress in 1..=count {
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        let params = Progress {
            progress_token: &token,
            progress,
            total: count,
            message: &filler,
        };
        let note = rpc::notification("notifications/progress", params);
        emit(shared, id, Destination::Stream(stream), &note).await?;
    }
    Ok(text_result(&format!("sent {count} progress notifications")))
}

async fn fetch_cached(
    shared: &Shared,
    id: SessionId,
    args: &Map<String, Value>,
    limits: &ToolLimits,
) -> Result<Value, Failure> {
    let key = key(args, "key", None, limits)?;
    let global = shared.config.bug == Some(Bug::UnboundedCache);
    let (hit, content, notify) = {
        let mut state = shared.lock();
        let (session, bugs) = state.session_and_bugs(&id).ok_or(Gone)?;
        let cached = if global {
            bugs.cache.get(key).cloned()
        } else {
            session.cache.get(key).map(str::to_owned)
        };
        match cached {
            Some(content) => (true, content, false),
            None => {
                let mut content = format!("content of {key}");
                content.extend(std::iter::repeat_n('.', limits.retained_bytes));
                if global {
                    bugs.cache.insert(key.to_owned(), content.clone());
                } else {
                    session.cache.insert(key.to_owned(), content.clone());
                }
                let listening = [key, ANY_TOPIC]
                    .iter()
                    .any(|topic| session.listeners.contains(*topic) || bugs.listens(&id, topic));
                (false, content, listening)
            }
        }
    };
    if !hit {
        let uri = format!("cache:///{key}");
        shared
            .lock()
            .broadcast(Change::Resource(&uri), shared.now());
    }
    if notify {
        let params = json!({ "level": "info", "logger": "subscribe", "data": { "fetched": key } });
        let note = rpc::notification("notifications/message", params);
        emit(shared, id, Destination::Standalone, &note).await?;
    }
    let outcome = if hit { "hit" } else { "miss" };
    Ok(text_result(&format!("{outcome}: {content}")))
}

fn subscribe(
    shared: &Shared,
    id: SessionId,
    args: &Map<String, Value>,
    limits: &ToolLimits,
) -> Result<Value, Failure> {
    let topic = key(args, "topic", Some(ANY_TOPIC), limits)?;
    let mut state = shared.lock();
    let (session, bugs) = state.session_and_bugs(&id).ok_or(Gone)?;
    if shared.config.bug == Some(Bug::ListenerAccumulation) {
        bugs.listeners.push(Listener {
            session: id,
            topic: topic.to_owned(),
            // Written, not zeroed: zeroed pages of a large allocation are not resident.
            _context: vec![0xA5u8; limits.retained_bytes].into_boxed_slice(),
        });
        return Ok(text_result(&format!("subscribed to {topic}")));
    }
    if session.listeners.contains(topic) {
        return Ok(text_result(&format!("already subscribed to {topic}")));
    }
    if session.listeners.len() >= limits.max_listeners {
        let limit = limits.max_listeners;
        return Ok(tool_error(&format!(
            "the session holds its {limit} listeners"
        )));
    }
    session.listeners.insert(topic.to_owned());
    Ok(text_result(&format!("subscribed to {topic}")))
}

fn monitor(
    shared: &Arc<Shared>,
    id: SessionId,
    args: &Map<String, Value>,
    limits: &ToolLimits,
) -> Result<Value, Failure> {
    let count = number(args, "count", 3, limits.max_events)?;
    let interval = number(args, "interval_ms", 1000, limits.max_delay.0)?;
    let ended = {
        let mut state = shared.lock();
        let session = state.session(&id).ok_or(Gone)?;
        if session.monitors >= limits.max_monitors {
            let limit = limits.max_monitors;
            return Ok(tool_error(&format!(
                "the session runs its {limit} monitors"
            )));
        }
        session.monitors += 1;
        state.ended_signal(&id).ok_or(Gone)?
    };
    if shared.config.bug == Some(Bug::IntervalLeak) {
        let scratch = LEAKED_MONITOR_BYTES.max(limits.retained_bytes);
        let task = run_leaky_monitor(Arc::clone(shared), id, count, interval, scratch);
        spawn_in_session(shared, TaskKind::Monitor, shared.stopped.clone(), task);
    } else {
        let task = run_monitor(Arc::clone(shared), id, count, interval);
        spawn_in_session(shared, TaskKind::Monitor, ended, task);
    }
    Ok(text_result(&format!(
        "monitor started: {count} events every {interval} ms"
    )))
}

/// `monitor` in a stateless request (2026-07-28): its log notifications go on the request's
/// own stream, `interval` apart, before its result, and only if the request asked for `info`
/// or a less severe level (under [`Bug::LogsWithoutLevel`], whatever it asked).
async fn request_logs(
    shared: &Shared,
    id: SessionId,
    stream: StreamNo,
    args: &Map<String, Value>,
    limits: &ToolLimits,
) -> Result<Value, Failure> {
    let count = number(args, "count", 3, limits.max_events)?;
    let interval = number(args, "interval_ms", 1000, limits.max_delay.0)?;
    let level = shared.lock().session(&id).ok_or(Gone)?.log_level;
    let logs = shared.config.bug == Some(Bug::LogsWithoutLevel)
        || level.is_some_and(|level| level <= super::modern::INFO);
    for tick in 1..=count {
        tokio::time::sleep(Duration::from_millis(interval)).await;
        if logs {
            emit(
                shared,
                id,
                Destination::Stream(stream),
                &monitor_note(tick, count),
            )
            .await?;
        }
    }
    Ok(text_result(&format!("monitored {count} ticks")))
}

/// The body of a `monitor` task: `count` notifications on the standalone stream (dropped
/// while the session has none), `interval` apart.
async fn run_monitor(shared: Arc<Shared>, id: SessionId, count: u64, interval: u64) {
    for tick in 1..=count {
        tokio::time::sleep(Duration::from_millis(interval)).await;
        let note = monitor_note(tick, count);
        if emit(&shared, id, Destination::Standalone, &note)
            .await
            .is_err()
        {
            return;
        }
    }
    shared.lock().end_monitor(&id);
}

/// [`Bug::IntervalLeak`]'s monitor: an interval whose tick callback captures a scratch
/// buffer. While its session lives it sends what [`run_monitor`] sends; once its session has
/// ended nothing clears it: it ticks on at its interval (at least 1 ms) for good, its events
/// going nowhere, and ends only with the server's stop signal.
async fn run_leaky_monitor(
    shared: Arc<Shared>,
    id: SessionId,
    count: u64,
    interval: u64,
    scratch_bytes: usize,
) {
    // Written, not zeroed: zeroed pages of a large allocation are not resident.
    let scratch = vec![0xA5u8; scratch_bytes];
    let on_tick = move |tick| {
        std::hint::black_box(&scratch);
        monitor_note(tick, count)
    };
    for tick in 1..=count {
        tokio::time::sleep(Duration::from_millis(interval)).await;
        if emit(&shared, id, Destination::Standalone, &on_tick(tick))
            .await
            .is_err()
        {
            let period = Duration::from_millis(interval.max(1));
            loop {
                tokio::time::sleep(period).await;
                let _ = emit(&shared, id, Destination::Standalone, &on_tick(tick)).await;
            }
        }
    }
    shared.lock().end_monitor(&id);
}

/// The params of a `notifications/progress`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Progress<'a> {
    progress_token: &'a Value,
    progress: u64,
    total: u64,
    message: &'a str,
}

fn monitor_note(tick: u64, count: u64) -> rpc::Notification<Value> {
    let params =
        json!({ "level": "info", "logger": "monitor", "data": { "tick": tick, "of": count } });
    rpc::notification("notifications/message", params)
}

fn text_result(text: &str) -> Value {
    json!({ "content": [{ "type": "text", "text": text }], "isError": false })
}

fn tool_error(text: &str) -> Value {
    json!({ "content": [{ "type": "text", "text": text }], "isError": true })
}

/// A required string argument.
fn text<'a>(args: &'a Map<String, Value>, name: &str) -> Result<&'a str, RpcError> {
    args.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params(format!("`{name}` must be a string")))
}

/// A string argument of at most `max_key_bytes` (`default` when absent, if given).
fn key<'a>(
    args: &'a Map<String, Value>,
    name: &str,
    default: Option<&'a str>,
    limits: &ToolLimits,
) -> Result<&'a str, RpcError> {
    let value = match (args.get(name), default) {
        (None, Some(default)) => default,
        _ => text(args, name)?,
    };
    if value.len() > limits.max_key_bytes {
        let max = limits.max_key_bytes;
        return Err(RpcError::invalid_params(format!(
            "`{name}` is longer than {max} bytes"
        )));
    }
    Ok(value)
}

/// A non-negative integer argument of at most `max` (`default` when absent).
fn number(args: &Map<String, Value>, name: &str, default: u64, max: u64) -> Result<u64, RpcError> {
    let value = match args.get(name) {
        None => default,
        Some(value) => value.as_u64().ok_or_else(|| {
            RpcError::invalid_params(format!("`{name}` must be a non-negative integer"))
        })?,
    };
    if value > max {
        return Err(RpcError::invalid_params(format!(
            "`{name}` is over its maximum of {max}"
        )));
    }
    Ok(value)
}
