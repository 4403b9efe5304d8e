//! Friendly reports for unfinished exercises.
//!
//! An exercise file contains `todo!("…")`. When the frame reaches it, Rust
//! panics. Instead of a backtrace we print one line that names the file and
//! line to edit, for example:
//!
//! ```text
//! bocker: unfinished exercise at chapters/01-chroot/chroot.rs:20:5: not yet implemented: chapter 1: …
//! ```
//!
//! Code that runs a step through [`catch_panic`] gets the line back as an
//! error instead: the container's child process, whose stderr belongs to
//! the container, sends it to the parent; `run` records the failed start
//! before it prints the line.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static CAPTURING: AtomicBool = AtomicBool::new(false);
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Report an unfinished exercise in one line. Any other panic is a bug:
/// it gets Rust's usual report (with a backtrace if RUST_BACKTRACE asks for
/// one), except in a step run by [`catch_panic`], where one line must
/// travel to the parent.
pub fn install_panic_hook() {
    let default_report = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        let message = payload_text(info.payload());
        let unfinished = message.starts_with("not yet implemented");
        let capturing = CAPTURING.load(Ordering::SeqCst);
        if !unfinished && !capturing {
            default_report(info);
            return;
        }
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", tidy_path(l.file()), l.line(), l.column()))
            .unwrap_or_else(|| "an unknown place".to_string());
        let line = if unfinished {
            format!("unfinished exercise at {location}: {message}")
        } else {
            format!("internal error at {location}: {message}")
        };
        if capturing {
            if let Ok(mut slot) = LAST_PANIC.lock() {
                *slot = Some(line);
            }
        } else {
            eprintln!("bocker: {line}");
        }
    }));
}

/// Run `step`, turning a panic into an `Err` with the hook's one-line report.
pub fn catch_panic<T>(step: impl FnOnce() -> T) -> Result<T, String> {
    let was_capturing = CAPTURING.swap(true, Ordering::SeqCst);
    let result = panic::catch_unwind(AssertUnwindSafe(step));
    CAPTURING.store(was_capturing, Ordering::SeqCst);
    result.map_err(|payload| {
        LAST_PANIC
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
            .unwrap_or_else(|| payload_text(payload.as_ref()))
    })
}

/// Run a step that is the student's code, in the parent: an unfinished
/// exercise (a todo!() panic) becomes an error with the one-line report
/// and exit code `code`, instead of a crash. The step's own errors pass
/// through as they are.
pub fn yours<T>(code: u8, step: impl FnOnce() -> anyhow::Result<T>) -> anyhow::Result<T> {
    catch_panic(step).map_err(|report| crate::errors::Failure::new(code, report))?
}

fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// `src/course/../../chapters/01-chroot/chroot.rs` reads better as
/// `chapters/01-chroot/chroot.rs`: resolve the `..` by hand.
fn tidy_path(file: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in file.split('/') {
        match part {
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            "." => {}
            other => parts.push(other),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chapter_paths_are_shown_from_the_crate_root() {
        assert_eq!(
            tidy_path("src/runtime/process/../../../chapters/01-chroot/chroot.rs"),
            "chapters/01-chroot/chroot.rs"
        );
        assert_eq!(tidy_path("src/main.rs"), "src/main.rs");
    }

    #[test]
    fn a_caught_panic_becomes_its_one_line_report() {
        install_panic_hook();
        let report = catch_panic(|| -> u8 { todo!("chapter 9: write me") }).unwrap_err();
        assert!(
            report.starts_with("unfinished exercise at src/course/exercise.rs:"),
            "{report}"
        );
        assert!(
            report.ends_with("not yet implemented: chapter 9: write me"),
            "{report}"
        );
    }
}
