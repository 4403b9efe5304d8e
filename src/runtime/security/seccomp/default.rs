//! bocker's default seccomp profile: an allow-list, as Docker's default.
//!
//! Every call not listed here fails with EPERM, and a call newer than the
//! profile (a number above the highest it names) with ENOSYS, so that a
//! new C library falls back to the older call it replaces. A deny-list
//! does it the other way round, and so lets through every call its authors
//! did not think of, and every call added to the kernel since.
//!
//! The calls, grouped by what they are for, are those Docker's default
//! profile allows (moby's profiles/seccomp/default.json, the version
//! Debian 12 ships), with one difference: io_uring. Its three calls give a
//! process a second way to do nearly every kind of I/O, through rings of
//! memory shared with the kernel, and they have been the way in of many
//! kernel exploits; Docker's own profile dropped them in 2023 (moby 25),
//! ChromeOS and Android refuse them too. A container that needs them gets
//! them with `--security-opt seccomp=FILE`.

use crate::spec::seccomp::{
    ArgCheck, CompareOp, Conditions, RuleAction, SeccompProfile, SyscallRule,
};

/// Files and directories: open, read, write, list, change.
const FILES: &[&str] = &[
    "access",
    "chdir",
    "chmod",
    "chown",
    "close",
    "close_range",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fallocate",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchown",
    "fchownat",
    "fcntl",
    "fdatasync",
    "flock",
    "fstat",
    "fstatfs",
    "fsync",
    "ftruncate",
    "futimesat",
    "getcwd",
    "getdents",
    "getdents64",
    "ioctl",
    "lchown",
    "link",
    "linkat",
    "lseek",
    "lstat",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "newfstatat",
    "open",
    "openat",
    "openat2",
    "pread64",
    "preadv",
    "preadv2",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "rename",
    "renameat",
    "renameat2",
    "rmdir",
    "sendfile",
    "splice",
    "stat",
    "statfs",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "tee",
    "truncate",
    "umask",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimes",
    "vmsplice",
    "write",
    "writev",
];

/// Extended attributes of files.
const XATTRS: &[&str] = &[
    "fgetxattr",
    "flistxattr",
    "fremovexattr",
    "fsetxattr",
    "getxattr",
    "lgetxattr",
    "listxattr",
    "llistxattr",
    "lremovexattr",
    "lsetxattr",
    "removexattr",
    "setxattr",
];

/// Being told when files change.
const WATCHING: &[&str] = &[
    "fanotify_mark",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
];

/// Pipes, and waiting: on many descriptors, on events, on futexes.
const WAITING: &[&str] = &[
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "futex",
    "futex_waitv",
    "pipe",
    "pipe2",
    "poll",
    "ppoll",
    "pselect6",
    "select",
    "signalfd",
    "signalfd4",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_settime",
];

/// Linux's older asynchronous I/O (not io_uring: see above).
const ASYNC_IO: &[&str] = &[
    "io_cancel",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_setup",
    "io_submit",
];

/// Memory: mapping, protecting, locking.
const MEMORY: &[&str] = &[
    "brk",
    "madvise",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mprotect",
    "mremap",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "remap_file_pages",
];

/// Processes and threads: start, end, wait, signal, know oneself. (clone
/// and clone3 come with conditions, below.)
const PROCESSES: &[&str] = &[
    "capget",
    "capset",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "fork",
    "get_robust_list",
    "get_thread_area",
    "getcpu",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getrusage",
    "getsid",
    "gettid",
    "kill",
    "pidfd_open",
    "pidfd_send_signal",
    "prctl",
    "process_mrelease",
    "restart_syscall",
    "rseq",
    "seccomp",
    "set_robust_list",
    "set_thread_area",
    "set_tid_address",
    "setpgid",
    "setsid",
    "tgkill",
    "times",
    "tkill",
    "vfork",
    "wait4",
    "waitid",
];

