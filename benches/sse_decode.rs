//! Decode throughput of the reference decoder beside two peers and a `memchr2` ceiling.
//!
//! Workloads: `jsonrpc` (64 MiB of ~300-byte JSON-RPC events with event, id and data lines, in
//! 16 KiB chunks), `large` (64 MiB of 64 KiB multi-line events, 16 KiB chunks) and `tiny`
//! (4 MiB of tiny events in chunks of 1–7 bytes). Every decoder reads the same chunks; each must
//! report the same number of events, so no decoder is timed doing nothing. For each workload the
//! last line printed is
//! `workload=NAME ours=MIBS sse_stream_0_3=MIBS eventsource_stream=MIBS memchr2=MIBS`
//! with the median MiB/s of `RUNS` timed runs. Run: `cargo bench --bench sse_decode`.

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt;
use mcp_transport_fuzz::sse::{Decoder, RecordRef};
use rand::{RngExt, SeedableRng};

const RUNS: usize = 7;
const MIB: usize = 1 << 20;

struct Workload {
    name: &'static str,
    bytes: usize,
    chunks: Vec<Bytes>,
}

fn jsonrpc() -> Workload {
    let mut stream = Vec::with_capacity(64 * MIB + 512);
    let mut n = 0u64;
    while stream.len() < 64 * MIB {
        let event = format!(
            "event: message\nid: 0196a3c4-{n:08}\ndata: {{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{{\"progressToken\":\"tok-{n}\",\"progress\":{n},\"total\":1000000,\"message\":\"processed chunk {n} of the document; {}\"}}}}\n\n",
            "lorem ipsum dolor sit amet ".repeat(3)
        );
        stream.extend_from_slice(event.as_bytes());
        n += 1;
    }
    fixed_chunks("jsonrpc", stream, 16 * 1024)
}

fn large() -> Workload {
    let line = format!("data: {}\n", "x".repeat(1017));
    let event = format!("event: document\n{}\n", line.repeat(64));
    fixed_chunks(
        "large",
        event.repeat(64 * MIB / event.len()).into_bytes(),
        16 * 1024,
    )
}

fn tiny() -> Workload {
    let mut stream = Vec::with_capacity(4 * MIB + 16);
    let mut n = 0u32;
    while stream.len() < 4 * MIB {
        stream.extend_from_slice(format!("data: {}\n\n", n % 10).as_bytes());
        n += 1;
    }
    let stream = Bytes::from(stream);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let mut chunks = Vec::new();
    let mut at = 0;
    while at < stream.len() {
        let end = (at + rng.random_range(1..=7)).min(stream.len());
        chunks.push(stream.slice(at..end));
        at = end;
    }
    Workload {
        name: "tiny",
        bytes: stream.len(),
        chunks,
    }
}

fn fixed_chunks(name: &'static str, stream: Vec<u8>, size: usize) -> Workload {
    let stream = Bytes::from(stream);
    let chunks = (0..stream.len())
        .step_by(size)
        .map(|at| stream.slice(at..(at + size).min(stream.len())))
        .collect();
    Workload {
        name,
        bytes: stream.len(),
        chunks,
    }
}

/// Each returns (events, data bytes) so the work cannot be optimised away.
fn ours(chunks: &[Bytes]) -> (usize, usize) {
    let mut decoder = Decoder::default();
    let (mut events, mut data) = (0, 0);
    let mut sink = |record: RecordRef<'_>| {
        if let RecordRef::Event(event) = record {
            events += 1;
            data += event.data.len();
        }
    };
    for chunk in chunks {
        decoder.feed(chunk, &mut sink).expect("within limits");
    }
    (events, data)
}

fn byte_stream(
    chunks: &[Bytes],
) -> impl futures_util::Stream<Item = Result<Bytes, Infallible>> + '_ {
    futures_util::stream::iter(chunks.iter().cloned().map(Ok))
}

fn sse_stream_0_3(chunks: &[Bytes]) -> (usize, usize) {
    let stream = sse_stream::SseByteStream::new(byte_stream(chunks));
    futures_executor::block_on(stream.fold((0, 0), |(events, data), item| async move {
        match item.expect("peer decodes").data {
            Some(text) => (events + 1, data + text.len()),
            None => (events, data),
        }
    }))
}

fn eventsource_stream(chunks: &[Bytes]) -> (usize, usize) {
    let stream = eventsource_stream::EventStream::new(byte_stream(chunks));
    futures_executor::block_on(stream.fold((0, 0), |(events, data), item| async move {
        let event = item.expect("peer decodes");
        (events + 1, data + event.data.len())
    }))
}

fn memchr2_scan(chunks: &[Bytes]) -> (usize, usize) {
    let breaks = chunks
        .iter()
        .map(|chunk| memchr::memchr2_iter(b'\r', b'\n', chunk).count())
        .sum();
    (breaks, 0)
}

/// Median MiB/s of `RUNS` timed runs after one warm-up; also returns the run's result.
fn measure(workload: &Workload, decode: fn(&[Bytes]) -> (usize, usize)) -> (f64, (usize, usize)) {
    let result = black_box(decode(black_box(&workload.chunks)));
    let mut rates: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(decode(black_box(&workload.chunks)));
            workload.bytes as f64 / MIB as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    (rates[RUNS / 2], result)
}

fn main() {
    // `cargo test --benches` runs this binary with no `--bench`: build-check only, then stop.
    if !std::env::args().any(|arg| arg == "--bench") {
        return;
    }
    for workload in [jsonrpc(), large(), tiny()] {
        let (ours_rate, ours_result) = measure(&workload, ours);
        let (sse_rate, sse_result) = measure(&workload, sse_stream_0_3);
        let (es_rate, es_result) = measure(&workload, eventsource_stream);
        let (scan_rate, _) = measure(&workload, memchr2_scan);
        assert_eq!(
            ours_result, sse_result,
            "sse-stream disagrees on {}",
            workload.name
        );
        assert_eq!(
            ours_result, es_result,
            "eventsource-stream disagrees on {}",
            workload.name
        );
        println!(
            "# {}: {} MiB in {} chunks, {} events; ours/sse_stream_0_3 = {:.2}x, ours/memchr2 = {:.0}%",
            workload.name,
            workload.bytes / MIB,
            workload.chunks.len(),
            ours_result.0,
            ours_rate / sse_rate,
            100.0 * ours_rate / scan_rate
        );
        println!(
            "workload={} ours={ours_rate:.0} sse_stream_0_3={sse_rate:.0} eventsource_stream={es_rate:.0} memchr2={scan_rate:.0}",
            workload.name
        );
    }
}
