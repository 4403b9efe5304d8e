//! The course's test suites, as the pages show them. The one place that
//! knows how a stage's tests are built and run, and which lines of their
//! output a page keeps.
//!
//! The tests are one test binary, `tests/course/main.rs`, with a module
//! per stage (`stage5_network`, …). A stage's suite is that binary built by
//! `cargo test --no-run --features F --test course` ([`cargo_build`]),
//! found among cargo's messages ([`suite_executable`]) and run ([`run`])
//! with the module's name as the filter, against a copy of the bocker it
//! was built with: as a student's `cargo test --features F stage5_network`
//! runs it. The pages show its output as it is: test names with their
//! module, and the other stages' tests counted as `filtered out`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Result};
use regex::Regex;

/// The one test binary, `tests/course/main.rs`.
const TEST_BINARY: &str = "course";

/// Each stage's module of it, by stage number (0: the frame's, which
/// needs no chapter).
const MODULES: [&str; 9] = [
    "frame",
    "stage1_chroot",
    "stage2_namespaces",
    "stage3_mounts",
    "stage4_cgroups",
    "stage5_network",
    "stage6_btrfs",
    "stage7_pull",
    "stage8_security",
];

/// Build stage `stage`'s test suite with `features`, and so the bocker
/// binary it drives: `cargo test --no-run`, its artifacts as JSON on
/// stdout (see [`suite_executable`] and builds.rs).
pub fn cargo_build(cargo: &Path, features: &[String], stage: u8) -> Command {
    let mut command = Command::new(cargo);
    command.args([
        "test",
        "--no-run",
        "--quiet",
        "--message-format=json-render-diagnostics",
    ]);
    if !features.is_empty() {
        command.args(["--features", &features.join(",")]);
    }
    let _ = stage; // one binary for every stage; run() picks the module
    command.args(["--test", TEST_BINARY]);
    command.env("CARGO_TERM_COLOR", "never");
    command
}

/// The test binary of stage `stage`'s suite among cargo's JSON messages.
pub fn suite_executable(json: &str, stage: u8) -> Option<PathBuf> {
    let target =
        format!(r#""target":{{"kind":["test"],"crate_types":["bin"],"name":"{TEST_BINARY}""#);
    let _ = stage;
    let executable = Regex::new(r#""executable":"([^"]+)""#).ok()?;
    json.lines()
        .filter(|line| line.contains(&target))
        .find_map(|line| executable.captures(line).map(|c| PathBuf::from(&c[1])))
}

/// Run stage `stage`'s test binary as `cargo test` would (from the
/// project's folder, as root), against `bocker`: the tests' support code
/// runs the binary that BOCKER_UNDER_TEST names (as scripts/v2-guest.sh
/// does), not target/debug/bocker, which the next build replaces
/// meanwhile.
pub fn run(executable: &Path, stage: u8, bocker: &Path, repo: &Path, cargo: &Path) -> Command {
    let mut command = Command::new(executable);
    command.args(filter(stage));
    // 16 at a time, as scripts/test.sh runs the reference's tests: they
    // are written to be independent, and most of their time is waiting
    // for containers.
    command.arg("--test-threads=16");
    command
        .current_dir(repo)
        .env("BOCKER_UNDER_TEST", bocker)
        .env("CARGO_BIN_EXE_bocker", bocker)
        .env("CARGO_MANIFEST_DIR", repo)
        .env("INSTA_WORKSPACE_ROOT", repo)
        .env("CARGO", cargo)
        // Output to parse: no backtraces (a panic's note is dropped
        // below; a backtrace would land in the transcript), no snapshot
        // files written next to the tests.
        .env("RUST_BACKTRACE", "0")
        .env("INSTA_UPDATE", "no");
    command
}

/// Which of the binary's tests stage `stage`'s suite is: its module's,
/// `stage5_network::` (as a filter, a name's beginning is enough).
fn filter(stage: u8) -> Option<String> {
    Some(format!("{}::", MODULES[stage as usize]))
}

/// A test's name as the pages show it: as the test binary prints it.
fn test_name(name: &str) -> &str {
    name
}

/// Whether a run's summary says `test result: ok` (`want_ok`) or
/// `test result: FAILED`.
pub fn result_is(raw: &str, want_ok: bool) -> bool {
    let want = if want_ok {
        "test result: ok."
    } else {
        "test result: FAILED."
    };
    raw.lines().any(|line| line.starts_with(want))
}

/// The stable part of a passing run: the count, the tests (sorted: they
/// run in parallel and are listed as they finish), and the summary
/// without its timing.
pub fn passing(raw: &str) -> String {
    let mut out = String::new();
    for line in raw.lines().filter(|line| is_running_line(line)) {
        out.push_str(line);
        out.push('\n');
    }
    let mut tests: Vec<String> = raw
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("test ")?;
            let (name, result) = rest.split_once(" ... ")?;
            Some(format!("test {} ... {result}", test_name(name)))
        })
        .collect();
    tests.sort();
    for line in tests {
        out.push_str(&line);
        out.push('\n');
    }
    out.push('\n');
    // (Its `filtered out` count is the other stages' tests: how many
    // depends on the features built, so a student's differs.)
    for line in raw.lines().filter(|line| line.starts_with("test result:")) {
        out.push_str(&without_filtered_count(&untimed(line)));
        out.push('\n');
    }
    out
}

