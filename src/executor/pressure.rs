//! The ops that press on a server's limits: a flood of long-lived streams for one principal
//! ([`Op::Flood`]), and a request body past the limit ([`Op::Oversize`]).
//!
//! [`Op::Flood`]: crate::scenario::Op::Flood
//! [`Op::Oversize`]: crate::scenario::Op::Oversize

use std::sync::atomic::Ordering;
use std::time::Duration;

use http::header::{CONTENT_ENCODING, CONTENT_LENGTH};
use http::{HeaderValue, Method};
#[cfg(test)]
use serde_json::Value;
use tokio::time::Instant;

use super::oversized::{oversized, OVERSIZED_ID};
use super::reading::{AfterRead, ReadPlan};
use super::requests;
use super::{Prepared, Run, Send, SlotState};
use crate::alloc::{charged_to, Side};
use crate::input::Untrusted;
use crate::scenario::{Flood, Oversize, Slot, ToolCall};
use crate::trace::{CheckpointKind, FloodRecord, OversizeRecord, Purpose, StreamEnd, UploadRecord};

/// The call each stream of a flood makes: the `stream` tool, each event after the longest delay
/// of real time (1999 is 4 modulo 5: 4 ms) and nearly the longest of virtual time (1999 ms), so
/// that the stream outlasts the flood: over a socket 255 events (about a second); in process 8
/// (16 s of virtual time), since the reference goes on producing a dropped stream's events for
/// resumption, and 255 of them for each of a flood's streams would cost every later op.
fn slow_call(in_process: bool) -> ToolCall {
    ToolCall::Stream {
        count: if in_process { 8 } else { u8::MAX },
        size: 0,
        delay_ms: 1999,
    }
}

