//! `byte-cap`: "a stream exceeds its configured byte limit (plus one terminal event)"; and
//! `backpressure`: "memory held for a slow or stalled reader grows past the configured
//! high-water mark".

use serde_json::json;

use super::facts::{finding, stream_step};
use super::{Finding, Oracle, Severity};
use crate::trace::{Checkpoint, CheckpointKind, Trace};

/// `byte-cap`: with `policy.max_stream_bytes` = cap, "any stream with `bytes > cap +
/// terminal_allowance` → `over-cap`".
pub(super) fn byte_cap(trace: &Trace) -> Vec<Finding> {
    let Some(cap) = trace.policy.max_stream_bytes else {
        return Vec::new();
    };
    let allowed = cap.saturating_add(trace.policy.terminal_allowance);
    let over = trace
        .streams
        .iter()
        .enumerate()
        .filter(|(_, stream)| stream.bytes > allowed);
    over.map(|(index, stream)| {
        let summary = format!(
            "stream {index} carried {} bytes, over the cap of {cap} plus {} for its terminal event",
            stream.bytes, trace.policy.terminal_allowance
        );
        let evidence = json!({
            "stream": index,
            "exchange": stream.exchange,
            "bytes": stream.bytes,
            "cap": cap,
            "terminal_allowance": trace.policy.terminal_allowance,
        });
        let step = stream_step(trace, index);
        finding(
            Oracle::ByteCap,
            Severity::High,
            "over-cap",
            summary,
            evidence,
            step,
        )
    })
    .collect()
}

/// `backpressure`: with `policy.high_water_bytes` = mark, at every `AfterStall` checkpoint
/// "`resources.max_held_bytes` (if Some) must be ≤ mark + chunk_allowance →
/// `held-past-mark`; if max_held_bytes is None but `heap` is Some on this checkpoint and on the
/// previous checkpoint, heap growth > mark*(open_bodies max 1) + heap_tolerance →
/// `heap-grew-while-stalled`".
pub(super) fn backpressure(trace: &Trace) -> Vec<Finding> {
    let Some(mark) = trace.policy.high_water_bytes else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    for (index, checkpoint) in trace.checkpoints.iter().enumerate() {
        if checkpoint.kind != CheckpointKind::AfterStall {
            continue;
        }
        let previous = index.checked_sub(1).map(|i| &trace.checkpoints[i]);
        let found = match checkpoint.resources.max_held_bytes {
            Some(held) => held_past_mark(trace, index, checkpoint, held as u64, mark),
            None => {
                previous.and_then(|previous| heap_grew(trace, index, checkpoint, previous, mark))
            }
        };
        findings.extend(found);
    }
    findings
}

fn held_past_mark(
    trace: &Trace,
    index: usize,
    checkpoint: &Checkpoint,
    held: u64,
    mark: u64,
) -> Option<Finding> {
    let allowance = trace.policy.chunk_allowance;
    if held <= mark.saturating_add(allowance) {
        return None;
    }
    let summary = format!(
        "after a stall the server held {held} bytes for one reader, over the mark of {mark} \
         plus {allowance}"
    );
    let evidence = json!({
        "checkpoint": index,
        "max_held_bytes": held,
        "high_water_bytes": mark,
        "chunk_allowance": allowance,
        "open_bodies": checkpoint.open_bodies,
    });
    Some(high("held-past-mark", summary, evidence, checkpoint.step))
}

fn heap_grew(
    trace: &Trace,
    index: usize,
    checkpoint: &Checkpoint,
    previous: &Checkpoint,
    mark: u64,
) -> Option<Finding> {
    let (now, before) = (checkpoint.resources.heap?, previous.resources.heap?);
    let growth = u64::try_from(now.bytes.saturating_sub(before.bytes)).unwrap_or(0);
    let readers = checkpoint.open_bodies.max(1) as u64;
    let allowed = mark
        .saturating_mul(readers)
        .saturating_add(trace.policy.heap_tolerance);
    if growth <= allowed {
        return None;
    }
    let summary = format!(
        "the heap grew by {growth} bytes during a stall with {readers} reader(s), over \
         {allowed} ({mark} per reader plus the tolerance)"
    );
    let evidence = json!({
        "checkpoint": index,
        "previous_checkpoint": index - 1,
        "heap_before": before.bytes,
        "heap_after": now.bytes,
        "high_water_bytes": mark,
        "open_bodies": checkpoint.open_bodies,
        "heap_tolerance": trace.policy.heap_tolerance,
    });
    Some(high(
        "heap-grew-while-stalled",
        summary,
        evidence,
        checkpoint.step,
    ))
}

fn high(kind: &'static str, summary: String, evidence: serde_json::Value, step: usize) -> Finding {
    finding(
        Oracle::Backpressure,
        Severity::High,
        kind,
        summary,
        evidence,
        Some(step),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alloc::Heap;
    use crate::oracle::test_trace::{kinds, Build};
    use crate::trace::Resources;

    fn stream_of(bytes: u64, cap: Option<u64>) -> Trace {
        let mut b = Build::new();
        let s = b.session(Some("a"), "2025-06-18");
        let (_, stream) = b.call(s);
        b.trace.streams[stream].bytes = bytes;
        b.trace.streams[0].bytes = 10;
        b.trace.policy.max_stream_bytes = cap;
        b.trace
    }

    #[test]
    fn passes_a_stream_within_its_cap_and_allowance() {
        assert_eq!(byte_cap(&stream_of(1000 + 1024, Some(1000))), []);
        assert_eq!(byte_cap(&stream_of(1 << 30, None)), []);
    }

    #[test]
    fn catches_a_stream_over_its_cap() {
        let found = byte_cap(&stream_of(1000 + 1025, Some(1000)));
        assert_eq!(kinds(&found), ["over-cap"]);
    }

    fn stalled(held: Option<usize>, heaps: [i64; 2]) -> Trace {
        let mut b = Build::new();
        b.trace.policy.high_water_bytes = Some(64 << 10);
        b.trace.policy.chunk_allowance = 4096;
        for (kind, heap) in [CheckpointKind::Baseline, CheckpointKind::AfterStall]
            .into_iter()
            .zip(heaps)
        {
            let resources = Resources {
                heap: Some(Heap {
                    bytes: heap,
                    allocations: 1,
                }),
                max_held_bytes: held.filter(|_| kind == CheckpointKind::AfterStall),
                ..Resources::default()
            };
            b.checkpoint(kind, 1, 1, resources);
        }
        b.trace
    }

    #[test]
    fn passes_a_buffer_at_the_mark_plus_a_chunk() {
        assert_eq!(backpressure(&stalled(Some((64 << 10) + 4096), [0, 0])), []);
    }

    #[test]
    fn catches_a_buffer_past_the_mark() {
        let found = backpressure(&stalled(Some((64 << 10) + 4097), [0, 0]));
        assert_eq!(kinds(&found), ["held-past-mark"]);
    }

    #[test]
    fn judges_heap_growth_when_the_buffer_is_unseen() {
        let limit = (64 << 10) + (256 << 10);
        assert_eq!(backpressure(&stalled(None, [1000, 1000 + limit])), []);
        let found = backpressure(&stalled(None, [1000, 1001 + limit]));
        assert_eq!(kinds(&found), ["heap-grew-while-stalled"]);
    }
}
