//! Small limits, so that caps, marks, deadlines, refusals, eviction and expiry are all reached
//! within a few ops. The fuzz targets read them through [`arbitrary`] ([`stream_config`],
//! [`session_config`] and the ops' derives); the property strategies use the same constants.

use std::ops::RangeInclusive;

use arbitrary::{Result, Unstructured};

use crate::model::{AtCapacity, Fault, HighWater, LogLimits, Millis, SessionConfig, StreamConfig};

// The bounded stream.
/// [`StreamConfig::byte_cap`], in bytes; 0 caps the stream at once.
pub const BYTE_CAP: RangeInclusive<usize> = 0..=399;
/// [`HighWater::Bytes`], in bytes.
pub const HIGH_WATER_BYTES: RangeInclusive<usize> = 1..=199;
/// [`HighWater::Chunks`], in chunks.
pub const HIGH_WATER_CHUNKS: RangeInclusive<usize> = 1..=5;
/// [`StreamConfig::idle_timeout`], in milliseconds.
pub const STREAM_IDLE_MS: RangeInclusive<u64> = 1..=399;
/// [`StreamConfig::max_duration`], in milliseconds.
pub const MAX_DURATION_MS: RangeInclusive<u64> = 1..=1499;
/// From 7: the smallest event (`data:\n\n`) always fits.
pub const MAX_CHUNK_BYTES: RangeInclusive<usize> = 7..=79;
/// Data bytes of an offered event (the event is 8 bytes longer).
pub const OFFER_DATA_BYTES: RangeInclusive<usize> = 0..=79;
/// Bytes asked for by one read; 0 is an empty read.
pub const READ_BYTES: RangeInclusive<usize> = 0..=47;
/// Milliseconds one clock advance of a stream case moves.
pub const STREAM_ADVANCE_MS: RangeInclusive<u64> = 0..=299;

// Sessions and resumption.
/// [`SessionConfig::max_sessions`].
pub const MAX_SESSIONS: RangeInclusive<usize> = 1..=5;
/// [`SessionConfig::max_streams`].
pub const MAX_STREAMS: RangeInclusive<usize> = 1..=4;
/// [`SessionConfig::idle_timeout`], in milliseconds.
pub const SESSION_IDLE_MS: RangeInclusive<u64> = 500..=4999;
/// [`LogLimits::max_events`].
pub const LOG_EVENTS: RangeInclusive<usize> = 1..=5;
/// [`LogLimits::max_bytes`], in encoded bytes.
pub const LOG_BYTES: RangeInclusive<usize> = 100..=1499;
/// Milliseconds one clock advance of a session case moves.
pub const SESSION_ADVANCE_MS: RangeInclusive<u64> = 0..=499;
/// Characters of an appended event's data.
pub const DATA_CHARS: RangeInclusive<usize> = 0..=40;
/// Bytes of a garbage Last-Event-ID.
pub const GARBAGE_BYTES: RangeInclusive<usize> = 0..=90;

/// A stream config within the small limits.
pub fn stream_config(u: &mut Unstructured<'_>, fault: Option<Fault>) -> Result<StreamConfig> {
    let byte_cap = u.int_in_range(BYTE_CAP)?;
    let high_water = match u.int_in_range(0..=2u8)? {
        0 => HighWater::Bytes(u.int_in_range(HIGH_WATER_BYTES)?),
        1 => HighWater::Chunks(u.int_in_range(HIGH_WATER_CHUNKS)?),
        _ => HighWater::Both {
            bytes: u.int_in_range(HIGH_WATER_BYTES)?,
            chunks: u.int_in_range(HIGH_WATER_CHUNKS)?,
        },
    };
    Ok(StreamConfig {
        byte_cap,
        high_water,
        idle_timeout: Millis(u.int_in_range(STREAM_IDLE_MS)?),
        max_duration: Millis(u.int_in_range(MAX_DURATION_MS)?),
        max_chunk_bytes: u.int_in_range(MAX_CHUNK_BYTES)?,
        fault,
    })
}

/// A session config within the small limits.
pub fn session_config(u: &mut Unstructured<'_>, fault: Option<Fault>) -> Result<SessionConfig> {
    Ok(SessionConfig {
        max_sessions: u.int_in_range(MAX_SESSIONS)?,
        at_capacity: if u.arbitrary()? {
            AtCapacity::EvictIdlest
        } else {
            AtCapacity::Refuse
        },
        max_streams: u.int_in_range(MAX_STREAMS)?,
        idle_timeout: Millis(u.int_in_range(SESSION_IDLE_MS)?),
        log: LogLimits {
            max_events: u.int_in_range(LOG_EVENTS)?,
            max_bytes: u.int_in_range(LOG_BYTES)?,
        },
        fault,
    })
}
