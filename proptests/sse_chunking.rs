//! Property: chunk boundaries never change what the decoders report (rule L2).
//!
//! For any stream and any cut, the browser view and the raw-block view equal a one-shot decode.
//! `decoder_restarted_per_chunk_is_caught` shows the property is not vacuous: a decoder that
//! loses its state at chunk boundaries is found out.

// Each suite uses its own part of the shared strategies.
use crate::sse_inputs;

use mcp_transport_fuzz::chunking::cut_cycling;
use mcp_transport_fuzz::sse::{decode_chunks, Limits, RawDecoder, Record};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestError, TestRng, TestRunner};

type DecodeFn = fn(&[&[u8]]) -> Vec<Record>;

/// The reference decoder, errors flattened into the records so they are compared too.
fn reference(chunks: &[&[u8]]) -> Vec<Record> {
    match decode_chunks(chunks.iter().copied(), Limits::default()) {
        Ok(records) | Err((records, _)) => records,
    }
}

/// Broken variant: a fresh decoder for every chunk (state lost at boundaries).
fn restarted_per_chunk(chunks: &[&[u8]]) -> Vec<Record> {
    chunks
        .iter()
        .flat_map(|chunk| reference(&[chunk]))
        .collect()
}

fn chunking_is_invisible(
    decode: DecodeFn,
    bytes: &[u8],
    sizes: &[usize],
) -> Result<(), TestCaseError> {
    let chunks = cut_cycling(bytes, sizes);
    prop_assert_eq!(decode(&chunks), decode(&[bytes]));
    Ok(())
}

fn raw_blocks(chunks: &[&[u8]]) -> Vec<mcp_transport_fuzz::sse::RawBlock> {
    let mut decoder = RawDecoder::default();
    let mut blocks = Vec::new();
    for chunk in chunks {
        decoder
            .feed(chunk, &mut blocks)
            .expect("within default limits");
    }
    blocks
}

proptest! {
    #[test]
    fn records_do_not_depend_on_chunking(bytes in sse_inputs::stream_bytes(), sizes in sse_inputs::chunk_sizes()) {
        chunking_is_invisible(reference, &bytes, &sizes)?;
    }

    #[test]
    fn raw_blocks_do_not_depend_on_chunking(bytes in sse_inputs::stream_bytes(), sizes in sse_inputs::chunk_sizes()) {
        let chunks = cut_cycling(&bytes, &sizes);
        prop_assert_eq!(raw_blocks(&chunks), raw_blocks(&[&bytes]));
    }

    #[test]
    fn byte_by_byte_equals_whole(bytes in sse_inputs::stream_bytes()) {
        chunking_is_invisible(reference, &bytes, &[1])?;
    }
}

#[test]
fn decoder_restarted_per_chunk_is_caught() {
    let strategy = (sse_inputs::stream_bytes(), sse_inputs::chunk_sizes());
    let result = deterministic_runner().run(&strategy, |(bytes, sizes)| {
        chunking_is_invisible(restarted_per_chunk, &bytes, &sizes)
    });
    assert!(
        matches!(result, Err(TestError::Fail(..))),
        "the property must find a counterexample for a decoder that forgets state: {result:?}"
    );
}

/// A runner whose seed is fixed, so a broken variant is caught (or not) the same way on every
/// run: a property's ability to fail must never depend on luck.
fn deterministic_runner() -> TestRunner {
    let config = Config::default();
    let rng = TestRng::deterministic_rng(config.rng_algorithm);
    TestRunner::new_with_rng(config, rng)
}
