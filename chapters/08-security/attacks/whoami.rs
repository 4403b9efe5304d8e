//! Prints the user ids a process runs with: `uid=… euid=…`. For chapter
//! 8: installed set-user-ID root in an image and run as another user, it
//! shows whether execve made it root (euid=0) or not (no_new_privs).
//! Build it as a static program:
//!
//! ```text
//! rustc -O -C target-feature=+crt-static chapters/08-security/attacks/whoami.rs -o /tmp/whoami
//! ```

extern "C" {
    fn getuid() -> u32;
    fn geteuid() -> u32;
}

fn main() {
    // SAFETY: getuid and geteuid cannot fail and touch no memory of ours.
    let (uid, euid) = unsafe { (getuid(), geteuid()) };
    println!("uid={uid} euid={euid}");
}
