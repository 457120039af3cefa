//! Throughput of the two models on the fuzz hot path.
//!
//! - `offer_read`: 2 000 000 encoded events of a given size (a JSON-RPC progress notification
//!   padded to 256 B, or 4 KiB) offered to one bounded stream, the reader taking 16 KiB whenever
//!   the high-water mark (64 chunks, 256 KiB) pushes back, then draining.
//! - `resume`: resumes on a stream whose log holds `log` events, each replaying `replayed`
//!   events (the id is chosen so), every replayed frame touched. Log sizes from 1 Ki to 64 Ki
//!   show that the cost does not grow with the log (O(log n + k)).
//!
//! Each workload prints one line, the median of `RUNS` timed runs, with the allocations made in
//! the last timed run (counted by this binary's allocator; for `offer_read` the one allocation
//! is the stream's queue, made when it opens):
//! `model=offer_read chunk=BYTES events_per_s=N mib_per_s=N allocs_per_run=N`
//! `model=resume log=N replayed=K resumes_per_s=N events_per_s=N allocs_per_run=N`
//! Run: `cargo bench --bench model`.

use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use mcp_transport_fuzz::alloc;
use mcp_transport_fuzz::model::{
    BoundedStream, Entropy, HighWater, Ledger, LogLimits, Millis, Offer, Read, SessionConfig,
    SessionId, SessionStore, StreamConfig, StreamKind,
};
use mcp_transport_fuzz::sse::Frame;

const RUNS: usize = 7;
const MIB: f64 = (1 << 20) as f64;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// Allocation calls made by this thread so far (the benchmark is single-threaded).
fn allocation_calls() -> u64 {
    alloc::this_thread()
        .expect("the counting allocator is installed")
        .allocation_calls
}

/// Median seconds of `RUNS` runs after a warm-up, and the allocations of the last run.
fn measure(mut run: impl FnMut()) -> (f64, u64) {
    run();
    let mut allocations = 0;
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let before = allocation_calls();
            let start = Instant::now();
            run();
            let elapsed = start.elapsed().as_secs_f64();
            allocations = allocation_calls() - before;
            elapsed
        })
        .collect();
    times.sort_by(f64::total_cmp);
    (times[RUNS / 2], allocations)
}

fn event(size: usize) -> Bytes {
    let body =
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progress\":1}}";
    let padding = size.saturating_sub(body.len() + 8);
    let data = format!("{body}{}", " ".repeat(padding));
    let mut out = Vec::new();
    Frame::data(&data).encode(&mut out).expect("plain data");
    // Shared once, so that each offer's clone is a reference count.
    Bytes::from(out).clone()
}

fn offer_read(size: usize) {
    const EVENTS: usize = 2_000_000;
    let chunk = event(size);
    let config = StreamConfig {
        byte_cap: usize::MAX,
        high_water: HighWater::Both {
            bytes: 256 << 10,
            chunks: 64,
        },
        max_chunk_bytes: 1 << 20,
        ..StreamConfig::default()
    };
    let mut buf = vec![0u8; 16 << 10];
    let (seconds, allocations) = measure(|| {
        let mut ledger = Ledger::new();
        let mut stream = BoundedStream::open(config, &mut ledger, Millis::ZERO);
        let mut delivered = 0usize;
        for _ in 0..EVENTS {
            while stream.offer(&mut ledger, Millis::ZERO, chunk.clone()) == Ok(Offer::Backpressure)
            {
                if let Read::Data(n) = stream.read(&mut ledger, Millis::ZERO, &mut buf) {
                    delivered += n;
                }
            }
        }
        stream.finish(&mut ledger, Millis::ZERO);
        while let Read::Data(n) = stream.read(&mut ledger, Millis::ZERO, &mut buf) {
            delivered += n;
        }
        assert_eq!(delivered, EVENTS * chunk.len());
        assert!(ledger.is_zero());
        black_box(delivered);
    });
    println!(
        "model=offer_read chunk={} events_per_s={:.0} mib_per_s={:.0} allocs_per_run={allocations}",
        chunk.len(),
        EVENTS as f64 / seconds,
        (EVENTS * chunk.len()) as f64 / MIB / seconds,
    );
}

fn resume(log: usize, replayed: usize) {
    const RESUMES: usize = 200_000;
    let config = SessionConfig {
        log: LogLimits {
            max_events: log,
            max_bytes: usize::MAX,
        },
        ..SessionConfig::default()
    };
    let mut store = SessionStore::new(config, Entropy::Seeded(1)).expect("seeded");
    // Other sessions, so that the session lookup is not trivial.
    for _ in 0..1000 {
        store.create_session(Millis(0)).expect("under the cap");
    }
    let session: SessionId = store.create_session(Millis(0)).expect("under the cap");
    let stream = store
        .open_stream(&session, StreamKind::Request, Millis(0))
        .expect("a new session");
    let ids: Vec<String> = (0..log)
        .map(|_| {
            let data = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\"}";
            store
                .append(&session, stream, data, Millis(0))
                .expect("a live stream")
                .id
        })
        .collect();
    let id = &ids[log - 1 - replayed];
    let mut now = 0;
    let (seconds, allocations) = measure(|| {
        let mut bytes = 0;
        for _ in 0..RESUMES {
            now += 1;
            let replay = store
                .resume(&session, black_box(id), Millis(now))
                .expect("a kept id");
            bytes += replay.map(|event| event.frame().len()).sum::<usize>();
        }
        black_box(bytes);
    });
    println!(
        "model=resume log={log} replayed={replayed} resumes_per_s={:.0} events_per_s={:.0} allocs_per_run={allocations}",
        RESUMES as f64 / seconds,
        (RESUMES * replayed) as f64 / seconds,
    );
}

fn main() {
    // `cargo test --benches` runs this binary with no `--bench`: build-check only, then stop.
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    offer_read(256);
    offer_read(4096);
    for log in [1 << 10, 1 << 16] {
        for replayed in [0, 16, 256] {
            resume(log, replayed);
        }
    }
}
