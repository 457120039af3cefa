//! The integration tests, one binary: a module per area, sharing [`support`].
//!
//! `cargo test --test integration AREA` runs one area; the real servers of `targets/` have a
//! binary of their own (`tests/targets.rs`), as CI runs it alone and in release.

// Counts the heap per thread, so tests running side by side do not see each other's memory.
#[global_allocator]
static ALLOCATOR: mcp_transport_fuzz::alloc::Counting = mcp_transport_fuzz::alloc::Counting;

mod support;

mod black_box;
mod budget;
mod cli;
mod corpus_replay;
#[cfg(feature = "peers")]
mod deviations;
mod heap;
mod known_findings;
mod layers;
mod minimize;
mod reference_bugs;
mod reference_server;
mod report;
mod rmcp_adapter;
mod runner;
mod scenario;
mod socket_adapter;
mod sse_rules;
