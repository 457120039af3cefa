#![no_main]

libfuzzer_sys::fuzz_target!(
    init: {
        // async-sse reports a malformed stream as an anyhow error, which captures a backtrace
        // whenever RUST_BACKTRACE is set: 7% of an execution's instructions. Panics, the
        // findings, keep their backtraces (RUST_BACKTRACE still governs those).
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    },
    |data: &[u8]| -> libfuzzer_sys::Corpus {
        mcp_transport_fuzz::fuzz::sse_differential(data).into()
    }
);
