//! mcp-transport-fuzz: fuzzing and property tests for MCP Streamable HTTP transports.
//!
//! The crate is one pipeline of plain data:
//! `scenario → executor → adapter → trace → oracle → finding`.
//! Each module below has one job, and imports run one way: a module uses only modules listed
//! below it (`tests/layers.rs` checks this on every `cargo test`).
//!
//! - [`commands`]: the CLI's subcommands (`run`, `replay`, `list`, `serve`, `sse`), as
//!   library functions over readers and writers; `main.rs` only parses arguments.
//! - [`service`]: the library entry point: fuzz a Streamable HTTP service of your own (any
//!   tower `Service`) in process from a test, and replay its reproducers as regression tests.
//! - [`fuzz`]: the body of every fuzz target, and the [`fuzz::TARGETS`] table.
//! - [`campaign`]: many scenarios on many jobs: mutation, behaviour features, deduplication,
//!   confirmation of findings that may not recur.
//! - [`runner`]: one scenario against one target and its verdict; the in-process runner and
//!   the black-box runner side by side.
//! - [`probe`]: resource probes of a server behind a socket: units of work repeated at
//!   growing doses, unread and closed streams, read from /proc alone.
//! - [`report`]: findings as JSON lines and SARIF 2.1.0; reproducer files and sidecars.
//! - [`fixture`]: the reference with one classic bug switched on, and the oracle that must
//!   catch each.
//! - [`oracle`]: pure functions from a trace to findings, one file per oracle family.
//! - [`executor`]: runs a scenario against an adapter, every await under a deadline, and
//!   records the trace.
//! - [`adapter`]: what the executor drives: the reference, rmcp in process, and any server
//!   behind a socket (with its process group and /proc).
//! - [`trace`]: everything the executor observed, and the limits it is judged against.
//! - [`scenario`]: the scenario language: transport operations read from fuzzer bytes.
//! - [`mod@reference`]: the reference MCP server, built on the models, which must stay clean.
//! - [`differential`] (feature `peers`, on by default): peer SSE decoders and encoders
//!   against the reference codec.
//! - [`model`]: executable models of a bounded stream and of session-bound resumption, which
//!   define "correct", and their checks.
//! - [`input`]: generator types read from fuzzer bytes (untrusted text, chunked streams, the
//!   fuzz limits); a leaf that everything above may use.
//! - [`chunking`]: deterministic ways to split a byte stream into chunks.
//! - [`sse`]: the reference event-stream decoder and safe encoder that every oracle and model
//!   speaks through.
//! - [`alloc`]: the counting allocator (per thread, each block charged to the client or the
//!   server side).

#![warn(missing_docs, unreachable_pub)]

// Highest first: each module uses only those below it. One a group, so rustfmt keeps the order.

pub mod commands;

pub mod service;

pub mod fuzz;

pub mod campaign;

pub mod runner;

pub mod probe;

pub mod report;

pub mod fixture;

pub mod oracle;

pub mod executor;

pub mod adapter;

pub mod trace;

pub mod scenario;

pub mod reference;

#[cfg(feature = "peers")]
pub mod differential;

pub mod model;

pub mod input;

pub mod chunking;

pub mod sse;

pub mod alloc;