impl Run<'_> {
    /// Opens the policy's `probe_streams` streams for the session in `slot` (for
    /// [`Flood::SpreadCalls`], one in each of as many new sessions), one after the other and
    /// each left unread; reads what the server holds with all of them open; then drops every
    /// one. The control's sessions stay in the trace, and the teardown deletes them.
    pub(super) async fn flood(&mut self, slot: Slot, streams: Flood) {
        let Some(session) = self.session_of(slot) else {
            return;
        };
        let before = self.resources_now();
        let slow = slow_call(self.target.in_process());
        let mut exchanges = Vec::new();
        for _ in 0..self.trace.policy.probe_streams {
            let send = match streams {
                Flood::Calls => self.call_request(slot, session, &slow),
                Flood::Gets => Send::new(Method::GET, Purpose::OpenGet, Some(slot)),
                Flood::SpreadCalls => match self.principal_of_its_own(slot, session).await {
                    Some(own) => self.call_request(slot, own, &slow),
                    None => continue,
                },
            };
            exchanges.push(self.send_and_keep(send).await);
            if streams == Flood::SpreadCalls {
                self.slots[slot.index()] = SlotState::Live(session);
            }
        }
        self.settle().await;
        let held = self.resources_now();
        let opened: Vec<usize> = exchanges
            .iter()
            .filter(|&&exchange| self.accepted(exchange))
            .filter_map(|&exchange| self.trace.exchanges[exchange].stream)
            .collect();
        // Which of them are still open: read what each has ready, without waiting.
        let mut open_when_held = 0;
        for &stream in &opened {
            if let Some(index) = self.open.iter().position(|body| body.stream == stream) {
                let plan = ReadPlan {
                    want: u64::MAX,
                    quiet: Duration::ZERO,
                    until: Instant::now(),
                };
                if self.read_open(index, plan).await == AfterRead::Open {
                    open_when_held += 1;
                }
            }
        }
        let at = self.now();
        let streams_record = &mut self.trace.streams;
        self.open.retain(|body| {
            let flooded = opened.contains(&body.stream);
            if flooded {
                streams_record[body.stream].end = Some(StreamEnd::Dropped { at });
            }
            !flooded
        });
        if self.trace.sessions[session].stateless {
            self.await_cancellation().await;
        }
        self.settle().await;
        self.checkpoint(CheckpointKind::AfterDrop);
        self.trace.floods.push(FloodRecord {
            step: self.step,
            session,
            streams,
            exchanges,
            before,
            held,
            open_when_held,
        });
    }

    /// Opens a new session in `slot` for the control of a flood, speaking the version `like`
    /// asked for: initialize, then initialized (for a stateless `like`, a new stateless
    /// client: server/discover). The slot holds the new session until the
    /// caller points it back at `like`; `None` if the server opened none.
    async fn principal_of_its_own(&mut self, slot: Slot, like: usize) -> Option<usize> {
        if self.trace.sessions[like].stateless {
            self.discover(slot).await;
            return self.session_of(slot).filter(|&own| own != like);
        }
        self.initialize(slot, self.trace.sessions[like].requested)
            .await;
        let own = self.session_of(slot).filter(|&own| own != like)?;
        let mut send = Send::new(Method::POST, Purpose::Initialized, Some(slot));
        send.body = requests::rpc_notification("notifications/initialized");
        self.send_and_finish(send).await;
        Some(own)
    }

    /// POSTs a `tools/call` for the session in `slot` whose body, once decoded, is eight times
    /// the policy's `max_request_bytes`, sent as `kind` says, while the server's memory
    /// high-water mark is watched; reads the answer. Its JSON-RPC id is [`OVERSIZED_ID`]: the
    /// exchange is not one of the run's tracked requests.
    pub(super) async fn oversize(&mut self, slot: Slot, kind: Oversize) {
        let Some(session) = self.session_of(slot) else {
            return;
        };
        let canary = self.trace.sessions[session].canary.clone();
        let echo = ToolCall::Echo {
            text: Untrusted(Vec::new()),
        };
        let tool = self.tools.arguments(&echo, &canary, &mut self.fresh).tool;
        let (prefix, suffix) = call_halves(&tool, OVERSIZED_ID);
        let limit = self.trace.policy.max_request_bytes;
        let made = oversized(kind, limit, &tool, prefix.as_bytes(), suffix.as_bytes());
        let mut headers = Vec::new();
        if let Some(encoding) = made.encoding {
            headers.push((CONTENT_ENCODING, HeaderValue::from_static(encoding)));
        }
        if let Some(length) = made.announced {
            headers.push((CONTENT_LENGTH, HeaderValue::from(length)));
        }
        let mut send = Send::new(Method::POST, Purpose::Oversized { body: kind }, Some(slot));
        send.prepared = Some(Prepared {
            body: made.body,
            record: UploadRecord {
                bytes: made.wire_bytes as usize,
                chunks: 0,
                aborted: false,
            },
            headers,
        });
        let before = self.target.restart_memory_peak();
        let feed = tokio::spawn(charged_to(Side::Client, made.feed));
        let exchange = self.send(send).await;
        let answered = self.trace.exchanges[exchange].outcome.status().is_some();
        let sent_at_answer = answered.then(|| made.sent.load(Ordering::Relaxed));
        self.finish(exchange).await;
        feed.abort();
        self.settle().await;
        let memory_growth = before
            .zip(self.target.memory_peak())
            .map(|(before, peak)| peak.saturating_sub(before));
        self.trace.oversized.push(OversizeRecord {
            exchange,
            body: kind,
            limit,
            decoded_bytes: made.decoded_bytes,
            wire_bytes: made.wire_bytes,
            sent_at_answer,
            memory_growth,
        });
    }
}

/// The JSON text of a `tools/call` of `tool` with request id `id` whose `text` argument is
/// left out: the filler goes between the two halves.
fn call_halves(tool: &str, id: u64) -> (String, String) {
    let params = requests::call_params(tool, serde_json::json!({ "text": "\u{0}" }), id);
    let json = requests::rpc_request(id, "tools/call", params);
    let json = String::from_utf8_lossy(&json).into_owned();
    match json.split_once("\\u0000") {
        Some((prefix, suffix)) => (prefix.to_owned(), suffix.to_owned()),
        None => (json, String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_halves_of_a_call_hold_any_filler() {
        let (prefix, suffix) = call_halves("echo", 7);
        let whole = format!("{prefix}aaaa{suffix}");
        let value: Value = serde_json::from_str(&whole).expect("JSON");
        assert_eq!(
            value.pointer("/params/arguments/text"),
            Some(&Value::from("aaaa"))
        );
        assert_eq!(value.pointer("/id"), Some(&Value::from(7)));
    }
}
