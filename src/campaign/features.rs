//! What a trace showed, as a set of small hashes: the campaign keeps an input when its trace
//! shows a value it has not seen before (a poor man's coverage, measured on behaviour).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::mem::discriminant;

use crate::trace::{Checkpoint, Purpose, Trace};

/// The features of `trace`, deduplicated and sorted.
pub fn features(trace: &Trace) -> Vec<u64> {
    let mut out = Vec::new();
    for exchange in &trace.exchanges {
        out.push(hash((
            1u8,
            discriminant(&exchange.purpose),
            exchange.outcome.status(),
            discriminant(&exchange.session_header),
            exchange
                .last_event_id
                .as_ref()
                .map(|id| discriminant(&id.source)),
            exchange.upload.aborted,
        )));
    }
    for stream in &trace.streams {
        let purpose = discriminant(&trace.exchanges[stream.exchange].purpose);
        out.push(hash((
            2u8,
            purpose,
            stream.end.as_ref().map(discriminant),
            bucket(stream.bytes),
            bucket(stream.events.len() as u64),
            stream.decode_error.is_some(),
        )));
        // Per tool and argument shape, how big, how many events and how long: an input whose
        // call made a bigger, longer or slower response than any before is kept, so the
        // campaign learns which arguments make each tool work and mutates around them.
        let exchange = &trace.exchanges[stream.exchange];
        if let Purpose::Call { tool } = &exchange.purpose {
            let lasted = stream
                .end
                .as_ref()
                .map_or(0, |end| end.at().0.saturating_sub(exchange.sent_at.0));
            out.push(hash((
                5u8,
                tool,
                exchange.rungs,
                bucket(stream.bytes),
                bucket(stream.events.len() as u64),
                bucket(lasted),
            )));
        }
        for event in &stream.events {
            out.push(hash((
                3u8,
                purpose,
                event.event_type.as_deref(),
                event.data.is_empty(),
            )));
        }
    }
    for checkpoint in &trace.checkpoints {
        out.push(hash((4u8, checkpoint.kind, held(checkpoint))));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Which counts of a checkpoint are nonzero, as bits.
fn held(checkpoint: &Checkpoint) -> u16 {
    let r = &checkpoint.resources;
    [
        r.sessions,
        r.streams,
        r.logged_events,
        r.connections,
        r.uploads,
        r.held_bytes,
        r.listeners,
        r.timers,
        r.cache_entries,
        r.server_tasks,
    ]
    .iter()
    .enumerate()
    .fold(0, |bits, (i, count)| {
        bits | (u16::from(count.is_some_and(|n| n > 0)) << i)
    })
}

/// The power of two at or above `n` (0 for 0), so sizes count by order of magnitude.
fn bucket(n: u64) -> u32 {
    u64::BITS - n.leading_zeros()
}

fn hash(value: impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}
