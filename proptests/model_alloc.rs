//! The models' hot paths allocate nothing: offering a chunk allocates nothing beyond the chunk
//! itself, reading copies into the caller's buffer, and a resume borrows its events from the
//! log. Counted by the crate's counting allocator per thread ([`alloc::this_thread`]), so the
//! other tests running beside these do not disturb the figures.

use bytes::Bytes;
use mcp_transport_fuzz::alloc;
use mcp_transport_fuzz::model::{
    BoundedStream, Entropy, HighWater, Ledger, Millis, Offer, Read, SessionConfig, SessionStore,
    StreamConfig, StreamKind,
};
use mcp_transport_fuzz::sse::Frame;

/// The allocation calls (`alloc`, `alloc_zeroed`, `realloc`) this thread makes during `work`.
fn allocations_in(work: impl FnOnce()) -> u64 {
    let calls = || {
        alloc::this_thread()
            .expect("the property binary installs the counting allocator")
            .allocation_calls
    };
    let before = calls();
    work();
    calls() - before
}

fn chunks(n: usize) -> Vec<Bytes> {
    (0..n)
        .map(|i| {
            let mut out = Vec::new();
            Frame::data(&format!("{{\"progress\":{i}}}"))
                .encode(&mut out)
                .expect("plain data encodes");
            Bytes::from(out)
        })
        .collect()
}

/// Offers every chunk, reading whenever the mark is reached, then reads the rest.
fn pump(config: StreamConfig, chunks: Vec<Bytes>) -> u64 {
    let mut ledger = Ledger::new();
    let mut stream = BoundedStream::open(config, &mut ledger, Millis::ZERO);
    let mut buf = [0u8; 4096];
    let allocations = allocations_in(|| {
        for chunk in chunks {
            loop {
                match stream.offer(&mut ledger, Millis::ZERO, chunk.clone()) {
                    Ok(Offer::Accepted) => break,
                    Ok(Offer::Backpressure) => {
                        let _ = stream.read(&mut ledger, Millis::ZERO, &mut buf);
                    }
                    other => panic!("unexpected offer result {other:?}"),
                }
            }
        }
        stream.finish(&mut ledger, Millis::ZERO);
        while let Read::Data(_) = stream.read(&mut ledger, Millis::ZERO, &mut buf) {}
    });
    assert!(stream.is_closed() && ledger.is_zero());
    allocations
}

#[test]
fn offer_and_read_allocate_nothing_with_a_chunk_mark() {
    let config = StreamConfig {
        high_water: HighWater::Both {
            bytes: 64 << 10,
            chunks: 64,
        },
        ..StreamConfig::default()
    };
    // Chunks built from a `Vec` are cloned once first, so that cloning them again (as `pump`
    // does, to retry after backpressure) is a reference count, not a promotion.
    let chunks = chunks(10_000);
    let shared = chunks.to_vec();
    drop(chunks);
    assert_eq!(pump(config, shared), 0);
}

#[test]
fn offer_and_read_allocate_nothing_in_steady_state_with_a_byte_mark() {
    let config = StreamConfig {
        high_water: HighWater::Bytes(16 << 10),
        ..StreamConfig::default()
    };
    // The queue starts with room for 64 chunks and may grow to its bound once: warm it up.
    let mut ledger = Ledger::new();
    let mut stream = BoundedStream::open(config, &mut ledger, Millis::ZERO);
    let mut buf = [0u8; 64 << 10];
    let chunks = chunks(20_000);
    let shared = chunks.to_vec();
    let mut round = |chunks: &[Bytes]| {
        for chunk in chunks {
            while stream.offer(&mut ledger, Millis::ZERO, chunk.clone()) == Ok(Offer::Backpressure)
            {
                let _ = stream.read(&mut ledger, Millis::ZERO, &mut buf);
            }
        }
        while let Read::Data(_) = stream.read(&mut ledger, Millis::ZERO, &mut buf) {}
    };
    round(&shared[..10_000]);
    assert_eq!(allocations_in(|| round(&shared[10_000..])), 0);
}

#[test]
fn resume_allocates_nothing() {
    let mut store =
        SessionStore::new(SessionConfig::default(), Entropy::Seeded(7)).expect("seeded");
    let session = store.create_session(Millis(0)).expect("empty store");
    let stream = store
        .open_stream(&session, StreamKind::Request, Millis(0))
        .expect("new session");
    let ids: Vec<String> = (0..1000)
        .map(|i| {
            store
                .append(&session, stream, "{\"jsonrpc\":\"2.0\"}", Millis(i))
                .expect("live stream")
                .id
        })
        .collect();
    let mut replayed = 0;
    let allocations = allocations_in(|| {
        for (i, id) in ids.iter().enumerate() {
            let replay = store
                .resume(&session, id, Millis(1000 + i as u64))
                .expect("a kept id");
            replayed += replay.map(|event| event.frame().len()).sum::<usize>();
        }
    });
    assert!(replayed > 0);
    assert_eq!(allocations, 0);
}

/// The counter sees allocations, so the zeros above are not vacuous.
#[test]
fn the_counter_counts() {
    let n = allocations_in(|| {
        std::hint::black_box(Vec::<u8>::with_capacity(10));
    });
    assert_eq!(n, 1);
}
