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

/// Replace Rust's default panic message by a one-line report.
pub fn install_panic_hook() {
    panic::set_hook(Box::new(|info| {
        let message = payload_text(info.payload());
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", tidy_path(l.file()), l.line(), l.column()))
            .unwrap_or_else(|| "an unknown place".to_string());
        let line = if message.starts_with("not yet implemented") {
            format!("unfinished exercise at {location}: {message}")
        } else {
            format!("internal error at {location}: {message}")
        };
        if CAPTURING.load(Ordering::SeqCst) {
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

fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text.to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// `src/../chapters/01-chroot/chroot.rs` reads better as `chapters/01-chroot/chroot.rs`.
fn tidy_path(file: &str) -> &str {
    file.strip_prefix("src/../").unwrap_or(file)
}
