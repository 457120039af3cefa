//! What a server process group holds, read from `/proc`.
//!
//! The group is measured as a whole: every process whose process group is the server's (the
//! `sh -c` wrapper, the server it started, any workers or helpers), summed. That is exactly
//! the set of processes the target kills, it needs no guess about which process is "the"
//! server, and a wrapper only adds a constant (a shell holds about a MiB and three fds), which
//! the leak and cleanup oracles, judging growth between snapshots, do not see.

use std::fs;

use crate::trace::Resources;

/// RSS and open file descriptors summed over the processes of group `pgid`; `None` for what
/// could not be read from any of them (no `/proc`, or the group is gone). Costs one read of
/// `/proc/N/stat` per process on the machine, plus two reads per member.
pub(super) fn group(pgid: u32) -> Resources {
    let mut rss_kib = None;
    let mut fds = None;
    for pid in members(pgid) {
        if let Some(kib) = rss_kib_of(pid) {
            *rss_kib.get_or_insert(0u64) += kib;
        }
        if let Ok(entries) = fs::read_dir(format!("/proc/{pid}/fd")) {
            *fds.get_or_insert(0usize) += entries.count();
        }
    }
    Resources {
        rss_bytes: rss_kib.map(|kib| kib * 1024),
        open_fds: fds,
        ..Resources::default()
    }
}

/// Every live process of group `pgid` (zombies, which hold nothing, are left out).
pub(super) fn members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| live_in(pid) == Some(pgid))
        .collect()
}

/// The process group of `pid` if it is alive: in `/proc/PID/stat`, the state is the first
/// field after the command name (in parentheses, which may itself hold spaces and
/// parentheses) and the group the third.
fn live_in(pid: u32) -> Option<u32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_ascii_whitespace();
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    fields.nth(1)?.parse().ok()
}

/// `VmRSS` of `pid` in KiB (absent for a zombie).
fn rss_kib_of(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?;
    line.split_ascii_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_measured() {
        let own = std::process::id();
        let pgid = live_in(own).expect("our own stat");
        assert!(members(pgid).contains(&own));
        let resources = group(pgid);
        assert!(resources.rss_bytes.expect("rss") > 0);
        assert!(resources.open_fds.expect("fds") >= 3);
        assert_eq!(group(u32::MAX), Resources::default());
    }
}
