//! Findings as reports: JSON lines, and reproducer files that `replay` accepts.
//!
//! A reproducer is the scenario's bytes (the stable file format, see
//! [`crate::scenario::Scenario::from_bytes`]) in `NAME.scenario`, with a sidecar `NAME.json`
//! naming the target and the finding it reproduces. `replay` needs only the bytes and a
//! target; the sidecar supplies the target when none is given.

use std::fs;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::oracle::Finding;

mod sarif;

pub use sarif::{sarif_log, SarifResult};

/// One line of `--report`: one deduplicated finding.
#[derive(Debug, Clone, Serialize)]
pub struct ReportLine<'a> {
    /// The oracle's name, as [`crate::oracle::Oracle::name`] spells it.
    pub oracle: &'static str,
    /// How bad the finding is, written lowercase, such as `high`.
    pub severity: crate::oracle::Severity,
    /// The finding's stable short key, such as `deleted-id-accepted`.
    pub kind: &'static str,
    /// How strong the rule it breaks is: `must`, `should` or `hardening`.
    pub level: crate::oracle::Level,
    /// The rule it breaks, quoted, and where it stands (`source`, with the spec version).
    pub rule: &'a crate::oracle::Rule,
    /// The finding's one-sentence summary.
    pub summary: &'a str,
    /// The facts from the trace that show it, as the oracle gave them.
    pub evidence: &'a serde_json::Value,
    /// The path of the reproducer file.
    pub reproducer: String,
    /// The target's name: `reference`, `fixture:NAME`, `rmcp:VARIANT` or a URL.
    pub target: &'a str,
    /// The scenario op where it shows.
    pub step: Option<usize>,
    /// Scenarios run before it was first seen (this one included).
    pub scenarios: u64,
    /// Milliseconds of the campaign before it was first seen.
    pub elapsed_ms: u64,
}

/// What a reproducer's sidecar records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sidecar {
    /// The target the finding was seen on, as `replay` names it when given none.
    pub target: String,
    /// The name of the oracle that reported it.
    pub oracle: String,
    /// The finding's stable short key.
    pub kind: String,
    /// The finding's one-sentence summary.
    pub summary: String,
}

/// Writes `bytes` as the reproducer of `finding` on `target` into `dir` (created if missing)
/// and returns its path. The name is stable: the same finding from the same bytes gets the
/// same file.
pub fn write_reproducer(
    dir: &Path,
    target: &str,
    finding: &Finding,
    bytes: &[u8],
) -> io::Result<PathBuf> {
    fs::create_dir_all(dir)?;
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    let stem = format!(
        "{}-{}-{:016x}",
        file_safe(finding.oracle.name()),
        finding.kind,
        hasher.finish()
    );
    let path = dir.join(format!("{stem}.scenario"));
    fs::write(&path, bytes)?;
    let sidecar = Sidecar {
        target: target.to_owned(),
        oracle: finding.oracle.name().to_owned(),
        kind: finding.kind.to_owned(),
        summary: finding.summary.clone(),
    };
    let json = serde_json::to_string_pretty(&sidecar).map_err(io::Error::other)?;
    fs::write(dir.join(format!("{stem}.json")), json + "\n")?;
    Ok(path)
}

/// The sidecar of reproducer `path`, if it has one.
pub fn read_sidecar(path: &Path) -> Option<Sidecar> {
    let text = fs::read_to_string(path.with_extension("json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// `idle/duration` becomes `idle-duration`.
fn file_safe(name: &str) -> String {
    name.replace('/', "-")
}
