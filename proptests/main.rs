//! The property suites, one binary: a module per property, each with deliberately broken
//! variants that it must catch, and the strategies they share.
//!
//! Case counts: proptest's default unless `PROPTEST_CASES` says otherwise, e.g.
//! `PROPTEST_CASES=100000 cargo test --release --test properties sse_chunking`.

// Counts allocations per thread, so `model_alloc` reads only its own test's work.
#[global_allocator]
static ALLOCATOR: mcp_transport_fuzz::alloc::Counting = mcp_transport_fuzz::alloc::Counting;

mod model_inputs;
mod sse_inputs;

mod byte_caps;
mod cleanup;
mod deadlines;
mod escaping;
mod model_alloc;
mod resume_isolation;
mod sse_chunking;
mod sse_roundtrip;