/// Users and groups: who the process is (capabilities decide who it may
/// become).
const USERS: &[&str] = &[
    "getegid",
    "geteuid",
    "getgid",
    "getgroups",
    "getresgid",
    "getresuid",
    "getuid",
    "setfsgid",
    "setfsuid",
    "setgid",
    "setgroups",
    "setregid",
    "setresgid",
    "setresuid",
    "setreuid",
    "setuid",
];

/// Signals.
const SIGNALS: &[&str] = &[
    "alarm",
    "pause",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_tgsigqueueinfo",
    "sigaltstack",
];

/// Scheduling, priorities and resource limits (the cgroup bounds them).
const SCHEDULING: &[&str] = &[
    "getpriority",
    "getrlimit",
    "ioprio_get",
    "ioprio_set",
    "prlimit64",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "setpriority",
    "setrlimit",
];

/// Clocks and timers. (Setting the clock needs CAP_SYS_TIME, below;
/// adjtimex and clock_adjtime only read it without that capability.)
const TIME: &[&str] = &[
    "adjtimex",
    "clock_adjtime",
    "clock_getres",
    "clock_gettime",
    "clock_nanosleep",
    "getitimer",
    "gettimeofday",
    "nanosleep",
    "setitimer",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_settime",
];

/// Sockets (the network namespace decides what they reach).
const SOCKETS: &[&str] = &[
    "accept",
    "accept4",
    "bind",
    "connect",
    "getpeername",
    "getsockname",
    "getsockopt",
    "listen",
    "recvfrom",
    "recvmmsg",
    "recvmsg",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setsockopt",
    "shutdown",
    "socket",
    "socketpair",
];

/// System V IPC and POSIX message queues (the IPC namespace keeps them the
/// container's own).
const IPC: &[&str] = &[
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedsend",
    "mq_unlink",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
];

/// About the machine, and a sandbox of one's own (Landlock).
const MISCELLANEOUS: &[&str] = &[
    "getrandom",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "sysinfo",
    "uname",
];

/// Calls a capability makes harmless, allowed only to a container that has
/// it (`--cap-add`): the capability is what the kernel checks, and the
/// filter does not stand in its way.
const WITH_CAPABILITY: &[(&str, &[&str])] = &[
    // Every way to mount, to make or join namespaces (unshare, setns,
    // clone3), to load BPF, to read the kernel's log.
    (
        "CAP_SYS_ADMIN",
        &[
            "bpf",
            "clone",
            "clone3",
            "fanotify_init",
            "fsconfig",
            "fsmount",
            "fsopen",
            "fspick",
            "lookup_dcookie",
            "mount",
            "mount_setattr",
            "move_mount",
            "name_to_handle_at",
            "open_tree",
            "perf_event_open",
            "quotactl",
            "quotactl_fd",
            "setdomainname",
            "sethostname",
            "setns",
            "syslog",
            "umount2",
            "unshare",
        ],
    ),
    ("CAP_DAC_READ_SEARCH", &["open_by_handle_at"]),
    ("CAP_SYS_BOOT", &["reboot"]),
    ("CAP_SYS_CHROOT", &["chroot"]),
    (
        "CAP_SYS_MODULE",
        &["delete_module", "finit_module", "init_module"],
    ),
    ("CAP_SYS_PACCT", &["acct"]),
    (
        "CAP_SYS_PTRACE",
        &[
            "kcmp",
            "pidfd_getfd",
            "process_madvise",
            "process_vm_readv",
            "process_vm_writev",
            "ptrace",
        ],
    ),
    ("CAP_SYS_RAWIO", &["ioperm", "iopl"]),
    ("CAP_SYS_TIME", &["clock_settime", "settimeofday"]),
    ("CAP_SYS_TTY_CONFIG", &["vhangup"]),
    ("CAP_SYS_NICE", &["get_mempolicy", "mbind", "set_mempolicy"]),
    ("CAP_SYSLOG", &["syslog"]),
];

