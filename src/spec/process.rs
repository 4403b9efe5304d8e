//! Facts about processes, read from /proc: is this process still the one
//! we started, is it alive.

use std::fs;

use serde::{Deserialize, Serialize};

/// One process, even after its pid has been reused: a pid is recycled once
/// its process is gone, but the new process has a later start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessId {
    pub pid: i32,
    /// Field 22 of /proc/PID/stat: clock ticks after boot.
    pub start_time: u64,
}

impl ProcessId {
    /// The process `pid` as it is now, if it exists.
    pub fn of(pid: i32) -> Option<ProcessId> {
        let stat = Stat::read(pid)?;
        Some(ProcessId {
            pid,
            start_time: stat.start_time,
        })
    }

    /// This very process.
    pub fn myself() -> Option<ProcessId> {
        ProcessId::of(std::process::id() as i32)
    }

    pub fn liveness(&self) -> Liveness {
        match Stat::read(self.pid) {
            Some(stat) if stat.start_time == self.start_time => stat.liveness(),
            // No such pid any more, or another process has it now.
            _ => Liveness::Gone,
        }
    }

    pub fn is_alive(&self) -> bool {
        self.liveness() == Liveness::Alive
    }
}

/// Where a process is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Running, sleeping or stopped: it can still do things.
    Alive,
    /// It has started to exit, but is not gone yet. A container's pid 1
    /// stays here until every other process of its PID namespace has been
    /// collected, which can take a while.
    Exiting,
    /// Exited (a zombie waiting to be collected counts), or never was.
    Gone,
}

/// The fields of /proc/PID/stat that bocker needs.
struct Stat {
    state: char,
    flags: u64,
    start_time: u64,
}

/// PF_EXITING, in the kernel's include/linux/sched.h: set as soon as the
/// process enters do_exit(), long before it becomes a zombie.
const PF_EXITING: u64 = 0x4;

impl Stat {
    fn read(pid: i32) -> Option<Stat> {
        Stat::parse(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
    }

    /// The command name (field 2) is in parentheses and may contain spaces
    /// and parentheses, so fields are counted from the last ')'.
    fn parse(line: &str) -> Option<Stat> {
        let rest = &line[line.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // fields[0] is field 3 (state), fields[6] field 9 (flags),
        // fields[19] field 22 (start time).
        Some(Stat {
            state: fields.first()?.chars().next()?,
            flags: fields.get(6)?.parse().ok()?,
            start_time: fields.get(19)?.parse().ok()?,
        })
    }

    fn liveness(&self) -> Liveness {
        match self.state {
            // Z: zombie, X: dead.
            'Z' | 'X' => Liveness::Gone,
            _ if self.flags & PF_EXITING != 0 => Liveness::Exiting,
            _ => Liveness::Alive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        // A command name with a space and a ')' in it, as a program may
        // choose (prctl PR_SET_NAME).
        let line =
            "4242 (a) b) S 1 4242 4242 0 -1 4194560 150 0 0 0 0 0 0 0 20 0 1 0 98765 1000 10 0";
        let stat = Stat::parse(line).expect("parses");
        assert_eq!(stat.state, 'S');
        assert_eq!(stat.flags, 4194560);
        assert_eq!(stat.start_time, 98765);
        assert_eq!(stat.liveness(), Liveness::Alive);
    }

    #[test]
    fn zombies_and_exiting_processes_are_not_alive() {
        let zombie =
            Stat::parse("7 (sh) Z 1 7 7 0 -1 4194308 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0 0").unwrap();
        assert_eq!(zombie.liveness(), Liveness::Gone);
        // flags 0x400104 has PF_EXITING (0x4) set, state S.
        let exiting =
            Stat::parse("7 (sleep) S 1 7 7 0 -1 4194564 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0 0").unwrap();
        assert_eq!(exiting.liveness(), Liveness::Exiting);
    }

    #[test]
    fn this_process_is_alive_and_a_recycled_pid_is_not() {
        let me = ProcessId::myself().unwrap();
        assert_eq!(me.liveness(), Liveness::Alive);
        let impostor = ProcessId {
            start_time: me.start_time + 1,
            ..me
        };
        assert_eq!(impostor.liveness(), Liveness::Gone);
    }
}
