#![no_main]

#[global_allocator]
static ALLOCATOR: mcp_transport_fuzz::alloc::Counting = mcp_transport_fuzz::alloc::Counting;

libfuzzer_sys::fuzz_target!(|data: &[u8]| -> libfuzzer_sys::Corpus {
    mcp_transport_fuzz::fuzz::harness_fixture(data).into()
});
