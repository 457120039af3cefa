//! `cancel-cleanup`: "after a client abort or cancel, resources (tasks, timers, buffers,
//! handles) stay held"; `session-cleanup`: "after DELETE or expiry, the session's state stays,
//! or its id still works"; and `leak`: "live memory, tasks, listeners or file descriptors grow
//! with the number of calls or sessions after they have ended".
//!
//! All three read the resource snapshots: a count a target cannot see is `None` and not judged.

use serde_json::json;

use super::facts::{finding, succeeded};
use super::{Finding, Oracle, Severity};
use crate::trace::Resources;
use crate::trace::{Checkpoint, CheckpointKind, SessionHeader, Trace};

/// `cancel-cleanup`: "at every AfterDrop checkpoint, `resources.connections` (if Some) must be
/// ≤ `open_bodies` → `connection-kept-after-drop`; at every AfterAbortedUpload checkpoint,
/// `resources.uploads` (if Some) must be 0 → `upload-kept-after-abort`".
pub(super) fn cancel_cleanup(trace: &Trace) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, checkpoint) in trace.checkpoints.iter().enumerate() {
        let resources = &checkpoint.resources;
        let (kind, count, allowed, what) = match checkpoint.kind {
            CheckpointKind::AfterDrop => (
                "connection-kept-after-drop",
                resources.connections,
                checkpoint.open_bodies,
                "connections",
            ),
            CheckpointKind::AfterAbortedUpload => {
                ("upload-kept-after-abort", resources.uploads, 0, "uploads")
            }
            _ => continue,
        };
        let Some(count) = count.filter(|&count| count > allowed) else {
            continue;
        };
        let summary = format!(
            "after {} the server held {count} {what}, more than the {allowed} the client holds",
            if what == "uploads" {
                "an aborted upload"
            } else {
                "a dropped response"
            },
        );
        let evidence = json!({
            "checkpoint": index,
            what: count,
            "open_bodies": checkpoint.open_bodies,
            "resources": resources,
        });
        findings.push(finding(
            Oracle::CancelCleanup,
            Severity::Medium,
            kind,
            summary,
            evidence,
            Some(checkpoint.step),
        ));
    }
    findings
}

/// `session-cleanup`: "any exchange whose session_header is Ended(i) where session i has
/// `deleted_by` Some (the DELETE got 2xx) and that got a 2xx status → `deleted-id-accepted`";
/// "at Teardown (where live_sessions is 0), `sessions`, `streams`, `logged_events` (each if
/// Some) must be 0 → `state-kept-after-delete`".
pub(super) fn session_cleanup(trace: &Trace) -> Vec<Finding> {
    let mut findings: Vec<Finding> = deleted_ids_accepted(trace).collect();
    let teardowns = trace
        .checkpoints
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind == CheckpointKind::Teardown && c.live_sessions == 0);
    findings.extend(teardowns.filter_map(|(index, checkpoint)| state_kept(index, checkpoint)));
    findings
}

fn deleted_ids_accepted(trace: &Trace) -> impl Iterator<Item = Finding> + '_ {
    trace
        .exchanges
        .iter()
        .enumerate()
        .filter_map(move |(index, exchange)| {
            let SessionHeader::Ended(session) = exchange.session_header else {
                return None;
            };
            let deleted_by = trace.sessions.get(session)?.deleted_by?;
            if index <= deleted_by || !succeeded(exchange) {
                return None;
            }
            let status = exchange.outcome.status()?;
            let summary = format!(
                "{} {:?} with the id of session {session}, deleted by exchange {deleted_by}, \
                 got {status}",
                exchange.method, exchange.purpose
            );
            let evidence = json!({
                "exchange": index,
                "session": session,
                "session_id": trace.sessions[session].id,
                "deleted_by": deleted_by,
                "status": status,
            });
            Some(finding(
                Oracle::SessionCleanup,
                Severity::High,
                "deleted-id-accepted",
                summary,
                evidence,
                Some(exchange.step),
            ))
        })
}

