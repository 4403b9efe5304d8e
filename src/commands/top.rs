//! `bocker top CONTAINER`: the container's processes, as `ps -ef` shows
//! them (UID, PID, PPID, STIME, TIME, CMD), with host pids.
//!
//! Which processes: those in the container's cgroup (`cgroup.procs` of
//! its pids controller, chapter 4), which `exec`'s join too, and in its
//! pid namespace (`/proc/PID/ns/pid` is the first process's). Both: the
//! bocker that runs an `exec` joins the cgroup before it forks the
//! command, but stays in the host's pid namespace (setns(2) into a pid
//! namespace counts for the children only). A container without a cgroup
//! (bocker without root and no delegated cgroup v2 subtree) is found by
//! its pid namespace alone.

use std::fs;

use anyhow::{bail, Result};

use crate::errors::Failure;
use crate::state::Store;
use crate::table;

pub fn top(store: &Store, wanted: &str, ps_options: &[String]) -> Result<u8> {
    if !ps_options.is_empty() {
        bail!(Failure::new(
            crate::errors::USAGE,
            "top takes no ps options: bocker prints UID, PID, PPID, STIME, TIME and CMD"
        ));
    }
    let container = store.container(wanted)?;
    let Some(first) = container.first_process().filter(|_| container.is_running()) else {
        bail!(Failure::new(
            1,
            format!("container {} is not running", container.id)
        ));
    };
    let in_namespace = in_pid_namespace_of(first.pid);
    let cgroup = crate::runtime::cgroup::path_of(&container.id);
    let mut pids = match crate::runtime::cgroup::existing(&container.id) {
        Some(_) => crate::runtime::cgroup::pids_at(&cgroup)
            .into_iter()
            .filter(|pid| in_namespace.contains(pid))
            .collect(),
        None => in_namespace,
    };
    pids.sort_unstable();
    let clock_ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as u64;
    let rows: Vec<Vec<String>> = pids
        .into_iter()
        .filter_map(|pid| row(pid, clock_ticks))
        .collect();
    table::print(
        &mut std::io::stdout().lock(),
        &["UID", "PID", "PPID", "STIME", "TIME", "CMD"],
        &rows,
    )?;
    Ok(0)
}

fn in_pid_namespace_of(first: i32) -> Vec<i32> {
    let namespace = |pid: i32| fs::read_link(format!("/proc/{pid}/ns/pid")).ok();
    let Some(theirs) = namespace(first) else {
        return Vec::new();
    };
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| namespace(*pid).as_ref() == Some(&theirs))
        .collect()
}

/// One line of the table for `pid`, None if it has just ended.
fn row(pid: i32, clock_ticks: u64) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces: the fields after
    // it are counted from its closing parenthesis.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ppid = fields.get(1)?.to_string();
    let ticks = |n: usize| fields.get(n).and_then(|f| f.parse::<u64>().ok());
    let cpu_seconds = (ticks(11)? + ticks(12)?) / clock_ticks;
    let started_seconds_after_boot = ticks(19)? / clock_ticks;
    let uid = fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next())
        .unwrap_or("?")
        .to_string();
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmd = String::from_utf8_lossy(&cmdline)
        .split('\0')
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Some(vec![
        uid,
        pid.to_string(),
        ppid,
        start_time(started_seconds_after_boot),
        format!(
            "{:02}:{:02}:{:02}",
            cpu_seconds / 3600,
            cpu_seconds / 60 % 60,
            cpu_seconds % 60
        ),
        cmd,
    ])
}

/// When a process started, as HH:MM (UTC), from its start in seconds after
/// boot and the boot time in /proc/stat (`btime`).
fn start_time(after_boot: u64) -> String {
    let boot = fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|stat| {
            stat.lines()
                .find_map(|line| line.strip_prefix("btime "))
                .and_then(|n| n.trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    let seconds_of_day = (boot + after_boot) % 86_400;
    format!(
        "{:02}:{:02}",
        seconds_of_day / 3600,
        seconds_of_day / 60 % 60
    )
}
