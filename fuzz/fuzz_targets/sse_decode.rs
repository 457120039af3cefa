#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| -> libfuzzer_sys::Corpus {
    mcp_transport_fuzz::fuzz::sse_decode(data).into()
});
