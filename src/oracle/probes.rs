//! Resource judgements from outside: pure functions of a [`ProbeTrace`], which holds only what
//! /proc showed of the server's process group.
//!
//! - `leak/grows-with-dose`: a metric grows by at least its floor per unit of work over the
//!   whole dose, and by at least half of it at every doubling (N → 2N → 4N after a warm-up).
//!   Warm-up, caches that fill once, and a collector's noise do not scale with the dose; a leak
//!   does.
//! - `backpressure/held-while-unread`: a stream left unread makes the server hold more than
//!   the high-water mark beyond what the same stream costs a reader that keeps up.
//! - `cancel-cleanup/work-after-session-end`: after the client closed a stream and then ended
//!   its session, the server's CPU time keeps advancing by more than a quarter of the window.
//!   The close alone is not judged: before 2026-07-28 "disconnection SHOULD NOT be interpreted
//!   as the client cancelling its request" (the work may go on, for a resume), but once the
//!   session is gone nobody can receive it.
//! - `cancel-cleanup/descriptors-kept-after-close`: once quiet again after the closed stream
//!   and its session's end, the server holds more descriptors (other than sockets) than before
//!   the call.
//! - `cancel-cleanup/memory-kept-after-close`: at the same reading, the server's exact heap
//!   (after a forced collection) has not come back to within the high-water mark of its level
//!   before the call. RSS after one abort is not evidence; small leaks per abort, and servers
//!   without an exact heap, are the aborted-stream doses' to judge.

use serde_json::json;

use super::{Finding, Oracle, Severity};
use crate::trace::{Policy, ProbeTrace, Resources};

/// The least growth per unit of work, in resident bytes, that counts as a leak: 128 KiB. RSS
/// grows in steps that are not leaks (allocator arenas, fragmentation from large buffers that
/// were freed, a collector's heap growing its spaces): measured here, a correct Python server
/// grew about 70 KiB per unit over 8 units of closed 1 MiB streams, then stopped; a unit that
/// leaks what a real call holds (a document in a cache, a listener with its context, a timer
/// with its buffer) holds more.
pub const LEAK_FLOOR_BYTES: u64 = 128 << 10;

/// The least growth per unit of an exact heap reading (after a forced collection) that counts
/// as a leak: 64 KiB. Only live objects are counted, but they still move by a few KiB per unit
/// as the runtime compiles and caches: measured on CI, leaky-node's aborted streams grew the
/// live heap by 17 KiB per unit at every doubling once, and not when replayed. A leak of what a
/// real call holds holds more (leaky-node's smallest is 256 KiB).
pub const GC_HEAP_FLOOR_BYTES: u64 = 64 << 10;

/// The high-water mark a black-box server is held to when the user sets none: 4 MiB.
pub const DEFAULT_HIGH_WATER: u64 = 4 << 20;

/// A metric of the group, and the least growth per unit that counts.
#[derive(Debug, Clone, Copy)]
struct Metric {
    name: &'static str,
    read: fn(&Resources) -> Option<u64>,
    /// Floor per unit, as a fraction `numerator / units`: bytes for RSS, and one descriptor or
    /// thread per two units for counts.
    floor_per_two_units: u64,
}

const METRICS: [Metric; 5] = [
    // Exact where the runtime allows it; then RSS only when there is no exact heap (RSS of a
    // collected heap moves in steps that the exact heap shows to be garbage).
    Metric {
        name: "gc_heap_bytes",
        read: |r| r.gc_heap_bytes,
        floor_per_two_units: 2 * GC_HEAP_FLOOR_BYTES,
    },
    Metric {
        name: "rss_bytes",
        read: |r| r.gc_heap_bytes.is_none().then_some(r.rss_bytes).flatten(),
        floor_per_two_units: 2 * LEAK_FLOOR_BYTES,
    },
    Metric {
        name: "descriptors",
        read: |r| Some(r.open_fds? as u64 - r.socket_fds.unwrap_or(0) as u64),
        floor_per_two_units: 1,
    },
    Metric {
        name: "sockets",
        read: |r| r.socket_fds.map(|n| n as u64),
        floor_per_two_units: 1,
    },
    Metric {
        name: "threads",
        read: |r| r.threads.map(|n| n as u64),
        floor_per_two_units: 1,
    },
];

