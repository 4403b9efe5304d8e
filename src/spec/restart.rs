//! `run --restart POLICY`: whether a container's keeper starts it again
//! when its command ends, as Docker's restart policies say.
//!
//! | policy              | starts it again when…                             |
//! |---------------------|---------------------------------------------------|
//! | `no` (the default)  | never                                             |
//! | `on-failure[:N]`    | the exit code is not 0 (at most N times)          |
//! | `always`            | always                                            |
//! | `unless-stopped`    | always (Docker's differs from `always` only when   |
//! |                     | its daemon starts; bocker has no daemon)          |
//!
//! A container stopped by `bocker stop` is never started again: the user
//! asked for it to end. `kill` is not a stop: the policy applies.
//!
//! Between two starts the keeper waits, as Docker does: 100 ms, twice as
//! long after each start in a row, at most a minute; a run of ten seconds
//! or more starts the count again.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    #[default]
    No,
    OnFailure {
        /// At most this many starts again; none: no limit.
        max: Option<u32>,
    },
    Always,
    UnlessStopped,
}

impl RestartPolicy {
    /// `--restart no|on-failure[:N]|always|unless-stopped`.
    pub fn parse(text: &str) -> Result<RestartPolicy, String> {
        let invalid = || {
            format!("invalid --restart '{text}': use no, on-failure[:N], always or unless-stopped")
        };
        match text.split_once(':') {
            None => match text {
                "no" => Ok(RestartPolicy::No),
                "on-failure" => Ok(RestartPolicy::OnFailure { max: None }),
                "always" => Ok(RestartPolicy::Always),
                "unless-stopped" => Ok(RestartPolicy::UnlessStopped),
                _ => Err(invalid()),
            },
            Some(("on-failure", max)) => match max.parse::<u32>() {
                Ok(max) if max > 0 => Ok(RestartPolicy::OnFailure { max: Some(max) }),
                _ => Err(invalid()),
            },
            Some(_) => Err(invalid()),
        }
    }

    /// Does a container that ended with `exit_code`, and was started
    /// again `restarts` times already, start again?
    pub fn starts_again(&self, exit_code: i32, restarts: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match self {
            RestartPolicy::No => false,
            RestartPolicy::OnFailure { max } => {
                exit_code != 0 && max.is_none_or(|max| restarts < max)
            }
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
        }
    }
}

/// As `--restart` takes it.
impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestartPolicy::No => f.write_str("no"),
            RestartPolicy::OnFailure { max: None } => f.write_str("on-failure"),
            RestartPolicy::OnFailure { max: Some(max) } => write!(f, "on-failure:{max}"),
            RestartPolicy::Always => f.write_str("always"),
            RestartPolicy::UnlessStopped => f.write_str("unless-stopped"),
        }
    }
}

/// How long to wait before the next start: twice the last wait (100 ms
/// the first time), at most a minute; after a run of `ran` of ten seconds
/// or more, 100 ms again.
pub fn next_delay(last: Option<Duration>, ran: Duration) -> Duration {
    const FIRST: Duration = Duration::from_millis(100);
    const MOST: Duration = Duration::from_secs(60);
    match last {
        Some(last) if ran < Duration::from_secs(10) => (last * 2).min(MOST),
        _ => FIRST,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_read_as_docker_writes_them() {
        for text in [
            "no",
            "on-failure",
            "on-failure:3",
            "always",
            "unless-stopped",
        ] {
            assert_eq!(RestartPolicy::parse(text).unwrap().to_string(), text);
        }
        for bad in ["sometimes", "on-failure:0", "on-failure:x", "always:2", ""] {
            let error = RestartPolicy::parse(bad).unwrap_err();
            assert!(error.contains("invalid --restart"), "{bad}: {error}");
        }
    }

    #[test]
    fn who_starts_again() {
        let on_failure_2 = RestartPolicy::OnFailure { max: Some(2) };
        assert!(on_failure_2.starts_again(1, 0, false));
        assert!(on_failure_2.starts_again(137, 1, false));
        assert!(!on_failure_2.starts_again(1, 2, false), "at most twice");
        assert!(
            !on_failure_2.starts_again(0, 0, false),
            "not after a success"
        );
        assert!(RestartPolicy::Always.starts_again(0, 50, false));
        assert!(
            !RestartPolicy::Always.starts_again(0, 0, true),
            "stopped by the user"
        );
        assert!(!RestartPolicy::No.starts_again(1, 0, false));
    }

    #[test]
    fn the_wait_doubles_up_to_a_minute_and_starts_again_after_a_long_run() {
        let short = Duration::from_secs(1);
        let mut delay = next_delay(None, short);
        assert_eq!(delay, Duration::from_millis(100));
        delay = next_delay(Some(delay), short);
        assert_eq!(delay, Duration::from_millis(200));
        for _ in 0..20 {
            delay = next_delay(Some(delay), short);
        }
        assert_eq!(delay, Duration::from_secs(60));
        assert_eq!(
            next_delay(Some(delay), Duration::from_secs(10)),
            Duration::from_millis(100)
        );
    }
}