fn is_running_line(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("running ") else {
        return false;
    };
    let Some((count, word)) = rest.split_once(' ') else {
        return false;
    };
    !count.is_empty()
        && count.bytes().all(|b| b.is_ascii_digit())
        && (word == "test" || word == "tests")
}

/// `; 154 filtered out;` → `; … filtered out;`.
fn without_filtered_count(line: &str) -> String {
    let Some((before, after)) = line.split_once(" filtered out") else {
        return line.to_string();
    };
    match before.rsplit_once("; ") {
        Some((head, count)) if !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{head}; … filtered out{after}")
        }
        _ => line.to_string(),
    }
}

/// `finished in 1.23s` → `finished in …`.
fn untimed(line: &str) -> String {
    match line.split_once("finished in ") {
        Some((before, after)) => {
            let timing_end = after
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .filter(|&end| end > 0 && after[end..].starts_with('s'))
                .map(|end| end + 1);
            match timing_end {
                Some(end) => format!("{before}finished in …{}", &after[end..]),
                None => line.to_string(),
            }
        }
        None => line.to_string(),
    }
}

/// One failing test of a failed run: its own output (the block cargo
/// prints under `---- NAME stdout ----`), the list of failures and the
/// summary, without cargo's note about RUST_BACKTRACE, timing hidden and
/// runs of blank lines squeezed to one.
pub fn failing(raw: &str, want: &str) -> Result<String> {
    let mut out = Vec::new();
    let (mut in_block, mut in_tail, mut failures_seen) = (false, false, 0);
    for line in raw.lines() {
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"))
        {
            in_block = test_name(name) == want;
        }
        if line == "failures:" {
            failures_seen += 1;
            if failures_seen == 2 {
                in_block = false;
                in_tail = true;
            }
        }
        if line.starts_with("note: run with `RUST_BACKTRACE=1`") {
            continue;
        }
        if in_block || in_tail {
            // (A block names the test with its module, `---- stage1_
            // chroot::NAME stdout ----`, and so does the list of failures.)
            out.push(untimed(line));
        }
        if in_tail && line.starts_with("test result:") {
            break;
        }
    }
    let mut squeezed = String::new();
    let mut blank = false;
    for line in out {
        if line.is_empty() && blank {
            continue;
        }
        blank = line.is_empty();
        squeezed.push_str(&line);
        squeezed.push('\n');
    }
    if !squeezed.starts_with(&format!("---- {want} stdout ----")) {
        bail!("no failure of {want} in the test run's output");
    }
    Ok(squeezed)
}