/// Every finding the probe shows.
pub(super) fn judge(probe: &ProbeTrace, policy: &Policy) -> Vec<Finding> {
    match probe {
        ProbeTrace::Dose {
            tool,
            unit,
            dose,
            points,
        } => METRICS
            .iter()
            .find_map(|metric| grows_with_dose(tool, unit, *dose, points, *metric))
            .into_iter()
            .collect(),
        ProbeTrace::Unread { .. } => held_while_unread(probe, policy).into_iter().collect(),
        ProbeTrace::Abort {
            tool,
            read_bytes,
            before,
            settled,
            after_end,
            after_end_window,
            window_ms,
            ..
        } => {
            // Work still going on holds what it holds: its descriptors and memory are judged
            // only once it stopped (so that one bug gives one finding, the same on every run).
            match work_after_session_end(tool, *read_bytes, after_end, after_end_window, *window_ms)
            {
                Some(working) => vec![working],
                None => kept_after_close(tool, before, settled, policy),
            }
        }
        ProbeTrace::StatelessAbort {
            tool,
            read_bytes,
            before,
            settled,
            after_close,
            after_window,
            window_ms,
        } => match work_after_close(tool, *read_bytes, after_close, after_window, *window_ms) {
            Some(working) => vec![working],
            None => kept_after_close(tool, before, settled, policy),
        },
    }
}

/// What a server holds once quiet after a closed stream, against what it held before the call.
fn kept_after_close(
    tool: &str,
    before: &Resources,
    settled: &Resources,
    policy: &Policy,
) -> Vec<Finding> {
    descriptors_kept_after_close(tool, before, settled)
        .into_iter()
        .chain(memory_kept_after_close(tool, before, settled, policy))
        .collect()
}

/// The CPU a server may use in a window after its work was stopped: a quarter of the window
/// (timers, collection, the close itself).
fn idle_budget(window_ms: u64) -> u64 {
    window_ms / 4
}

/// `grows-with-dose` if `metric` grows by at least its floor per unit over the 4N units, and
/// by at least half of it per unit over each of the three doublings (0→N, N→2N, 2N→4N).
fn grows_with_dose(
    tool: &str,
    unit: &str,
    dose: u32,
    points: &[Resources; 4],
    metric: Metric,
) -> Option<Finding> {
    let readings: Vec<u64> = points
        .iter()
        .map(|p| (metric.read)(p))
        .collect::<Option<_>>()?;
    let units = [u64::from(dose), u64::from(dose), 2 * u64::from(dose)];
    let growths: Vec<u64> = readings
        .windows(2)
        .map(|pair| pair[1].saturating_sub(pair[0]))
        .collect();
    // Growth at every doubling (at least half the floor per unit in each, so that an
    // allocator's timing, which shifts memory between two readings, cannot hide a leak), and
    // the floor per unit over the whole dose.
    let every_doubling = growths
        .iter()
        .zip(units)
        .all(|(&growth, units)| units > 0 && 4 * growth >= metric.floor_per_two_units * units);
    let whole = readings[3].saturating_sub(readings[0]);
    if !every_doubling || 2 * whole < metric.floor_per_two_units * 4 * u64::from(dose) {
        return None;
    }
    let per_unit: Vec<u64> = growths.iter().zip(units).map(|(g, u)| g / u).collect();
    let total_per_unit = (readings[3] - readings[0]) / (4 * u64::from(dose));
    let summary = format!(
        "the server's {} grew by about {total_per_unit} per unit of work at every doubling of \
         the dose ({dose}, {}, {} units of \"{unit}\" with tool {tool})",
        metric.name,
        2 * dose,
        4 * dose
    );
    let evidence = json!({
        "tool": tool,
        "unit": unit,
        "metric": metric.name,
        "doses": [0, dose, 2 * dose, 4 * dose],
        "readings": readings,
        "per_unit_at_each_doubling": per_unit,
        "per_unit": total_per_unit,
        "floor_per_unit": metric.floor_per_two_units as f64 / 2.0,
    });
    Some(Finding::new(
        Oracle::Leak,
        Severity::High,
        "grows-with-dose",
        summary,
        evidence,
        None,
    ))
}

