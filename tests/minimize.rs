//! `replay --minimize` and `replay --confirm`, run as a user runs them: a padded reproducer of a
//! fixture's bug shrinks to the ops that show it, and the finding shows over a real socket too.

use std::path::Path;
use std::process::Command;

use mcp_transport_fuzz::scenario::{Misstep, Op, Scenario, Slot, Version};

/// A reproducer of `fixture:deleted-id-accepted` (a DELETE of a deleted session gets 202)
/// padded with ops that play no part, and its sidecar, in `dir`.
fn padded_reproducer(dir: &Path) -> std::path::PathBuf {
    let s0 = Slot::of_index(0);
    let s3 = Slot::of_index(3);
    let ops = vec![
        Op::Initialize {
            session: s3,
            version: Version::V2025_11_25,
        },
        Op::Stall { millis: 700 },
        Op::Initialize {
            session: s0,
            version: Version::V2025_06_18,
        },
        Op::ListTools { session: s3 },
        Op::Misstep {
            session: s3,
            misstep: Misstep::BadAccept,
        },
        Op::Delete { session: s0 },
        Op::Stall { millis: 300 },
        Op::ListTools { session: s3 },
        Op::Delete { session: s0 },
        Op::Stall { millis: 900 },
    ];
    let bytes = Scenario { ops }.to_bytes().expect("no free text");
    let file = dir.join("padded.scenario");
    std::fs::write(&file, bytes).expect("written");
    std::fs::write(
        dir.join("padded.json"),
        r#"{"target":"fixture:deleted-id-accepted","oracle":"session-cleanup","kind":"deleted-id-accepted","summary":""}"#,
    )
    .expect("written");
    file
}

#[test]
fn a_padded_reproducer_shrinks_to_its_three_ops_and_shows_over_a_socket() {
    let dir = std::env::temp_dir().join(format!("mtf-minimize-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    let file = padded_reproducer(&dir);
    let output = Command::new(env!("CARGO_BIN_EXE_mcp-transport-fuzz"))
        .args(["replay", "--minimize", "--confirm"])
        .arg(&file)
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "it still fails:\n{stdout}");
    assert!(stdout.contains("minimized from 10 to 3 ops"), "{stdout}");
    assert!(
        stdout.contains("s0 initialize 2025-06-18\n  1  s0 DELETE\n  2  s0 DELETE\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("over a socket: shows in 20 of 20 tries"),
        "{stdout}"
    );
    // The original is kept; the minimal one is written beside it, with a sidecar, and replays.
    let written: Vec<_> = std::fs::read_dir(&dir)
        .expect("the folder")
        .map(|entry| entry.expect("an entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "scenario") && *path != file)
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    let again = Command::new(env!("CARGO_BIN_EXE_mcp-transport-fuzz"))
        .arg("replay")
        .arg(&written[0])
        .output()
        .expect("the binary runs");
    let again = String::from_utf8_lossy(&again.stdout);
    assert!(
        again.contains(
            "fixture:deleted-id-accepted: still fails: [session-cleanup/deleted-id-accepted]"
        ),
        "{again}"
    );
    // On the correct reference, nothing shows: nothing to minimise or confirm.
    let clean = Command::new(env!("CARGO_BIN_EXE_mcp-transport-fuzz"))
        .args(["replay", "--minimize", "--confirm", "--target", "reference"])
        .arg(&file)
        .output()
        .expect("the binary runs");
    let clean = String::from_utf8_lossy(&clean.stdout);
    assert_eq!(
        clean.trim(),
        format!("{}: reference: passes", file.display())
    );
    let _ = std::fs::remove_dir_all(&dir);
}
