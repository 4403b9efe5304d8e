//! Tries the system calls chapter 8's seccomp filter refuses, each with
//! harmless arguments, and prints what the kernel answered. For the lesson
//! and the tests of chapter 8. Build it as a static program:
//!
//! ```text
//! rustc -O -C target-feature=+crt-static chapters/08-security/attacks/dangerous_calls.rs -o /tmp/dangerous-calls
//! ```
//!
//! Each line is `NAME: ok` or `NAME: ERRNO`. Inside a container with the
//! default profile, every one says EPERM, but cachestat: a call newer than
//! the profile says ENOSYS. The arguments make sure that a
//! call the filter lets through does nothing: an empty mount target that
//! does not exist, a descriptor that is not open, a keyring looked up but
//! never created, a reboot without the magic numbers.

use std::ffi::CString;
use std::io::Error;

extern "C" {
    fn syscall(number: i64, ...) -> i64;
    fn _exit(code: i32) -> !;
}

#[cfg(target_arch = "x86_64")]
mod nr {
    pub const MOUNT: i64 = 165;
    pub const UMOUNT2: i64 = 166;
    pub const PIVOT_ROOT: i64 = 155;
    pub const UNSHARE: i64 = 272;
    pub const SETNS: i64 = 308;
    pub const CLONE: i64 = 56;
    pub const KEYCTL: i64 = 250;
    pub const OPEN_BY_HANDLE_AT: i64 = 304;
    pub const INIT_MODULE: i64 = 175;
    pub const KEXEC_LOAD: i64 = 246;
    pub const BPF: i64 = 321;
    pub const REBOOT: i64 = 169;
    pub const PERSONALITY: i64 = 135;
}

#[cfg(target_arch = "aarch64")]
mod nr {
    pub const MOUNT: i64 = 40;
    pub const UMOUNT2: i64 = 39;
    pub const PIVOT_ROOT: i64 = 41;
    pub const UNSHARE: i64 = 97;
    pub const SETNS: i64 = 268;
    pub const CLONE: i64 = 220;
    pub const KEYCTL: i64 = 219;
    pub const OPEN_BY_HANDLE_AT: i64 = 265;
    pub const INIT_MODULE: i64 = 105;
    pub const KEXEC_LOAD: i64 = 104;
    pub const BPF: i64 = 280;
    pub const REBOOT: i64 = 142;
    pub const PERSONALITY: i64 = 92;
}

/// Calls added to Linux after 5.0 have the same number everywhere.
const IO_URING_SETUP: i64 = 425;
/// Linux 6.5: newer than the profiles, which do not name it.
const CACHESTAT: i64 = 451;

const CLONE_NEWNS: i64 = 0x0002_0000;
/// A personality no program of a container needs: BSD's system calls.
const PER_BSD: i64 = 0x0006;
const CLONE_NEWUTS: i64 = 0x0400_0000;
/// A user namespace needs no capability at all: only the filter can
/// refuse this one.
const CLONE_NEWUSER: i64 = 0x1000_0000;
const SIGCHLD: i64 = 17;
const KEYCTL_GET_KEYRING_ID: i64 = 0;
const KEY_SPEC_SESSION_KEYRING: i64 = -3;

fn report(name: &str, result: i64) {
    if result >= 0 {
        println!("{name}: ok");
    } else {
        let errno = Error::last_os_error().raw_os_error().unwrap_or(0);
        let text = match errno {
            1 => "EPERM".to_string(),
            2 => "ENOENT".to_string(),
            9 => "EBADF".to_string(),
            14 => "EFAULT".to_string(),
            22 => "EINVAL".to_string(),
            38 => "ENOSYS".to_string(),
            other => format!("errno {other}"),
        };
        println!("{name}: {text}");
    }
}

