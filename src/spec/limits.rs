//! What a container may use: the limits of `run --memory --cpus
//! --cpu-shares --pids-limit` (chapter 4 turns them into a cgroup's files),
//! and reading them from the command line.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

use crate::errors::{Failure, USAGE};

/// What `run` (or `update`) asked for; `None` means no limit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    /// Bytes of memory (and no swap beyond it).
    pub memory: Option<u64>,
    /// CPUs' worth of time: 0.5 is half of one CPU.
    pub cpus: Option<f64>,
    /// Relative weight against other containers (v1 units: 2 to 262144,
    /// 1024 being the default).
    pub cpu_shares: Option<u64>,
    /// How many processes (and threads) at most.
    pub pids: Option<i64>,
}

impl Limits {
    /// `other`'s limits where it has one, ours elsewhere (for `update`).
    pub fn updated_with(&self, other: &Limits) -> Limits {
        Limits {
            memory: other.memory.or(self.memory),
            cpus: other.cpus.or(self.cpus),
            cpu_shares: other.cpu_shares.or(self.cpu_shares),
            pids: other.pids.or(self.pids),
        }
    }
}

/// The smallest memory limit bocker accepts: below it, even starting the
/// container's first program fails (Docker's minimum is 6 MiB too).
pub const MIN_MEMORY: u64 = 6 * 1024 * 1024;

/// `64m` → 67108864. Suffixes as Docker's: b, k, m, g (powers of 1024),
/// upper or lower case; no suffix means bytes.
pub fn parse_memory(text: &str) -> Result<u64> {
    let lower = text.trim().to_ascii_lowercase();
    let (digits, unit) = match lower.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => lower.split_at(at),
        None => (lower.as_str(), ""),
    };
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => 0,
    };
    let bytes = digits
        .parse::<u64>()
        .ok()
        .filter(|_| multiplier > 0)
        .and_then(|n| n.checked_mul(multiplier));
    match bytes {
        Some(bytes) if bytes >= MIN_MEMORY => Ok(bytes),
        Some(_) => bail!(Failure::new(
            USAGE,
            format!("memory limit '{text}' is too small: the least is 6m")
        )),
        None => bail!(Failure::new(
            USAGE,
            format!(
                "invalid memory limit '{text}': expected a number with b, k, m or g, as in 64m"
            )
        )),
    }
}

/// `--cpus`: more than 0, at most the number of CPUs this machine has.
pub fn parse_cpus(text: &str) -> Result<f64> {
    let online = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    match text.trim().parse::<f64>() {
        Ok(cpus) if cpus >= 0.01 && cpus <= online => Ok(cpus),
        _ => bail!(Failure::new(
            USAGE,
            format!("invalid --cpus '{text}': expected a number from 0.01 to {online}")
        )),
    }
}

/// `--cpu-shares`: the range of cgroup v1's cpu.shares.
pub fn parse_cpu_shares(text: &str) -> Result<u64> {
    match text.trim().parse::<u64>() {
        Ok(shares) if (2..=262_144).contains(&shares) => Ok(shares),
        _ => bail!(Failure::new(
            USAGE,
            format!("invalid --cpu-shares '{text}': expected a number from 2 to 262144")
        )),
    }
}

/// `--pids-limit`: at least 1 (the command itself).
pub fn parse_pids(text: &str) -> Result<i64> {
    match text.trim().parse::<i64>() {
        Ok(pids) if pids >= 1 => Ok(pids),
        _ => bail!(Failure::new(
            USAGE,
            format!("invalid --pids-limit '{text}': expected a number of processes, 1 or more")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_read_like_dockers() {
        assert_eq!(parse_memory("64m").unwrap(), 64 << 20);
        assert_eq!(parse_memory("1G").unwrap(), 1 << 30);
        assert_eq!(parse_memory("8192k").unwrap(), 8 << 20);
        assert_eq!(parse_memory("10000000").unwrap(), 10_000_000);
        for bad in ["", "m", "12x", "-5m", "5m5", "1k"] {
            assert!(parse_memory(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cpu_and_pid_limits_stay_in_their_ranges() {
        assert_eq!(parse_cpus("0.5").unwrap(), 0.5);
        assert!(parse_cpus("0").is_err() && parse_cpus("lots").is_err());
        assert!(parse_cpus("100000").is_err());
        assert_eq!(parse_cpu_shares("512").unwrap(), 512);
        assert!(parse_cpu_shares("1").is_err() && parse_cpu_shares("300000").is_err());
        assert_eq!(parse_pids("10").unwrap(), 10);
        assert!(parse_pids("0").is_err());
    }

    #[test]
    fn an_update_keeps_what_it_does_not_change() {
        let old = Limits {
            memory: Some(64 << 20),
            pids: Some(10),
            ..Limits::default()
        };
        let new = old.updated_with(&Limits {
            pids: Some(20),
            ..Limits::default()
        });
        assert_eq!((new.memory, new.pids), (Some(64 << 20), Some(20)));
    }
}