fn state_kept(index: usize, checkpoint: &Checkpoint) -> Option<Finding> {
    let resources = &checkpoint.resources;
    let counts = [
        ("sessions", resources.sessions),
        ("streams", resources.streams),
        ("logged_events", resources.logged_events),
    ];
    let kept: Vec<String> = counts
        .iter()
        .filter_map(|(name, count)| Some(format!("{name}={}", count.filter(|&c| c > 0)?)))
        .collect();
    if kept.is_empty() {
        return None;
    }
    let summary = format!(
        "after every session was deleted the server still held {}",
        kept.join(", ")
    );
    let evidence = json!({
        "checkpoint": index,
        "sessions": resources.sessions,
        "streams": resources.streams,
        "logged_events": resources.logged_events,
    });
    Some(finding(
        Oracle::SessionCleanup,
        Severity::High,
        "state-kept-after-delete",
        summary,
        evidence,
        Some(checkpoint.step),
    ))
}

/// Reads one count off a snapshot.
type Count = fn(&Resources) -> Option<usize>;

/// The counts `leak` compares with the baseline.
const COUNTS: [(&str, Count); 7] = [
    ("cache_entries", |r| r.cache_entries),
    ("listeners", |r| r.listeners),
    ("timers", |r| r.timers),
    ("server_tasks", |r| r.server_tasks),
    ("runtime_tasks", |r| r.runtime_tasks),
    ("uploads", |r| r.uploads),
    ("connections", |r| r.connections),
];

/// `leak`: "at Teardown, compared with Baseline: `cache_entries`, `listeners`, `timers`,
/// `server_tasks`, `runtime_tasks`, `uploads`, `connections` (each if Some in both) must not
/// exceed the baseline → `grew-after-sessions-ended` naming which; `heap` (if Some in both)
/// must not exceed baseline + heap_tolerance → `heap-grew`".
pub(super) fn leak(trace: &Trace) -> Vec<Finding> {
    let Some(baseline) = trace
        .checkpoints
        .iter()
        .find(|c| c.kind == CheckpointKind::Baseline)
    else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    for (index, teardown) in trace.checkpoints.iter().enumerate() {
        if teardown.kind != CheckpointKind::Teardown {
            continue;
        }
        for (name, count) in COUNTS {
            let (Some(before), Some(after)) =
                (count(&baseline.resources), count(&teardown.resources))
            else {
                continue;
            };
            if after > before {
                let summary = format!(
                    "{name} grew from {before} at baseline to {after} after every session ended"
                );
                let evidence = json!({ "checkpoint": index, "resource": name,
                    "baseline": before, "teardown": after });
                findings.push(medium(
                    "grew-after-sessions-ended",
                    summary,
                    evidence,
                    teardown,
                ));
            }
        }
        findings.extend(heap_grew(trace, index, baseline, teardown));
    }
    findings
}

fn heap_grew(
    trace: &Trace,
    index: usize,
    baseline: &Checkpoint,
    teardown: &Checkpoint,
) -> Option<Finding> {
    let (before, after) = (baseline.resources.heap?, teardown.resources.heap?);
    let tolerance = trace.policy.heap_tolerance;
    let growth = u64::try_from(after.bytes.saturating_sub(before.bytes)).unwrap_or(0);
    if growth <= tolerance {
        return None;
    }
    let summary = format!(
        "the heap grew from {} bytes at baseline to {} after every session ended (tolerance {})",
        before.bytes, after.bytes, tolerance
    );
    let evidence = json!({
        "checkpoint": index,
        "baseline": before,
        "teardown": after,
        "heap_tolerance": tolerance,
    });
    Some(medium("heap-grew", summary, evidence, teardown))
}

