#![no_main]

use mcp_transport_fuzz::fuzz::{
    crossover_scenario_inputs, fixture_prefix, harness_fixture, mutate_scenario_input,
};

#[global_allocator]
static ALLOCATOR: mcp_transport_fuzz::alloc::Counting = mcp_transport_fuzz::alloc::Counting;

libfuzzer_sys::fuzz_target!(|data: &[u8]| -> libfuzzer_sys::Corpus {
    harness_fixture(data).into()
});

libfuzzer_sys::fuzz_mutator!(|data: &mut [u8], size: usize, max_size: usize, seed: u32| {
    let prefix = fixture_prefix();
    mutate_scenario_input(
        data,
        size,
        max_size,
        seed,
        prefix,
        libfuzzer_sys::fuzzer_mutate,
    )
});

libfuzzer_sys::fuzz_crossover!(|first: &[u8], second: &[u8], out: &mut [u8], seed: u32| {
    crossover_scenario_inputs(first, second, out, seed, fixture_prefix())
});
