//! Chromium's processes as Linux shows them in `/proc`: find a browser by the marker on its
//! command line, walk its process tree, read its memory (PSS), and kill it for real.
//!
//! A frozen (SIGSTOP) browser cannot answer `Browser.close`, so replacing one means SIGKILL to
//! every process of its tree; a stopped process still dies of SIGKILL.

use std::collections::HashMap;
use std::fs;

/// Pid of every process whose command line has `arg` as one of its arguments, exactly.
pub fn pids_with_arg(arg: &str) -> Vec<i32> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if has_arg(pid, arg) {
            found.push(pid);
        }
    }
    found
}

/// Whether process `pid` exists (and is not a zombie) with `arg` on its command line.
pub(crate) fn has_arg(pid: i32, arg: &str) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    cmdline.split(|b| *b == 0).any(|a| a == arg.as_bytes())
}

/// The first argument of process `pid` that starts with `prefix`, whole.
pub(crate) fn arg_with_prefix(pid: i32, prefix: &str) -> Option<String> {
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    cmdline
        .split(|b| *b == 0)
        .find(|a| a.starts_with(prefix.as_bytes()))
        .map(|a| String::from_utf8_lossy(a).into_owned())
}

/// `(parent pid, process group, state)` of a live process, from `/proc/PID/stat`.
pub fn stat(pid: i32) -> Option<(i32, i32, char)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start after the last `)`.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some((ppid, pgrp, state))
}

/// A process's identity across pid reuse: its pid and start time (clock ticks after boot).
pub fn identity(pid: i32) -> Option<(i32, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    // Field 22 of stat is the start time; `rest` starts at field 3.
    let start = rest.split(' ').nth(19)?.parse().ok()?;
    Some((pid, start))
}

/// Whether the process identified by [`identity`] still runs (a zombie does not).
pub fn is_alive(identity: (i32, u64)) -> bool {
    self::identity(identity.0) == Some(identity)
        && stat(identity.0).is_some_and(|(_, _, state)| state != 'Z')
}

/// `pid` and all its descendants that are alive (zombies excluded).
pub fn tree(pid: i32) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
            else {
                continue;
            };
            if let Some((ppid, _, state)) = stat(child)
                && state != 'Z'
            {
                children.entry(ppid).or_default().push(child);
            }
        }
    }
    let mut out = Vec::new();
    if stat(pid).is_some_and(|(_, _, state)| state != 'Z') {
        out.push(pid);
    }
    let mut i = 0;
    while i < out.len() {
        if let Some(kids) = children.get(&out[i]) {
            out.extend(kids.iter().copied());
        }
        i += 1;
    }
    out
}

/// Resident and proportional set size of one process in KiB, `(rss, pss)`, from
/// `/proc/PID/smaps_rollup`; `None` when it is gone or the kernel has no rollup.
pub fn rss_pss_kib(pid: i32) -> Option<(u64, u64)> {
    let text = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    Some((field(&text, "Rss:")?, field(&text, "Pss:")?))
}

/// Proportional set size of one process in KiB, or its RSS where the kernel has no
/// `smaps_rollup`; 0 when it is gone.
pub fn pss_kib(pid: i32) -> u64 {
    rss_pss_kib(pid)
        .map(|(_, pss)| pss)
        .or_else(|| {
            let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            field(&status, "VmRSS:")
        })
        .unwrap_or(0)
}

/// The number after `name` on its line of a `/proc` key–value file (`Pss:   1234 kB`).
fn field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// PSS of `pid`'s whole tree in KiB.
pub fn tree_pss_kib(pid: i32) -> u64 {
    tree(pid).into_iter().map(pss_kib).sum()
}

/// SIGKILL to `root`'s tree (and its process group, which Playwright makes it lead), provided
/// `root` still carries `marker`, so a recycled pid is never hit. Returns how many were signalled.
pub fn kill_tree(root: i32, marker: &str) -> usize {
    if !has_arg(root, marker) {
        return 0;
    }
    let pids = tree(root);
    for pid in &pids {
        // SAFETY: kill only sends a signal; a process that is already gone gives ESRCH.
        unsafe {
            libc::kill(*pid, libc::SIGKILL);
        }
    }
    if stat(root).is_some_and(|(_, pgrp, _)| pgrp == root) {
        // SAFETY: as above, to the group `root` leads (children that re-parented stay in it).
        unsafe {
            libc::killpg(root, libc::SIGKILL);
        }
    }
    pids.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_found_with_its_tree_and_memory() {
        let me = std::process::id() as i32;
        let (_, _, state) = stat(me).unwrap();
        assert_ne!(state, 'Z');
        assert!(tree(me).contains(&me));
        assert!(pss_kib(me) > 0);
        assert!(!has_arg(me, "--card-service-pool=nobody"));
        assert_eq!(kill_tree(me, "--card-service-pool=nobody"), 0);
    }

    #[test]
    fn a_marked_child_is_found_and_killed_with_its_children() {
        let marker = format!("--card-service-test-{}", std::process::id());
        // `sh -c '…' MARKER`: the marker is an argument of the shell, which has a child (sleep).
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & wait", &marker])
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while tree(pid).len() < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(pids_with_arg(&marker), vec![pid]);
        let members = tree(pid);
        assert_eq!(members.len(), 2, "{members:?}");
        assert_eq!(kill_tree(pid, &marker), 2);
        let _ = child.wait();
        // The grandchild dies asynchronously (on a busy machine, after the shell is reaped): gone
        // or a zombie within a bounded wait.
        let gone = || tree(members[1]).is_empty() || stat(members[1]).is_none_or(|s| s.2 == 'Z');
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !gone() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(gone(), "{} still runs after SIGKILL", members[1]);
    }
}