/// `held-while-unread` if an unread stream made the server hold more than the high-water mark
/// beyond the control's growth; judged only when the control read at least twice the mark (a
/// smaller stream cannot show it).
fn held_while_unread(probe: &ProbeTrace, policy: &Policy) -> Option<Finding> {
    let ProbeTrace::Unread {
        tool,
        unread_before,
        unread_held,
        held_ms,
        control_before,
        control_after,
        control_bytes,
    } = probe
    else {
        return None;
    };
    let mark = policy.high_water_bytes.unwrap_or(DEFAULT_HIGH_WATER);
    if *control_bytes < 2 * mark {
        return None;
    }
    // The exact heap when all four readings have it; RSS otherwise.
    let readings = [unread_before, unread_held, control_before, control_after];
    let (metric, read): (&str, fn(&Resources) -> Option<u64>) =
        if readings.iter().all(|r| r.gc_heap_bytes.is_some()) {
            ("gc_heap_bytes", |r| r.gc_heap_bytes)
        } else {
            ("rss_bytes", |r| r.rss_bytes)
        };
    let held = read(unread_held)?.saturating_sub(read(unread_before)?);
    let control = read(control_after)?.saturating_sub(read(control_before)?);
    let excess = held.saturating_sub(control);
    if excess <= mark {
        return None;
    }
    let summary = format!(
        "a {control_bytes}-byte stream of tool {tool} left unread for {held_ms} ms made the \
         server's {metric} grow by {held} ({control} for a reader that kept up): {excess} past \
         what reading costs, over the {mark}-byte high-water mark"
    );
    let evidence = json!({
        "tool": tool,
        "stream_bytes": control_bytes,
        "held_ms": held_ms,
        "metric": metric,
        "growth_unread": held,
        "growth_control": control,
        "excess": excess,
        "high_water_bytes": mark,
    });
    Some(Finding::new(
        Oracle::Backpressure,
        Severity::High,
        "held-while-unread",
        summary,
        evidence,
        None,
    ))
}

/// `work-after-session-end` if the group used more than a quarter of the window's CPU time
/// after the client closed the stream and its session's DELETE was answered.
fn work_after_session_end(
    tool: &str,
    read_bytes: u64,
    after_end: &Resources,
    after_end_window: &Resources,
    window_ms: u64,
) -> Option<Finding> {
    let used = after_end_window.cpu_ms?.saturating_sub(after_end.cpu_ms?);
    let budget = idle_budget(window_ms);
    if used <= budget {
        return None;
    }
    let summary = format!(
        "after the client closed a stream of tool {tool} (having read {read_bytes} bytes) and \
         ended its session, the server used {used} ms of CPU in the next {window_ms} ms \
         (budget {budget} ms): its work went on for nobody"
    );
    let evidence = json!({
        "tool": tool,
        "read_bytes": read_bytes,
        "cpu_ms_after_session_end": used,
        "window_ms": window_ms,
        "budget_ms": budget,
    });
    Some(Finding::new(
        Oracle::CancelCleanup,
        Severity::Medium,
        "work-after-session-end",
        summary,
        evidence,
        None,
    ))
}

