//! mcp-transport-fuzz: fuzzing and property tests for MCP Streamable HTTP transports.
//!
//! The crate is a pipeline of plain data; this release holds its foundation:
//! - [`sse`]: the reference event-stream decoder and safe encoder that every oracle and model
//!   speaks through;
//! - [`chunking`]: deterministic ways to split a byte stream into chunks;
//! - [`commands`]: the CLI's subcommands, as library functions over readers and writers;
//! - [`model`]: executable models of a bounded stream and of session-bound resumption, which
//!   define what "correct" means for the oracles;
//! - [`scenario`]: the scenario language, transport operations derived from fuzzer bytes;
//! - [`mod@reference`]: the reference MCP server (Streamable HTTP on the models, as an in-process
//!   tower service), which the harness must find clean;
//! - [`differential`] (feature `peers`, on by default): peer SSE decoders and encoders compared
//!   with the reference, for the differential fuzz targets.

pub mod alloc;
pub mod blackbox;
pub mod campaign;
pub mod chunking;
pub mod commands;
#[cfg(feature = "peers")]
pub mod differential;
pub mod fuzz;
pub mod harness;
pub mod model;
pub mod oracle;
pub mod reference;
pub mod report;
pub mod scenario;
pub mod sse;
pub mod target;
pub mod trace;