fn main() {
    let missing = CString::new("/no-such-directory-here").unwrap();
    let tmpfs = CString::new("tmpfs").unwrap();
    // SAFETY of all the calls below: every pointer is to a live C string or
    // null, and the arguments ask for nothing that could change anything if
    // the call were allowed.
    unsafe {
        report("mount", syscall(nr::MOUNT, tmpfs.as_ptr(), missing.as_ptr(), tmpfs.as_ptr(), 0i64, 0i64));
        report("umount2", syscall(nr::UMOUNT2, missing.as_ptr(), 0i64));
        report("pivot_root", syscall(nr::PIVOT_ROOT, missing.as_ptr(), missing.as_ptr()));
        report("unshare", syscall(nr::UNSHARE, CLONE_NEWNS));
        report("setns", syscall(nr::SETNS, -1i64, 0i64));
        let pid = syscall(nr::CLONE, CLONE_NEWUTS | SIGCHLD, 0i64, 0i64, 0i64, 0i64);
        if pid == 0 {
            _exit(0); // the child of a clone that was allowed: leave at once
        }
        report("clone(CLONE_NEWUTS)", pid);
        let pid = syscall(nr::CLONE, CLONE_NEWUSER | SIGCHLD, 0i64, 0i64, 0i64, 0i64);
        if pid == 0 {
            _exit(0);
        }
        report("clone(CLONE_NEWUSER)", pid);
        report("keyctl", syscall(nr::KEYCTL, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0i64));
        report("open_by_handle_at", syscall(nr::OPEN_BY_HANDLE_AT, -1i64, 0i64, 0i64));
        report("init_module", syscall(nr::INIT_MODULE, 0i64, 0i64, tmpfs.as_ptr()));
        report("kexec_load", syscall(nr::KEXEC_LOAD, 0i64, 0i64, 0i64, 0i64));
        report("bpf", syscall(nr::BPF, -1i64, 0i64, 0i64));
        report("reboot", syscall(nr::REBOOT, 0i64, 0i64, 0i64, 0i64));
        report("io_uring_setup", syscall(IO_URING_SETUP, 0i64, 0i64));
        report("personality(PER_BSD)", syscall(nr::PERSONALITY, PER_BSD));
        // The last of personality's five rules: 0xffffffff only asks
        // for the current persona, and is allowed.
        report("personality(query)", syscall(nr::PERSONALITY, PERSONALITY_QUERY));
        report("cachestat", syscall(CACHESTAT, -1i64, 0i64, 0i64, 0i64));
    }
    #[cfg(target_arch = "x86_64")]
    keyctl_with_i386_numbers();
}

const PERSONALITY_QUERY: i64 = 0xffff_ffff;

/// `int 0x80` makes a call with i386's table of numbers, where 288 is
/// keyctl; in x86_64's, 288 is accept4, which the profile allows. A
/// filter that reads the number without checking the arch lets keyctl
/// through. The filter kills the process instead, so a child tries it.
#[cfg(target_arch = "x86_64")]
fn keyctl_with_i386_numbers() {
    extern "C" {
        fn fork() -> i32;
        fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    }
    const I386_KEYCTL: i32 = 288;
    // SAFETY: the child only makes the call and leaves; the parent waits.
    unsafe {
        let pid = fork();
        if pid == 0 {
            let result: i32;
            // i386 passes arguments in ebx, ecx, edx. (Rust keeps rbx for
            // itself, so the first one is swapped in and out around the call.)
            std::arch::asm!(
                "xchg ebx, {first:e}",
                "int 0x80",
                "xchg ebx, {first:e}",
                first = inout(reg) KEYCTL_GET_KEYRING_ID as i32 => _,
                inlateout("eax") I386_KEYCTL => result,
                in("ecx") KEY_SPEC_SESSION_KEYRING as i32,
                in("edx") 0,
            );
            _exit(if result >= 0 { 0 } else { 1 });
        }
        let mut status = 0;
        waitpid(pid, &mut status, 0);
        let answer = match (status & 0x7f, (status >> 8) & 0xff) {
            (0, 0) => "ok".to_string(),
            (0, _) => "refused".to_string(),
            (31, _) => "killed by SIGSYS".to_string(),
            (signal, _) => format!("killed by signal {signal}"),
        };
        println!("keyctl(i386 numbers): {answer}");
    }
}
