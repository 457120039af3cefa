//! `list`: the fixtures, the in-process targets and the oracles, one a line.

use std::io::Write;

use crate::fixture::FIXTURES;
use crate::oracle::Oracle;
use crate::runner::TargetSpec;

/// What `list` can list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// The fixtures, each with the oracle that must report its bug.
    Fixtures,
    /// The in-process targets: `reference`, the rmcp variants and `fixture:NAME`.
    Targets,
    /// The oracles, each with what it fails on.
    Oracles,
}

/// One line per item: `NAME ORACLE` for fixtures, `NAME  about` for targets and oracles.
pub fn list(what: Listing, out: &mut impl Write) -> std::io::Result<()> {
    match what {
        Listing::Fixtures => {
            for fixture in FIXTURES {
                writeln!(out, "{} {}", fixture.name, fixture.oracle)?;
            }
        }
        Listing::Targets => {
            for spec in TargetSpec::all() {
                writeln!(out, "{spec}  {}", spec.about())?;
            }
        }
        Listing::Oracles => {
            for oracle in Oracle::ALL {
                writeln!(out, "{oracle}  {}", oracle.fails_when())?;
            }
        }
    }
    Ok(())
}
