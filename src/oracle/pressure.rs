//! `connection-cap`: "one principal can hold any number of concurrent long-lived streams and
//! the server's memory or descriptors grow with each"; and `request-size`: "an oversized
//! request body, an oversized single chunk, or a compressed body that inflates past the limit
//! is read into memory instead of being refused early".
//!
//! Both judge the records of their ops ([`FloodRecord`], [`OversizeRecord`]). A refusal is the
//! correct answer to either (429, 503, 413, 415, a 4xx with a JSON-RPC error, or a closed
//! connection); what is judged is what the server held before it refused, or that it never
//! refused.

use serde_json::{json, Value};

use super::facts::finding;
use super::{Finding, Oracle, Severity};
use crate::scenario::Flood;
use crate::trace::{FloodRecord, OversizeRecord, Resources, Trace};

/// `connection-cap`, per flood: with a policy cap, more accepted streams than the cap →
/// `over-policy-cap`; without one, every stream of the flood accepted, seven in eight of them
/// or more still open at once when the server was read, and the server holding something for
/// each (a connection it counts, a descriptor, memory) → `no-stream-cap`. A server that bounds
/// a principal's streams by closing its oldest (rmcp keeps 32 standalone "shadow" streams a
/// session, and closes the oldest for a new one) caps them as well as one that refuses; and
/// streams that end before the reading were never concurrent, so a server needs no cap for
/// them.
///
/// A control flood ([`Flood::SpreadCalls`]: one stream for each of as many sessions) is not
/// judged; what each of its streams cost is given beside a one-principal finding of the same
/// trace, as the cost of a stream that no per-principal cap would refuse.
pub(super) fn connection_cap(trace: &Trace) -> Vec<Finding> {
    let control = trace
        .floods
        .iter()
        .find(|flood| flood.streams == Flood::SpreadCalls)
        .map(|flood| {
            let accepted = accepted(trace, flood);
            json!({
                "sent": flood.exchanges.len(),
                "accepted": accepted,
                "open_when_held": flood.open_when_held,
                "per_stream": StreamCost::of(&flood.before, &flood.held, accepted),
            })
        });
    trace
        .floods
        .iter()
        .filter(|flood| flood.streams != Flood::SpreadCalls)
        // A stateless (2026-07-28) client, or a session the server gave no id, is no
        // principal: without an id, a token or an address of its own, nothing ties its
        // requests together for a server to count.
        .filter(|flood| {
            let session = &trace.sessions[flood.session];
            !session.stateless && session.id.is_some()
        })
        .filter_map(|flood| judge_flood(trace, flood, control.as_ref()))
        .collect()
}

/// How many of a flood's requests got a 2xx answer.
fn accepted(trace: &Trace, flood: &FloodRecord) -> usize {
    flood
        .exchanges
        .iter()
        .filter(|&&exchange| {
            trace.exchanges[exchange]
                .outcome
                .status()
                .is_some_and(|status| (200..300).contains(&status))
        })
        .count()
}

fn judge_flood(trace: &Trace, flood: &FloodRecord, control: Option<&Value>) -> Option<Finding> {
    let accepted = accepted(trace, flood);
    let sent = flood.exchanges.len();
    let cost = StreamCost::of(&flood.before, &flood.held, accepted);
    let evidence = json!({
        "session": flood.session,
        "streams": flood.streams,
        "sent": sent,
        "accepted": accepted,
        "open_when_held": flood.open_when_held,
        "refusals": refusals(trace, &flood.exchanges),
        "per_stream": cost,
        "before": flood.before,
        "held": flood.held,
        "control": control,
    });
    let (kind, summary) = match trace.policy.max_streams_per_principal {
        Some(cap) if accepted > cap as usize => (
            "over-policy-cap",
            format!(
                "session {} held {accepted} concurrent {:?} streams, over the policy's cap of \
                 {cap} per principal",
                flood.session, flood.streams
            ),
        ),
        Some(_) => return None,
        None if accepted == sent
            && sent > 1
            && flood.open_when_held >= sent - sent / 8
            && cost.shows_each_held(accepted) =>
        {
            (
                "no-stream-cap",
                format!(
                    "session {} opened {sent} {:?} streams and none was refused; {} were open \
                     at once, and each held {}",
                    flood.session,
                    flood.streams,
                    flood.open_when_held,
                    cost.words()
                ),
            )
        }
        None => return None,
    };
    let step = Some(flood.step);
    Some(finding(
        Oracle::ConnectionCap,
        Severity::Medium,
        kind,
        summary,
        evidence,
        step,
    ))
}

