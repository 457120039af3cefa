//! Replays every file under `corpus/<target>/` through the library function behind fuzz target
//! `<target>`, on stable, with no cargo-fuzz. A failure names the file. Drop a crash input into
//! the folder of its target and it is a regression test from then on.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use mcp_transport_fuzz::fuzz::{FIXTURE_TARGET, TARGETS};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_file_replays_cleanly() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (name, run) in TARGETS {
        let dir = corpus_root().join(name);
        let inputs = files(&dir);
        assert!(
            !inputs.is_empty(),
            "fuzz target {name} has no seed corpus in {}",
            dir.display()
        );
        for file in inputs {
            let bytes = std::fs::read(&file).expect("readable corpus file");
            if catch_unwind(AssertUnwindSafe(|| run(&bytes))).is_err() {
                failures.push(file.display().to_string());
            }
            replayed += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "corpus files that fail:\n{}",
        failures.join("\n")
    );
    println!("replayed {replayed} corpus files");
}

#[test]
fn every_corpus_folder_belongs_to_a_target() {
    for entry in std::fs::read_dir(corpus_root()).expect("corpus/ exists") {
        let path = entry.expect("readable directory entry").path();
        if path.is_dir() {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            assert!(
                TARGETS.iter().any(|(target, _)| *target == name),
                "corpus/{name} matches no fuzz target in mcp_transport_fuzz::fuzz::TARGETS"
            );
        }
    }
}

#[test]
fn every_fuzz_target_binary_is_registered() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    for file in files(&dir) {
        let name = file
            .file_stem()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        assert!(
            TARGETS.iter().any(|(target, _)| *target == name) || FIXTURE_TARGET.0 == name,
            "fuzz/fuzz_targets/{name}.rs has no entry in mcp_transport_fuzz::fuzz::TARGETS"
        );
        let body = std::fs::read_to_string(&file).expect("readable target");
        assert!(
            body.contains(&format!("mcp_transport_fuzz::fuzz::{name}(")),
            "{name}.rs must call the library function of the same name"
        );
    }
}