/// `cancellation/work-after-close` if, after a 2026-07-28 client closed the stream of its
/// request (which cancels it), the server used more than [`idle_budget`] of CPU in the window
/// that followed: the black-box reading of what the `cancellation` oracle counts in process.
fn work_after_close(
    tool: &str,
    read_bytes: u64,
    after_close: &Resources,
    after_window: &Resources,
    window_ms: u64,
) -> Option<Finding> {
    let used = after_window.cpu_ms?.saturating_sub(after_close.cpu_ms?);
    let budget = idle_budget(window_ms);
    if used <= budget {
        return None;
    }
    let summary = format!(
        "after a 2026-07-28 client closed the stream of its call of tool {tool} (having read \
         {read_bytes} bytes), which cancels the request, the server used {used} ms of CPU in the \
         next {window_ms} ms (budget {budget} ms): the cancelled work went on"
    );
    let evidence = json!({
        "tool": tool,
        "read_bytes": read_bytes,
        "cpu_ms_after_close": used,
        "window_ms": window_ms,
        "budget_ms": budget,
    });
    Some(Finding::new(
        Oracle::Cancellation,
        Severity::Medium,
        "work-after-close",
        summary,
        evidence,
        None,
    ))
}

/// `descriptors-kept-after-close` if the server, quiet again after a closed stream and its
/// session's end, holds more descriptors other than sockets than before the call: a file,
/// pipe or timer the stopped work never released. Sockets are left out, as the client's own
/// keep-alive connections come and go.
fn descriptors_kept_after_close(
    tool: &str,
    before: &Resources,
    settled: &Resources,
) -> Option<Finding> {
    let files = |r: &Resources| Some(r.open_fds?.saturating_sub(r.socket_fds.unwrap_or(0)));
    let (held_before, held_after) = (files(before)?, files(settled)?);
    if held_after <= held_before {
        return None;
    }
    let summary = format!(
        "after the client closed a stream of tool {tool} and its session ended, the server held \
         {held_after} descriptors other than sockets, {} more than before the call",
        held_after - held_before
    );
    let evidence = json!({
        "tool": tool,
        "descriptors_before": held_before,
        "descriptors_after": held_after,
        "sockets_before": before.socket_fds,
        "sockets_after": settled.socket_fds,
    });
    Some(Finding::new(
        Oracle::CancelCleanup,
        Severity::Medium,
        "descriptors-kept-after-close",
        summary,
        evidence,
        None,
    ))
}