/// The flags that make clone(2) create namespaces (NEWNS, NEWCGROUP,
/// NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET): 0x7E020000.
const NAMESPACE_FLAGS: u64 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u64;

/// The personalities (personality(2)) a program may ask for, from
/// <linux/personality.h>: Linux's own (PER_LINUX, 0), the one `linux32`
/// asks for, where uname says i686 (PER_LINUX32, 0x0008), the one where
/// uname says 2.6 (UNAME26, 0x20000), both (0x20008), and 0xffffffff, which
/// only asks what the personality is. Others change how the kernel treats
/// the process in ways a container has no need for.
const PERSONALITIES: [u64; 5] = [0x0, 0x0008, 0x20000, 0x20008, 0xffff_ffff];

fn allow(names: &[&str]) -> SyscallRule {
    SyscallRule {
        names: names.iter().map(|name| name.to_string()).collect(),
        name: None,
        action: RuleAction::Allow,
        errno_ret: None,
        args: Vec::new(),
        includes: Conditions::default(),
        excludes: Conditions::default(),
    }
}

fn with_capability(capability: &str) -> Conditions {
    Conditions {
        caps: vec![capability.to_string()],
        ..Conditions::default()
    }
}

fn on_arches(arches: &[&str]) -> Conditions {
    Conditions {
        arches: arches.iter().map(|arch| arch.to_string()).collect(),
        ..Conditions::default()
    }
}

/// The profile every container gets, unless `--security-opt` says
/// otherwise.
pub fn profile() -> SeccompProfile {
    let everyday = [
        FILES,
        XATTRS,
        WATCHING,
        WAITING,
        ASYNC_IO,
        MEMORY,
        PROCESSES,
        USERS,
        SIGNALS,
        SCHEDULING,
        TIME,
        SOCKETS,
        IPC,
        MISCELLANEOUS,
    ]
    .concat();
    let mut rules = vec![allow(&everyday)];

    // ptrace of one's own children, from Linux 4.8: before it, a traced
    // process could get round the filter.
    rules.push(SyscallRule {
        includes: Conditions {
            min_kernel: Some("4.8".to_string()),
            ..Conditions::default()
        },
        ..allow(&["ptrace"])
    });
    for persona in PERSONALITIES {
        rules.push(SyscallRule {
            args: vec![ArgCheck {
                index: 0,
                value: persona,
                value_two: 0,
                op: CompareOp::Equal,
            }],
            ..allow(&["personality"])
        });
    }
    // x86's own calls for thread-local storage and segments.
    rules.push(SyscallRule {
        includes: on_arches(&["amd64", "x32"]),
        ..allow(&["arch_prctl"])
    });
    rules.push(SyscallRule {
        includes: on_arches(&["amd64", "x32", "x86"]),
        ..allow(&["modify_ldt"])
    });
    for (capability, names) in WITH_CAPABILITY {
        rules.push(SyscallRule {
            includes: with_capability(capability),
            ..allow(names)
        });
    }
    // Without CAP_SYS_ADMIN: clone, but no namespaces (flags & 0x7E020000
    // must be 0); clone3, whose flags are in memory a filter cannot read,
    // answers ENOSYS ("no such call"), and the C library falls back to
    // clone.
    rules.push(SyscallRule {
        args: vec![ArgCheck {
            index: 0,
            value: NAMESPACE_FLAGS,
            value_two: 0,
            op: CompareOp::MaskedEqual,
        }],
        excludes: with_capability("CAP_SYS_ADMIN"),
        ..allow(&["clone"])
    });
    rules.push(SyscallRule {
        action: RuleAction::Errno,
        errno_ret: Some(libc::ENOSYS as u32),
        excludes: with_capability("CAP_SYS_ADMIN"),
        ..allow(&["clone3"])
    });
    SeccompProfile {
        default_action: RuleAction::Errno,
        default_errno_ret: Some(libc::EPERM as u32),
        syscalls: rules,
    }
}