/// The distinct statuses (or failures) of the refused requests among `exchanges`.
fn refusals(trace: &Trace, exchanges: &[usize]) -> Vec<String> {
    let mut refused: Vec<String> = exchanges
        .iter()
        .map(|&exchange| &trace.exchanges[exchange].outcome)
        .filter(|outcome| !outcome.status().is_some_and(|s| (200..300).contains(&s)))
        .map(ToString::to_string)
        .collect();
    refused.sort();
    refused.dedup();
    refused
}

/// What the server held per accepted stream of a flood: the growth from before the flood to
/// the reading with every stream open, divided by the streams.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
struct StreamCost {
    /// Response bodies the server counts (in process).
    connections: Option<f64>,
    /// Heap bytes the server side holds (in process).
    heap_bytes: Option<f64>,
    /// Socket descriptors of the server's process group.
    socket_fds: Option<f64>,
    /// Resident bytes of the server's process group.
    rss_bytes: Option<f64>,
}

impl StreamCost {
    fn of(before: &Resources, held: &Resources, streams: usize) -> Self {
        let per = |before: Option<f64>, held: Option<f64>| {
            Some((held? - before?) / streams.max(1) as f64)
        };
        let count = |value: Option<usize>| value.map(|v| v as f64);
        Self {
            connections: per(count(before.connections), count(held.connections)),
            heap_bytes: per(
                before.heap.map(|h| h.bytes as f64),
                held.heap.map(|h| h.bytes as f64),
            ),
            socket_fds: per(count(before.socket_fds), count(held.socket_fds)),
            rss_bytes: per(
                before.rss_bytes.map(|b| b as f64),
                held.rss_bytes.map(|b| b as f64),
            ),
        }
    }

    /// Whether the server holds something for each stream: at least half a counted
    /// connection or half a socket per stream (the streams it still holds open), or, with
    /// neither count, any memory per stream.
    fn shows_each_held(&self, streams: usize) -> bool {
        if streams == 0 {
            return false;
        }
        let half = |value: Option<f64>| value.is_some_and(|v| v >= 0.5);
        match (self.connections, self.socket_fds) {
            (None, None) => self.heap_bytes.or(self.rss_bytes).is_some_and(|b| b > 0.0),
            _ => half(self.connections) || half(self.socket_fds),
        }
    }

    fn words(&self) -> String {
        let mut parts = Vec::new();
        if let Some(connections) = self.connections {
            parts.push(format!("{connections:.1} connections"));
        }
        if let Some(fds) = self.socket_fds {
            parts.push(format!("{fds:.1} sockets"));
        }
        if let Some(bytes) = self.heap_bytes {
            parts.push(format!("{:.1} KiB of heap", bytes / 1024.0));
        }
        if let Some(bytes) = self.rss_bytes {
            parts.push(format!("{:.1} KiB of RSS", bytes / 1024.0));
        }
        if parts.is_empty() {
            "something".to_owned()
        } else {
            parts.join(", ")
        }
    }
}

/// `request-size`, per oversized body: answered with success (the server read, or inflated,
/// the whole of a body eight times the limit) → `over-limit-accepted`; refused only once the
/// client had sent the whole body, with the server's memory risen by half the decoded body or
/// more by the time the answer was read (held, or churned through buffers of its own) →
/// `read-before-refusing`. A bomb (a body in a content coding) gives `bomb-accepted` and
/// `bomb-inflated-before-refusing` instead. A refusal before the end of the body is early,
/// whatever memory the server churned while it discarded the rest.
pub(super) fn request_size(trace: &Trace) -> Vec<Finding> {
    trace
        .oversized
        .iter()
        .filter_map(|record| judge_oversized(trace, record))
        .collect()
}

