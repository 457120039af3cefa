//! The counting allocator charges each block to the side whose code allocated it, so the heap
//! reading of an in-process run is what the target holds, never the trace the client records;
//! and the `leak` oracle finds a target that keeps memory after every session ended.

use mcp_transport_fuzz::adapter::{harness_config, harness_policy, reference_target};
use mcp_transport_fuzz::alloc::{self, charged_to, on_side, Side};
use mcp_transport_fuzz::executor::Executor;
use mcp_transport_fuzz::fixture::FIXTURES;
use mcp_transport_fuzz::oracle::judge;
use mcp_transport_fuzz::scenario::seeds::seeds;

fn server_bytes() -> i64 {
    alloc::server_heap()
        .expect("the test binary installs the counting allocator")
        .bytes
}

/// Runs `work` on a thread of its own, whose counts nothing else touches.
fn alone(work: impl FnOnce() + Send + 'static) {
    std::thread::spawn(work).join().expect("the check passed");
}

#[test]
fn a_block_stays_charged_to_the_side_that_allocated_it() {
    alone(|| {
        const MIB: usize = 1 << 20;
        let start = server_bytes();
        let client = on_side(Side::Client, || vec![1u8; MIB]);
        assert_eq!(
            server_bytes(),
            start,
            "the client's block is not the server's"
        );
        let mut server = vec![2u8; MIB];
        assert_eq!(server_bytes() - start, MIB as i64);
        on_side(Side::Client, || server.reserve_exact(MIB));
        assert_eq!(
            server_bytes() - start,
            server.capacity() as i64,
            "grown by the client, the block is still the server's"
        );
        on_side(Side::Client, || drop(server));
        assert_eq!(
            server_bytes(),
            start,
            "freed by the client, the charge goes"
        );
        drop(client);
        assert_eq!(server_bytes(), start);
    });
}

#[test]
fn a_future_charges_its_polls_and_nested_futures_their_own() {
    alone(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let run = |size| {
            runtime.block_on(charged_to(
                Side::Client,
                Box::pin(async move {
                    let client = vec![0u8; 4096];
                    let server =
                        charged_to(Side::Server, Box::pin(async move { vec![0u8; size] })).await;
                    (client, server)
                }),
            ))
        };
        drop(run(1));
        let start = server_bytes();
        let kept = run(8192);
        assert_eq!(
            server_bytes() - start,
            8192,
            "only the nested future's block"
        );
        drop(kept);
        assert_eq!(server_bytes(), start);
    });
}

/// The `fresh-cache-keys` seed against the reference, with or without its unbounded cache,
/// every cached content holding 1 MiB: the `leak` oracle's kinds.
fn leak_kinds(bug: bool) -> Vec<String> {
    let fixture = FIXTURES
        .iter()
        .find(|f| f.name == "unbounded-cache")
        .expect("the fixture");
    let (_, scenario) = seeds()
        .into_iter()
        .find(|(name, _)| *name == fixture.seed)
        .expect("its seed");
    let mut config = harness_config();
    config.tools.retained_bytes = 1 << 20;
    if bug {
        config = fixture.apply(config);
    }
    let mut executor = Executor::new();
    let trace = executor.run(
        || reference_target("heap", config).expect("a valid configuration"),
        &scenario,
        harness_policy(),
    );
    assert!(
        trace.checkpoints.iter().all(|c| c.resources.heap.is_some()),
        "every in-process checkpoint reads the heap"
    );
    judge(&trace)
        .into_iter()
        .filter(|f| f.oracle.to_string() == "leak")
        .map(|f| f.kind.to_string())
        .collect()
}

#[test]
fn the_heap_shows_what_a_target_keeps_after_its_sessions_ended() {
    alone(|| {
        assert_eq!(leak_kinds(false), Vec::<String>::new());
        let kinds = leak_kinds(true);
        assert!(kinds.contains(&"heap-grew".to_owned()), "{kinds:?}");
    });
}