fn medium(
    kind: &'static str,
    summary: String,
    evidence: serde_json::Value,
    at: &Checkpoint,
) -> Finding {
    finding(
        Oracle::Leak,
        Severity::Medium,
        kind,
        summary,
        evidence,
        Some(at.step),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alloc::Heap;
    use crate::oracle::test_trace::{kinds, Build};
    use crate::trace::Purpose;

    fn snapshot(kind: CheckpointKind, open: usize, resources: Resources) -> Trace {
        let mut b = Build::new();
        b.checkpoint(kind, open, 0, resources);
        b.trace
    }

    #[test]
    fn passes_connections_released_after_a_drop() {
        let held = Resources {
            connections: Some(1),
            ..Resources::default()
        };
        assert_eq!(
            cancel_cleanup(&snapshot(CheckpointKind::AfterDrop, 1, held)),
            []
        );
        let none = Resources::default();
        assert_eq!(
            cancel_cleanup(&snapshot(CheckpointKind::AfterDrop, 0, none)),
            []
        );
    }

    #[test]
    fn catches_a_connection_kept_after_a_drop() {
        let held = Resources {
            connections: Some(2),
            ..Resources::default()
        };
        let found = cancel_cleanup(&snapshot(CheckpointKind::AfterDrop, 1, held));
        assert_eq!(kinds(&found), ["connection-kept-after-drop"]);
    }

    #[test]
    fn judges_uploads_after_an_aborted_upload() {
        let kind = CheckpointKind::AfterAbortedUpload;
        let uploads = |n| Resources {
            uploads: Some(n),
            ..Resources::default()
        };
        assert_eq!(cancel_cleanup(&snapshot(kind, 3, uploads(0))), []);
        let found = cancel_cleanup(&snapshot(kind, 3, uploads(1)));
        assert_eq!(kinds(&found), ["upload-kept-after-abort"]);
    }

    /// A session deleted, then used again with a response of `status`.
    fn used_after_delete(status: u16) -> Trace {
        let mut b = Build::new();
        let s = b.session(Some("a"), "2025-06-18");
        b.delete(s);
        let again = b.request(Purpose::ListTools, Some(s));
        b.status(again, status);
        b.trace
    }

    #[test]
    fn judges_a_deleted_id_by_its_status() {
        assert_eq!(session_cleanup(&used_after_delete(404)), []);
        let found = session_cleanup(&used_after_delete(200));
        assert_eq!(kinds(&found), ["deleted-id-accepted"]);
    }

    fn teardown(live_sessions: usize, streams: usize) -> Trace {
        let mut b = Build::new();
        let resources = Resources {
            sessions: Some(0),
            streams: Some(streams),
            logged_events: None,
            ..Resources::default()
        };
        b.checkpoint(CheckpointKind::Teardown, 0, live_sessions, resources);
        b.trace
    }

    #[test]
    fn judges_state_after_every_session_was_deleted() {
        assert_eq!(session_cleanup(&teardown(0, 0)), []);
        assert_eq!(session_cleanup(&teardown(1, 3)), []);
        let found = session_cleanup(&teardown(0, 3));
        assert_eq!(kinds(&found), ["state-kept-after-delete"]);
    }

    fn grown(listeners: usize, runtime_tasks: Option<usize>, heap: i64) -> Trace {
        let mut b = Build::new();
        let at = |listeners, tasks, bytes| Resources {
            listeners: Some(listeners),
            runtime_tasks: tasks,
            heap: Some(Heap {
                bytes,
                allocations: 0,
            }),
            ..Resources::default()
        };
        b.checkpoint(CheckpointKind::Baseline, 0, 0, at(1, Some(2), 1000));
        b.checkpoint(
            CheckpointKind::Teardown,
            0,
            0,
            at(listeners, runtime_tasks, heap),
        );
        b.trace
    }

    #[test]
    fn passes_counts_back_at_their_baseline() {
        assert_eq!(leak(&grown(1, Some(2), 1000 + (256 << 10))), []);
        assert_eq!(leak(&grown(0, None, 0)), []);
    }

    #[test]
    fn catches_counts_and_heap_grown_after_sessions_ended() {
        let found = leak(&grown(2, Some(3), 1001 + (256 << 10)));
        assert_eq!(
            kinds(&found),
            [
                "grew-after-sessions-ended",
                "grew-after-sessions-ended",
                "heap-grew"
            ]
        );
    }
}