/// The first `bocker: unfinished exercise` line of a run: the report of
/// the first todo!() that the untouched exercise reached.
pub fn first_todo_line(raw: &str) -> Option<&str> {
    raw.lines()
        .find(|line| line.starts_with("bocker: unfinished exercise"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSED: &str = "\
running 3 tests
test the_pid_is_1 ... ok
test a_hostname_of_its_own ... ok
test exec_joins_the_namespaces ... ok

test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 2.53s

";

    #[test]
    fn passing_keeps_the_count_the_sorted_tests_and_a_summary_without_time_or_filtered_count() {
        assert_eq!(
            passing(PASSED),
            "running 3 tests\n\
             test a_hostname_of_its_own ... ok\n\
             test exec_joins_the_namespaces ... ok\n\
             test the_pid_is_1 ... ok\n\
             \n\
             test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; … filtered out; finished in …\n"
        );
        assert!(result_is(PASSED, true));
        assert!(!result_is(PASSED, false));
    }

    const FAILED: &str = "\
running 2 tests
test b_second ... FAILED
test a_first ... FAILED

failures:

---- a_first stdout ----

thread 'a_first' (123) panicked at tests/stage1_chroot.rs:75:15:
bocker: unfinished exercise at chapters/01-chroot/chroot.rs:20:5: not yet implemented
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace


---- b_second stdout ----
something else

failures:
    a_first
    b_second

test result: FAILED. 0 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.52s
";

    #[test]
    fn failing_keeps_one_block_the_list_and_the_summary() {
        assert_eq!(
            failing(FAILED, "a_first").unwrap(),
            "---- a_first stdout ----\n\
             \n\
             thread 'a_first' (123) panicked at tests/stage1_chroot.rs:75:15:\n\
             bocker: unfinished exercise at chapters/01-chroot/chroot.rs:20:5: not yet implemented\n\
             \n\
             failures:\n    a_first\n    b_second\n\
             \n\
             test result: FAILED. 0 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in …\n"
        );
        assert!(failing(FAILED, "c_third").is_err());
        assert!(result_is(FAILED, false));
    }

    #[test]
    fn the_suite_among_cargo_messages() {
        let json = r#"{"reason":"compiler-artifact","target":{"kind":["bin"],"crate_types":["bin"],"name":"bocker"},"executable":"/p/target/debug/bocker"}
{"reason":"compiler-artifact","target":{"kind":["test"],"crate_types":["bin"],"name":"course","src_path":"/p/tests/course/main.rs"},"executable":"/p/target/debug/deps/course-1"}"#;
        assert_eq!(
            suite_executable(json, 3),
            Some(PathBuf::from("/p/target/debug/deps/course-1"))
        );
        assert_eq!(suite_executable(json.lines().next().unwrap(), 3), None);
        assert_eq!(filter(3).as_deref(), Some("stage3_mounts::"));
    }

    #[test]
    fn the_first_todo_line() {
        assert_eq!(
            first_todo_line(FAILED),
            Some("bocker: unfinished exercise at chapters/01-chroot/chroot.rs:20:5: not yet implemented")
        );
    }

    #[test]
    fn the_filtered_count_is_hidden_only_where_it_is() {
        assert_eq!(
            without_filtered_count("test result: ok. 13 passed; 0 failed; 0 ignored; 0 measured; 154 filtered out; finished in …"),
            "test result: ok. 13 passed; 0 failed; 0 ignored; 0 measured; … filtered out; finished in …"
        );
        assert_eq!(
            without_filtered_count("ok; none filtered out"),
            "ok; none filtered out"
        );
        assert_eq!(without_filtered_count("no count here"), "no count here");
    }

    #[test]
    fn timings_are_hidden_only_where_they_are() {
        assert_eq!(untimed("ok; finished in 12.07s"), "ok; finished in …");
        assert_eq!(untimed("no timing here"), "no timing here");
        assert_eq!(untimed("finished in the end"), "finished in the end");
        assert_eq!(untimed("finished in s"), "finished in s");
    }
}
