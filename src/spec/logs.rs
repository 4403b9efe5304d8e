//! How much of a container's output its log keeps: `run --log-opt
//! max-size=10m --log-opt max-file=3`, as Docker's json-file driver reads
//! them.
//!
//! A container can print without end; its log must not fill the disk. When
//! the log reaches `max-size`, it is *rotated*: `container.log` becomes
//! `container.log.1` (the older `.1` becomes `.2`, and so on), a new
//! `container.log` begins, and files beyond `max-file` are deleted. So a
//! container's logs never take more than `max-size` × `max-file`.

use serde::{Deserialize, Serialize};

use crate::errors::{Failure, USAGE};

/// The size and number of a container's log files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogOptions {
    /// Bytes a log file may reach before it is rotated.
    pub max_size: u64,
    /// How many files are kept, the current one included (at least 1).
    pub max_files: u32,
}

/// bocker's default: at most 30 MiB of log per container (Docker's
/// json-file keeps everything unless told; a course machine's disk is
/// better served by a cap, the one Docker's documentation suggests).
impl Default for LogOptions {
    fn default() -> LogOptions {
        LogOptions {
            max_size: 10 << 20,
            max_files: 3,
        }
    }
}

impl LogOptions {
    /// The options `--log-opt KEY=VALUE` gives, over the defaults.
    pub fn parse(given: &[String]) -> Result<LogOptions, Failure> {
        let mut options = LogOptions::default();
        for option in given {
            let invalid = |why: &str| {
                Failure::new(
                    USAGE,
                    format!("invalid --log-opt '{option}': {why} (max-size=10m, max-file=3)"),
                )
            };
            let Some((key, value)) = option.split_once('=') else {
                return Err(invalid("expected KEY=VALUE"));
            };
            match key {
                "max-size" => {
                    options.max_size = parse_size(value)
                        .filter(|size| *size >= 1024)
                        .ok_or_else(|| invalid("a size of at least 1k, with k, m or g"))?
                }
                "max-file" => {
                    options.max_files = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=100).contains(n))
                        .ok_or_else(|| invalid("a number of files from 1 to 100"))?
                }
                _ => return Err(invalid("bocker knows max-size and max-file")),
            }
        }
        Ok(options)
    }
}

/// `10m` → 10485760: a number, then b, k, m or g (powers of 1024).
fn parse_size(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (digits, unit) = lower.split_at(digits_end);
    let multiplier: u64 = match unit {
        "" | "b" => 1,
        "k" | "kb" => 1 << 10,
        "m" | "mb" => 1 << 20,
        "g" | "gb" => 1 << 30,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(multiplier)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn log_options_read_like_dockers() {
        assert_eq!(LogOptions::parse(&[]).unwrap(), LogOptions::default());
        let options = LogOptions::parse(&words(&["max-size=1k", "max-file=2"])).unwrap();
        assert_eq!(
            options,
            LogOptions {
                max_size: 1024,
                max_files: 2
            }
        );
        assert_eq!(
            LogOptions::parse(&words(&["max-size=5m"]))
                .unwrap()
                .max_size,
            5 << 20
        );
        for wrong in [
            "max-size=10x",
            "max-size=10",
            "max-file=0",
            "mode=x",
            "max-size",
        ] {
            assert!(
                LogOptions::parse(&words(&[wrong])).is_err(),
                "{wrong} should be refused"
            );
        }
    }
}
