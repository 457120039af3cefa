//! The findings the README reports on rmcp, kept as reproducers in `reproducers/rmcp-*/`: each
//! must still give its sidecar's finding, the same findings on every run. rmcp is pinned by
//! Cargo.lock; when an upgrade fixes a bug, this test names the reproducer to retire. (The
//! black-box targets' reproducers are replayed against their servers by `tests/targets.rs`.)

use std::path::{Path, PathBuf};

use mcp_transport_fuzz::oracle::Finding;
use mcp_transport_fuzz::report::read_sidecar;
use mcp_transport_fuzz::runner::{InProcessRunner, TargetSpec};

/// How many times each reproducer runs.
const RUNS: usize = 3;

fn reproducers(folder: &str) -> Vec<PathBuf> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("reproducers")
        .join(folder);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|entry| entry.expect("a readable folder").path())
        .filter(|path| path.extension().is_some_and(|e| e == "scenario"))
        .collect();
    files.sort();
    files
}

fn kinds(findings: &[Finding]) -> Vec<(String, &'static str)> {
    findings
        .iter()
        .map(|f| (f.oracle.name().to_owned(), f.kind))
        .collect()
}

fn check(folder: &str) {
    let files = reproducers(folder);
    assert!(!files.is_empty(), "reproducers/{folder} holds reproducers");
    for file in files {
        let sidecar = read_sidecar(&file).unwrap_or_else(|| panic!("{}: sidecar", file.display()));
        let spec: TargetSpec = sidecar.target.parse().expect("an in-process target");
        let bytes = std::fs::read(&file).expect("readable");
        let mut runner = InProcessRunner::new(spec);
        let first = kinds(&runner.run(&bytes).findings);
        assert!(
            first
                .iter()
                .any(|(oracle, kind)| *oracle == sidecar.oracle && *kind == sidecar.kind),
            "{}: no longer gives [{}/{}] on {spec}; it gives {first:?}",
            file.display(),
            sidecar.oracle,
            sidecar.kind
        );
        for _ in 1..RUNS {
            assert_eq!(
                kinds(&runner.run(&bytes).findings),
                first,
                "{}: the same findings on every run",
                file.display()
            );
        }
    }
}

#[test]
fn rmcp_local_findings_still_hold() {
    check("rmcp-local");
}

#[test]
fn rmcp_event_store_findings_still_hold() {
    check("rmcp-event-store");
}