fn judge_oversized(trace: &Trace, record: &OversizeRecord) -> Option<Finding> {
    let exchange = &trace.exchanges[record.exchange];
    let accepted = exchange
        .outcome
        .status()
        .is_some_and(|status| (200..300).contains(&status));
    let growth = record.memory_growth;
    let after_the_end = record.sent_at_answer == Some(record.wire_bytes);
    let held = after_the_end && growth.is_some_and(|growth| growth >= record.decoded_bytes / 2);
    let bomb = record.wire_bytes < record.decoded_bytes;
    let (kind, verdict) = match (accepted, held, bomb) {
        (true, _, false) => ("over-limit-accepted", "was accepted, so read whole"),
        (true, _, true) => ("bomb-accepted", "was accepted, so inflated whole"),
        (false, true, false) => ("read-before-refusing", "was read whole before the answer"),
        (false, true, true) => (
            "bomb-inflated-before-refusing",
            "was inflated in memory before the answer",
        ),
        (false, false, _) => return None,
    };
    let memory = match growth {
        Some(growth) => format!("; the server's memory rose {} KiB", growth >> 10),
        None => String::new(),
    };
    let summary = format!(
        "a {:?} body of {} KiB ({} KiB on the wire; the limit is {} KiB) {verdict} ({}){memory}",
        record.body,
        record.decoded_bytes >> 10,
        record.wire_bytes >> 10,
        record.limit >> 10,
        exchange.outcome,
    );
    let evidence = json!({
        "exchange": record.exchange,
        "body": record.body,
        "limit": record.limit,
        "decoded_bytes": record.decoded_bytes,
        "wire_bytes": record.wire_bytes,
        "sent_at_answer": record.sent_at_answer,
        "outcome": exchange.outcome.to_string(),
        "memory_growth": growth,
    });
    Some(finding(
        Oracle::RequestSize,
        Severity::Medium,
        kind,
        summary,
        evidence,
        Some(exchange.step),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::test_trace::{kinds, Build};
    use crate::scenario::Oversize;
    use crate::trace::Purpose;

    const ID: &str = "9f2c4e1a7b3d5f608e1c2a4b6d8f0a1c3e5b7d9f1a2c4e6b";

    /// A flood of `sent` calls of which `accepted` got 200 and the rest 429, with
    /// `sockets_held` sockets more at the reading (and as many streams still open).
    fn flood(sent: usize, accepted: usize, sockets_held: usize) -> Build {
        let mut b = Build::new();
        let s = b.session(Some(ID), "2025-11-25");
        let exchanges = (0..sent)
            .map(|i| {
                let call = b.request(
                    Purpose::Call {
                        tool: "stream".to_owned(),
                    },
                    Some(s),
                );
                b.status(call, if i < accepted { 200 } else { 429 });
                call
            })
            .collect();
        let before = Resources {
            socket_fds: Some(3),
            rss_bytes: Some(40 << 20),
            ..Resources::default()
        };
        let held = Resources {
            socket_fds: Some(3 + sockets_held),
            rss_bytes: Some((40 << 20) + (sockets_held as u64) * (64 << 10)),
            ..Resources::default()
        };
        b.trace.floods.push(FloodRecord {
            step: 1,
            session: s,
            streams: Flood::Calls,
            exchanges,
            before,
            held,
            open_when_held: sockets_held.min(accepted),
        });
        b
    }

    #[test]
    fn a_flood_never_refused_while_each_stream_holds_a_socket_is_caught() {
        let found = connection_cap(&flood(64, 64, 64).trace);
        assert_eq!(kinds(&found), ["no-stream-cap"]);
        assert!(
            found[0].summary.contains("64 were open at once"),
            "{}",
            found[0].summary
        );
        assert!(
            found[0].summary.contains("1.0 sockets"),
            "{}",
            found[0].summary
        );
        assert_eq!(found[0].level(), crate::oracle::Level::Should);
    }

    #[test]
    fn the_control_is_evidence_not_a_finding() {
        let mut b = flood(64, 64, 64);
        let mut control = b.trace.floods[0].clone();
        control.streams = Flood::SpreadCalls;
        b.trace.floods.push(control.clone());
        let found = connection_cap(&b.trace);
        assert_eq!(kinds(&found), ["no-stream-cap"]);
        assert_eq!(found[0].evidence["control"]["accepted"], 64);
        b.trace.floods = vec![control];
        assert_eq!(kinds(&connection_cap(&b.trace)), Vec::<&str>::new());
    }

    #[test]
    fn a_flood_refused_at_a_cap_passes() {
        assert_eq!(
            kinds(&connection_cap(&flood(64, 32, 32).trace)),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn streams_that_end_at_once_are_not_held() {
        // Every request accepted, but the server holds nothing for them by the reading.
        assert_eq!(
            kinds(&connection_cap(&flood(64, 64, 2).trace)),
            Vec::<&str>::new()
        );
        // Each holds a socket (an idle keep-alive connection), but most streams had ended.
        let mut ended = flood(64, 64, 64);
        ended.trace.floods[0].open_when_held = 20;
        assert_eq!(kinds(&connection_cap(&ended.trace)), Vec::<&str>::new());
        // The oldest closed for each new one past 33, as rmcp does with GET streams.
        ended.trace.floods[0].open_when_held = 33;
        assert_eq!(kinds(&connection_cap(&ended.trace)), Vec::<&str>::new());
        ended.trace.floods[0].open_when_held = 56;
        assert_eq!(kinds(&connection_cap(&ended.trace)), ["no-stream-cap"]);
    }

    #[test]
    fn a_policy_cap_is_judged_exactly() {
        let mut at_cap = flood(64, 32, 32);
        at_cap.trace.policy.max_streams_per_principal = Some(32);
        assert_eq!(kinds(&connection_cap(&at_cap.trace)), Vec::<&str>::new());
        let mut over = flood(64, 33, 33);
        over.trace.policy.max_streams_per_principal = Some(32);
        assert_eq!(kinds(&connection_cap(&over.trace)), ["over-policy-cap"]);
    }

    /// An oversized body of `kind` answered with `status` once all of it was sent, the server's
    /// memory risen by `growth` bytes (unread when `None`).
    fn oversized(kind: Oversize, status: u16, growth: Option<u64>) -> Build {
        let mut b = Build::new();
        let s = b.session(Some(ID), "2025-11-25");
        let exchange = b.request(Purpose::Oversized { body: kind }, Some(s));
        b.status(exchange, status);
        let limit = 4 << 20;
        let bomb = matches!(kind, Oversize::Gzip | Oversize::Deflate);
        let wire_bytes = if bomb { 33 << 10 } else { 8 * limit };
        b.trace.oversized.push(OversizeRecord {
            exchange,
            body: kind,
            limit,
            decoded_bytes: 8 * limit,
            wire_bytes,
            sent_at_answer: Some(wire_bytes),
            memory_growth: growth,
        });
        b
    }

    #[test]
    fn an_early_refusal_passes() {
        for kind in [Oversize::Sized, Oversize::Chunked, Oversize::Gzip] {
            let b = oversized(kind, 413, Some(5 << 20));
            assert_eq!(kinds(&request_size(&b.trace)), Vec::<&str>::new());
        }
        let unread = oversized(Oversize::OneChunk, 413, None);
        assert_eq!(kinds(&request_size(&unread.trace)), Vec::<&str>::new());
    }

    #[test]
    fn a_body_held_before_its_refusal_is_caught() {
        let b = oversized(Oversize::Chunked, 413, Some(33 << 20));
        let found = request_size(&b.trace);
        assert_eq!(kinds(&found), ["read-before-refusing"]);
        assert!(
            found[0].summary.contains("33792 KiB"),
            "{}",
            found[0].summary
        );
        let bomb = oversized(Oversize::Deflate, 413, Some(20 << 20));
        assert_eq!(
            kinds(&request_size(&bomb.trace)),
            ["bomb-inflated-before-refusing"]
        );
    }

    #[test]
    fn a_refusal_before_the_end_of_the_body_is_early_whatever_memory_churned() {
        let mut b = oversized(Oversize::Chunked, 413, Some(28 << 20));
        b.trace.oversized[0].sent_at_answer = Some(9 << 20);
        assert_eq!(kinds(&request_size(&b.trace)), Vec::<&str>::new());
    }

    #[test]
    fn an_accepted_oversized_body_is_caught_with_or_without_a_memory_reading() {
        let b = oversized(Oversize::Sized, 200, None);
        assert_eq!(kinds(&request_size(&b.trace)), ["over-limit-accepted"]);
        let bomb = oversized(Oversize::Gzip, 200, Some(1 << 20));
        assert_eq!(kinds(&request_size(&bomb.trace)), ["bomb-accepted"]);
    }
}