/// `memory-kept-after-close` if the server, quiet again after a closed stream and its
/// session's end, holds more than the high-water mark of live heap (read exactly, after a
/// forced collection) beyond what it held before the call: the stopped work's buffers, or work
/// that never stopped, kept alive for nobody. Judged on the exact heap only: RSS after one
/// abort is not evidence (the TypeScript SDK target kept 1 GiB of RSS after a closed 1 GiB
/// stream whose heap, collected, held nothing of it); without an exact heap, the
/// aborted-stream doses judge memory.
fn memory_kept_after_close(
    tool: &str,
    before: &Resources,
    settled: &Resources,
    policy: &Policy,
) -> Option<Finding> {
    let mark = policy.high_water_bytes.unwrap_or(DEFAULT_HIGH_WATER);
    let (held_before, held_after) = (before.gc_heap_bytes?, settled.gc_heap_bytes?);
    let metric = "gc_heap_bytes";
    let kept = held_after.saturating_sub(held_before);
    if kept <= mark {
        return None;
    }
    let summary = format!(
        "after the client closed a stream of tool {tool} and its session ended, the server's \
         {metric} stayed {kept} bytes above its level before the call, over the {mark}-byte \
         high-water mark"
    );
    let evidence = json!({
        "tool": tool,
        "metric": metric,
        "before": held_before,
        "after": held_after,
        "kept": kept,
        "high_water_bytes": mark,
    });
    Some(Finding::new(
        Oracle::CancelCleanup,
        Severity::Medium,
        "memory-kept-after-close",
        summary,
        evidence,
        None,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rss(bytes: u64) -> Resources {
        Resources {
            rss_bytes: Some(bytes),
            open_fds: Some(20),
            socket_fds: Some(4),
            threads: Some(7),
            ..Resources::default()
        }
    }

    fn dose(readings: [u64; 4]) -> ProbeTrace {
        ProbeTrace::Dose {
            tool: "lookup".to_owned(),
            unit: "a session calls the tool once, then DELETE",
            dose: 16,
            points: readings.map(rss),
        }
    }

    const MIB: u64 = 1 << 20;

    #[test]
    fn growth_at_every_doubling_is_a_leak_and_its_size_is_the_evidence() {
        // 256 KiB per unit: a cached document per call.
        let kib256 = 256 << 10;
        let found = judge(
            &dose([
                50 * MIB,
                50 * MIB + 16 * kib256,
                50 * MIB + 32 * kib256,
                50 * MIB + 64 * kib256,
            ]),
            &Policy::default(),
        );
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].oracle, found[0].kind),
            (Oracle::Leak, "grows-with-dose")
        );
        assert_eq!(found[0].evidence["per_unit"], kib256);
        assert_eq!(found[0].level(), super::super::Level::Should);
    }

    #[test]
    fn a_leak_whose_memory_shifts_between_readings_is_still_caught() {
        // Measured on a served fixture leaking 256 KiB per unit: 3.4 MB, then 0.9 MB, then
        // 4.4 MB over 8, 8 and 16 units.
        let points = [11_247_616, 14_659_584, 15_585_280, 20_033_536].map(rss);
        let probe = ProbeTrace::Dose {
            tool: "fetch_cached".to_owned(),
            unit: "u",
            dose: 8,
            points,
        };
        let found = judge(&probe, &Policy::default());
        assert_eq!(found[0].evidence["per_unit"], 274_560);
    }

    #[test]
    fn warm_up_noise_and_a_filled_cache_are_not_a_leak() {
        let policy = Policy::default();
        // Flat.
        assert!(judge(&dose([50 * MIB; 4]), &policy).is_empty());
        // One step (a cache that filled, an arena that grew once), then flat.
        assert!(judge(&dose([50 * MIB, 58 * MIB, 58 * MIB, 58 * MIB]), &policy).is_empty());
        // Growth in the first and last doublings only (a step, a pause, a step).
        assert!(judge(&dose([50 * MIB, 60 * MIB, 60 * MIB, 70 * MIB]), &policy).is_empty());
        // Collector noise: up and down by a few hundred KiB.
        assert!(judge(
            &dose([50 * MIB, 50 * MIB + 400_000, 50 * MIB - 100_000, 50 * MIB]),
            &policy
        )
        .is_empty());
        // Growth below the floor (64 KiB per unit: allocator steps that went on a while).
        let kib64 = 64 << 10;
        assert!(judge(
            &dose([
                50 * MIB,
                50 * MIB + 16 * kib64,
                50 * MIB + 32 * kib64,
                50 * MIB + 64 * kib64
            ]),
            &policy
        )
        .is_empty());
    }

    #[test]
    fn an_exact_heap_is_judged_instead_of_rss() {
        // RSS swings by megabytes (garbage before a full collection) while the live heap after
        // a forced collection grows by 96 KiB per unit.
        let kib96 = 96 << 10;
        let points = [(50, 0), (71, 16), (62, 32), (90, 64)].map(|(rss, units)| Resources {
            rss_bytes: Some(rss * MIB),
            gc_heap_bytes: Some(20 * MIB + units * kib96),
            ..Resources::default()
        });
        let leaking = ProbeTrace::Dose {
            tool: "watch".to_owned(),
            unit: "u",
            dose: 16,
            points,
        };
        let found = judge(&leaking, &Policy::default());
        assert_eq!(found[0].evidence["metric"], "gc_heap_bytes");
        assert_eq!(found[0].evidence["per_unit"], kib96);
        // 17 KiB per unit at every doubling: the noise of a live heap, under the floor.
        let noise = [0, 16, 32, 64].map(|units| Resources {
            gc_heap_bytes: Some(20 * MIB + units * (17 << 10)),
            ..Resources::default()
        });
        let noisy = ProbeTrace::Dose {
            tool: "watch".to_owned(),
            unit: "u",
            dose: 16,
            points: noise,
        };
        assert!(judge(&noisy, &Policy::default()).is_empty());
        // The same RSS swings with a flat live heap: nothing.
        let flat = [50, 71, 62, 90].map(|rss| Resources {
            rss_bytes: Some(rss * MIB),
            gc_heap_bytes: Some(20 * MIB),
            ..Resources::default()
        });
        let correct = ProbeTrace::Dose {
            tool: "watch".to_owned(),
            unit: "u",
            dose: 16,
            points: flat,
        };
        assert!(judge(&correct, &Policy::default()).is_empty());
    }

    #[test]
    fn descriptors_that_grow_with_the_dose_are_a_leak_too() {
        let points = [10, 26, 42, 74].map(|fds| Resources {
            open_fds: Some(fds + 3),
            socket_fds: Some(3),
            rss_bytes: Some(50 * MIB),
            ..Resources::default()
        });
        let probe = ProbeTrace::Dose {
            tool: "open".to_owned(),
            unit: "u",
            dose: 16,
            points,
        };
        let found = judge(&probe, &Policy::default());
        assert_eq!(found[0].evidence["metric"], "descriptors");
        assert_eq!(found[0].evidence["per_unit"], 1);
    }

    fn unread(held: u64, control: u64) -> ProbeTrace {
        ProbeTrace::Unread {
            tool: "stream".to_owned(),
            unread_before: rss(50 * MIB),
            unread_held: rss(50 * MIB + held),
            held_ms: 1000,
            control_before: rss(50 * MIB),
            control_after: rss(50 * MIB + control),
            control_bytes: 16 * MIB,
        }
    }

    #[test]
    fn an_unread_stream_held_past_the_mark_is_caught_and_a_bounded_one_passes() {
        let policy = Policy::default();
        let found = judge(&unread(14 * MIB, MIB), &policy);
        assert_eq!(found[0].kind, "held-while-unread");
        assert_eq!(found[0].evidence["excess"], 13 * MIB);
        assert!(judge(&unread(2 * MIB, MIB), &policy).is_empty());
        // What reading costs too (a server that buffers everything for readers) is not
        // backpressure's to judge.
        assert!(judge(&unread(14 * MIB, 12 * MIB), &policy).is_empty());
        // A stream smaller than twice the mark cannot show it.
        let mut small = unread(14 * MIB, MIB);
        if let ProbeTrace::Unread { control_bytes, .. } = &mut small {
            *control_bytes = MIB;
        }
        assert!(judge(&small, &policy).is_empty());
    }

    /// An abort probe whose server used `cpu_after_close` ms in the window after the close and
    /// `cpu_after_end` in the window after the session's end.
    fn abort_cpu(cpu_after_close: u64, cpu_after_end: u64) -> ProbeTrace {
        let cpu = |ms| Resources {
            cpu_ms: Some(ms),
            ..Resources::default()
        };
        ProbeTrace::Abort {
            tool: "stream".to_owned(),
            read_bytes: 4096,
            before: rss(MIB),
            settled: rss(MIB),
            after_close: cpu(1000),
            after_window: cpu(1000 + cpu_after_close),
            close_window_ms: 250,
            after_end: cpu(2000),
            after_end_window: cpu(2000 + cpu_after_end),
            window_ms: 1000,
        }
    }

    fn abort(cpu_used: u64) -> ProbeTrace {
        abort_cpu(0, cpu_used)
    }

    #[test]
    fn work_that_goes_on_after_the_session_ended_is_caught_and_idle_passes() {
        let found = judge(&abort(900), &Policy::default());
        assert_eq!(found[0].kind, "work-after-session-end");
        assert_eq!(found[0].oracle, Oracle::CancelCleanup);
        assert!(judge(&abort(30), &Policy::default()).is_empty());
        assert!(judge(&abort(250), &Policy::default()).is_empty());
        // Work that goes on after the close while the session lives is what the 2025
        // revisions ask ("disconnection SHOULD NOT be interpreted as ... cancelling").
        assert!(judge(&abort_cpu(900, 10), &Policy::default()).is_empty());
        // Work still going holds its descriptors: one bug, one finding.
        let mut busy = abort(900);
        if let ProbeTrace::Abort { settled, .. } = &mut busy {
            settled.open_fds = Some(40);
        }
        assert_eq!(
            kinds_of(&judge(&busy, &Policy::default())),
            ["work-after-session-end"]
        );
    }

    fn stateless_abort(cpu_after_close: u64) -> ProbeTrace {
        let cpu = |ms| Resources {
            cpu_ms: Some(ms),
            ..Resources::default()
        };
        ProbeTrace::StatelessAbort {
            tool: "stream".to_owned(),
            read_bytes: 4096,
            before: rss(MIB),
            settled: rss(MIB),
            after_close: cpu(1000),
            after_window: cpu(1000 + cpu_after_close),
            window_ms: 1000,
        }
    }

    #[test]
    fn work_that_goes_on_after_a_stateless_close_is_caught_and_idle_passes() {
        let found = judge(&stateless_abort(900), &Policy::default());
        assert_eq!(kinds_of(&found), ["work-after-close"]);
        assert_eq!(found[0].oracle, Oracle::Cancellation);
        assert_eq!(found[0].evidence["cpu_ms_after_close"], 900);
        assert!(judge(&stateless_abort(30), &Policy::default()).is_empty());
        assert!(judge(&stateless_abort(250), &Policy::default()).is_empty());
        // Once the work stopped, what it kept is judged as after any close.
        let mut kept = stateless_abort(0);
        if let ProbeTrace::StatelessAbort {
            before, settled, ..
        } = &mut kept
        {
            before.open_fds = Some(20);
            settled.open_fds = Some(21);
        }
        assert_eq!(
            kinds_of(&judge(&kept, &Policy::default())),
            ["descriptors-kept-after-close"]
        );
    }

    #[test]
    fn a_descriptor_kept_after_the_close_is_caught_and_sockets_are_not() {
        let with = |files: usize, sockets: usize| {
            let mut probe = abort(0);
            if let ProbeTrace::Abort { settled, .. } = &mut probe {
                settled.open_fds = Some(files + sockets);
                settled.socket_fds = Some(sockets);
            }
            judge(&probe, &Policy::default())
        };
        // Before: 20 descriptors, 4 of them sockets.
        let found = with(17, 4);
        assert_eq!(kinds_of(&found), ["descriptors-kept-after-close"]);
        assert_eq!(found[0].evidence["descriptors_after"], 17);
        assert!(with(16, 4).is_empty());
        assert!(
            with(16, 9).is_empty(),
            "more sockets: the client's connections"
        );
    }

    #[test]
    fn live_heap_kept_past_the_mark_after_the_close_is_caught_and_rss_is_not_evidence() {
        let with = |settled_rss: u64, heaps: Option<(u64, u64)>, policy: &Policy| {
            let mut probe = abort(0);
            if let ProbeTrace::Abort {
                before, settled, ..
            } = &mut probe
            {
                settled.rss_bytes = Some(settled_rss);
                before.gc_heap_bytes = heaps.map(|h| h.0);
                settled.gc_heap_bytes = heaps.map(|h| h.1);
            }
            judge(&probe, policy)
        };
        let default = Policy::default();
        // The default mark is 4 MiB.
        let found = with(MIB, Some((10 * MIB, 15 * MIB)), &default);
        assert_eq!(kinds_of(&found), ["memory-kept-after-close"]);
        assert_eq!(found[0].evidence["kept"], 5 * MIB);
        assert!(
            with(MIB, Some((10 * MIB, 14 * MIB)), &default).is_empty(),
            "at the mark"
        );
        assert!(
            with(MIB, Some((10 * MIB, 9 * MIB)), &default).is_empty(),
            "released"
        );
        // RSS alone, however high, is not evidence; with an exact heap it is not read.
        assert!(with(1 << 30, None, &default).is_empty());
        assert!(with(1 << 30, Some((10 * MIB, 11 * MIB)), &default).is_empty());
        // A tighter policy mark.
        let tight = Policy {
            high_water_bytes: Some(MIB),
            ..Policy::default()
        };
        let found = with(MIB, Some((10 * MIB, 12 * MIB)), &tight);
        assert_eq!(kinds_of(&found), ["memory-kept-after-close"]);
    }

    fn kinds_of(found: &[Finding]) -> Vec<&'static str> {
        found.iter().map(|f| f.kind).collect()
    }
}
