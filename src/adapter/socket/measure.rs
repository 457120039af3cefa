//! What a server process group holds, read from `/proc`.
//!
//! The group is measured as a whole: every process whose process group is the server's (the
//! `sh -c` wrapper, the server it started, any workers or helpers), summed. That is exactly
//! the set of processes the target kills, it needs no guess about which process is "the"
//! server, and a wrapper only adds a constant (a shell holds about a MiB and three fds), which
//! the leak and cleanup oracles, judging growth between snapshots, do not see.

use std::fs;

use crate::trace::Resources;

/// RSS, PSS, open descriptors (sockets apart), threads and CPU time, summed over the
/// processes of group `pgid`; `None` for what could not be read from any of them (no `/proc`,
/// or the group is gone). Costs one read of `/proc/N/stat` per process on the machine, plus a
/// few reads per member and one `readlink` per open descriptor.
pub(super) fn group(pgid: u32) -> Resources {
    let mut sum = Resources::default();
    let add = |total: &mut Option<u64>, value: Option<u64>| {
        if let Some(value) = value {
            *total.get_or_insert(0) += value;
        }
    };
    let (mut rss_kib, mut pss_kib, mut threads, mut cpu_ms) = (None, None, None, None);
    for pid in members(pgid) {
        let status = fs::read_to_string(format!("/proc/{pid}/status")).ok();
        add(
            &mut rss_kib,
            status.as_deref().and_then(|s| field_kib(s, "VmRSS:")),
        );
        add(
            &mut threads,
            status.as_deref().and_then(|s| field_kib(s, "Threads:")),
        );
        let rollup = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok();
        add(
            &mut pss_kib,
            rollup.as_deref().and_then(|s| field_kib(s, "Pss:")),
        );
        add(&mut cpu_ms, cpu_ms_of(pid));
        if let Ok(entries) = fs::read_dir(format!("/proc/{pid}/fd")) {
            let (mut all, mut sockets) = (0, 0);
            for entry in entries.flatten() {
                all += 1;
                let target = fs::read_link(entry.path()).unwrap_or_default();
                sockets += usize::from(target.to_string_lossy().starts_with("socket:"));
            }
            *sum.open_fds.get_or_insert(0) += all;
            *sum.socket_fds.get_or_insert(0) += sockets;
        }
    }
    Resources {
        rss_bytes: rss_kib.map(|kib| kib * 1024),
        pss_bytes: pss_kib.map(|kib| kib * 1024),
        threads: threads.map(|n| n as usize),
        cpu_ms,
        ..sum
    }
}

/// Restarts the resident-set high-water mark (`VmHWM`) of every process of group `pgid` at its
/// current RSS (`5` into `/proc/PID/clear_refs`, which the owner of a process may write), and
/// returns the group's RSS in bytes; `None` if no member's mark could be restarted.
pub(super) fn restart_peaks(pgid: u32) -> Option<u64> {
    let mut restarted = false;
    let mut rss_kib = 0;
    for pid in members(pgid) {
        if fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok() {
            restarted = true;
            let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            rss_kib += field_kib(&status, "VmRSS:").unwrap_or(0);
        }
    }
    restarted.then_some(rss_kib * 1024)
}

/// The group's summed `VmHWM` in bytes: the most each member held since its mark was last
/// restarted.
pub(super) fn peaks(pgid: u32) -> Option<u64> {
    let mut total = None;
    for pid in members(pgid) {
        let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if let Some(kib) = field_kib(&status, "VmHWM:") {
            *total.get_or_insert(0) += kib * 1024;
        }
    }
    total
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

/// The first number on the line of `text` that starts with `name` (`VmRSS:` and `Pss:` are
/// in KiB; `Threads:` is a count).
fn field_kib(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find_map(|line| line.strip_prefix(name))?;
    line.split_ascii_whitespace().next()?.parse().ok()
}

/// User plus system CPU time of `pid` in milliseconds: fields 14 and 15 of `/proc/PID/stat`
/// (11 and 12 after the state), in clock ticks.
fn cpu_ms_of(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_ascii_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let ticks = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })
        .ok()
        .filter(|&t| t > 0)?;
    Some((user + system) * 1000 / ticks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_measured() {
        let own = std::process::id();
        let pgid = live_in(own).expect("our own stat");
        assert!(members(pgid).contains(&own));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a socket");
        let before = group(pgid);
        // Burn some CPU, so the second reading shows it.
        let started = std::time::Instant::now();
        let mut spin = 0u64;
        while started.elapsed() < std::time::Duration::from_millis(50) {
            spin = std::hint::black_box(spin.wrapping_add(1));
        }
        let resources = group(pgid);
        assert!(resources.rss_bytes.expect("rss") > 0);
        assert!(resources.pss_bytes.is_none_or(|pss| pss > 0));
        assert!(resources.open_fds.expect("fds") >= 3);
        assert!(resources.socket_fds.expect("sockets") >= 1);
        assert!(resources.threads.expect("threads") >= 1);
        assert!(resources.cpu_ms.expect("cpu") >= before.cpu_ms.expect("cpu"));
        assert!(resources.cpu_ms > before.cpu_ms || resources.cpu_ms.expect("cpu") > 0);
        drop(listener);
        assert_eq!(group(u32::MAX), Resources::default());
    }
}
