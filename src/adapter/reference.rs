//! The reference server and its fixtures as targets, with the limits the harness runs them at.

use http::Uri;

use crate::model::{Entropy, HighWater, Millis, SessionConfig, StreamConfig};
use crate::reference::{ConfigError, ReferenceServer, ServerConfig, Snapshot, ToolLimits};
use crate::trace::Policy;

use super::{InProcess, Resources};

/// The endpoint the in-process reference serves (`Host: 127.0.0.1`).
pub const ENDPOINT: &str = "http://127.0.0.1/mcp";

/// The seed of the reference's entropy in harness runs: every run gets the same session ids
/// and event-id key, so the same scenario always gives the same trace.
pub const HARNESS_SEED: u64 = 0x6d63_7066_757a_7a21;

/// The reference's configuration for fuzzing: limits small enough that a scenario of at most
/// 64 ops reaches every one of them, and cheap to reach (a 128 KiB byte cap, an 8 KiB
/// high-water mark, 16 KiB chunks, a 5 s idle timeout, a 30 s maximum duration, 8 streams per
/// session, 2 KiB request bodies and 1 KiB progress messages), and seeded entropy.
pub fn harness_config() -> ServerConfig {
    let max_request_bytes = 2 << 10;
    ServerConfig {
        stream: StreamConfig {
            byte_cap: 128 << 10,
            high_water: HighWater::Both {
                bytes: 8 << 10,
                chunks: 64,
            },
            idle_timeout: Millis(5_000),
            max_duration: Millis(30_000),
            max_chunk_bytes: 16 << 10,
            fault: None,
        },
        session: SessionConfig {
            max_streams: HARNESS_STREAMS_PER_SESSION,
            ..SessionConfig::default()
        },
        entropy: Entropy::Seeded(HARNESS_SEED),
        max_request_bytes,
        tools: ToolLimits {
            max_progress_bytes: 1 << 10,
            max_delay: Millis(10_000),
            ..ToolLimits::default()
        },
        ..ServerConfig::default()
    }
}

/// The streams one session of the harness configuration may hold at once.
const HARNESS_STREAMS_PER_SESSION: usize = 8;

/// The limits the oracles hold a reference-built target to: the harness configuration's, which
/// a fixture may break but not change; a flood opens half again the streams a session may
/// hold (12), enough to pass the cap and cheap enough to run in many scenarios.
pub fn harness_policy() -> Policy {
    Policy {
        probe_streams: (HARNESS_STREAMS_PER_SESSION * 3 / 2) as u32,
        ..policy_of(&harness_config())
    }
}

/// The limits `config` advertises, as a policy: its byte cap (plus a terminal event), its
/// high-water mark (plus one chunk and one frame waiting for room), its idle timeout and
/// maximum duration.
pub fn policy_of(config: &ServerConfig) -> Policy {
    let stream = &config.stream;
    Policy {
        max_stream_bytes: Some(stream.byte_cap as u64),
        high_water_bytes: stream.high_water.bytes().map(|bytes| bytes as u64),
        chunk_allowance: 2 * stream.max_chunk_bytes as u64,
        idle_timeout: Some(stream.idle_timeout),
        max_duration: Some(stream.max_duration),
        max_request_bytes: config.max_request_bytes as u64,
        ..Policy::default()
    }
}

/// A reference server with `config`, named `name`, as an in-process target. Create it inside
/// the runtime that will drive it.
pub fn reference_target(
    name: &str,
    config: ServerConfig,
) -> Result<InProcess<ReferenceServer>, ConfigError> {
    let server = ReferenceServer::new(config)?;
    let handle = server.clone();
    Ok(InProcess::new(
        name,
        Uri::from_static(ENDPOINT),
        server,
        move || resources_of(&handle.snapshot()),
    ))
}

/// The reference's snapshot in the harness's terms.
pub fn resources_of(snapshot: &Snapshot) -> Resources {
    Resources {
        server_tasks: Some(snapshot.tasks.total()),
        sessions: Some(snapshot.sessions),
        stateless_requests: Some(snapshot.stateless_requests),
        streams: Some(snapshot.streams),
        logged_events: Some(snapshot.logged_events),
        connections: Some(snapshot.connections),
        uploads: Some(snapshot.uploads),
        held_bytes: Some(snapshot.held_bytes),
        max_held_bytes: Some(snapshot.max_held_bytes),
        listeners: Some(snapshot.listeners),
        timers: Some(snapshot.monitors),
        cache_entries: Some(snapshot.cache_entries),
        ..Resources::default()
    }
}
