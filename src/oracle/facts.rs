//! Facts several oracles read off a trace: which request a server message belongs to, which
//! session a stream serves, which stream a resume continues, and the finding they all build.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

use super::{Finding, Oracle, Severity};
use crate::trace::{EventRecord, Exchange, IdSource, Trace};

/// A finding of `oracle`.
pub(super) fn finding(
    oracle: Oracle,
    severity: Severity,
    kind: &'static str,
    summary: String,
    evidence: Value,
    step: Option<usize>,
) -> Finding {
    Finding::new(oracle, severity, kind, summary, evidence, step)
}

/// Whether `status` is a success (2xx).
pub(super) fn is_success(status: u16) -> bool {
    (200..300).contains(&status)
}

/// Whether `exchange` got a 2xx response head.
pub(super) fn succeeded(exchange: &Exchange) -> bool {
    exchange.outcome.status().is_some_and(is_success)
}

/// The members of a server message the oracles look at; the rest (results, fillers) is
/// skipped without being built.
#[derive(Deserialize)]
struct Message {
    id: Option<Value>,
    method: Option<IgnoredAny>,
    params: Option<Params>,
}

#[derive(Deserialize)]
struct Params {
    #[serde(rename = "progressToken")]
    progress_token: Option<Value>,
}

/// The message `data` holds, if it holds a JSON object (empty data, a priming event's, holds
/// none).
fn message(data: &str) -> Option<Message> {
    if data.is_empty() {
        return None;
    }
    serde_json::from_str(data).ok()
}

/// The JSON-RPC request id a server message is about: a response's `id`, or a notification's
/// `params.progressToken` (the client sets it to its request's id). `None` for empty data
/// (priming events), for what is not a JSON object, and for messages with neither.
fn origin_rpc_id(data: &str) -> Option<u64> {
    let message = message(data)?;
    if message.method.is_some() {
        message.params?.progress_token?.as_u64()
    } else {
        message.id?.as_u64()
    }
}

/// The request id a server message answers, if it is a JSON-RPC response (an object with a
/// numeric `id` and no `method`).
pub(super) fn response_rpc_id(data: &str) -> Option<u64> {
    let message = message(data)?;
    if message.method.is_some() {
        return None;
    }
    message.id?.as_u64()
}

/// Every request's JSON-RPC id, to the exchange that sent it (ids are unique in a trace).
#[derive(Debug, Default)]
pub(super) struct Origins(BTreeMap<u64, usize>);

impl Origins {
    pub(super) fn of(trace: &Trace) -> Self {
        let ids = trace
            .exchanges
            .iter()
            .enumerate()
            .filter_map(|(index, exchange)| Some((exchange.rpc_id?, index)));
        Self(ids.collect())
    }

    /// The exchange whose request the message `data` answers or reports on.
    pub(super) fn exchange(&self, data: &str) -> Option<usize> {
        self.of_id(origin_rpc_id(data)?)
    }

    /// The exchange that sent request `rpc_id`.
    pub(super) fn of_id(&self, rpc_id: u64) -> Option<usize> {
        self.0.get(&rpc_id).copied()
    }
}

/// The session stream `stream` serves: its own record's, else its exchange's (an
/// initialize's stream is recorded before its session exists).
pub(super) fn stream_session(trace: &Trace, stream: usize) -> Option<usize> {
    let record = &trace.streams[stream];
    record
        .session
        .or_else(|| trace.exchanges.get(record.exchange)?.session)
}

/// The scenario step of the request that opened `stream`.
pub(super) fn stream_step(trace: &Trace, stream: usize) -> Option<usize> {
    let exchange = trace.streams[stream].exchange;
    trace.exchanges.get(exchange).map(|exchange| exchange.step)
}

/// The stream, and its event index, that an accepted resume asked to continue: the id's
/// stream for `Own` and `OtherStream` sources (ids of the asking session), else `None`.
pub(super) fn resumed(exchange: &Exchange) -> Option<(usize, usize)> {
    if !succeeded(exchange) {
        return None;
    }
    match exchange.last_event_id.as_ref()?.source {
        IdSource::Own { stream, event } | IdSource::OtherStream { stream, event } => {
            Some((stream, event))
        }
        IdSource::OtherSession { .. } | IdSource::Mutated { .. } | IdSource::Forged => None,
    }
}

/// The first stream of the chain of accepted resumes that ends in `stream`: a resume of a
/// resume continues the same server stream as the first.
pub(super) fn lineage(trace: &Trace, mut stream: usize) -> usize {
    while let Some((earlier, _)) = trace
        .exchanges
        .get(trace.streams[stream].exchange)
        .and_then(resumed)
        .filter(|&(earlier, _)| earlier < stream)
    {
        stream = earlier;
    }
    stream
}

/// Whether `stream` answers a resume (a request with `Last-Event-ID`).
pub(super) fn is_resume(trace: &Trace, stream: usize) -> bool {
    trace
        .exchanges
        .get(trace.streams[stream].exchange)
        .is_some_and(|exchange| exchange.last_event_id.is_some())
}

/// The event's `id`, when it has a non-empty one.
pub(super) fn event_id(event: &EventRecord) -> Option<&str> {
    event.id.as_deref().filter(|id| !id.is_empty())
}
