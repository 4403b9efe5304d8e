//! Without root: a network through pasta (`--net pasta`).
//!
//! An ordinary user may not plug a veth into the host's bridge, nor add
//! NAT rules (chapter 5). pasta, of the passt project (Debian's `passt`),
//! does it in user space instead: it joins the container's user and
//! network namespaces, makes a tap device there with a copy of the host's
//! address and routes, and carries every packet the container sends
//! through an ordinary socket of the user outside. A connection to
//! 8.8.8.8:53 inside is pasta's own `connect()` outside. `-p 8080:80` is
//! pasta listening on port 8080 outside and connecting to port 80 inside.
//!
//! ```text
//!   container: eth0 (tap) ──packets──▶ pasta (your uid) ──sockets──▶ the host's network
//!   host: 127.0.0.1:8080 ──▶ pasta ──▶ container :80
//! ```
//!
//! Why pasta and not slirp4netns (the older tool, in Debian too): pasta
//! translates between the container's packets and the user's sockets
//! directly, where slirp4netns runs a second TCP/IP stack (libslirp) in
//! between; it gives the container the host's own address (no 10.0.2.x
//! to learn); and it forwards ports from its command line (slirp4netns
//! needs an API socket and one request per port). Podman uses pasta by
//! default since version 5.
//!
//! pasta runs in the foreground, a child of bocker's process that keeps
//! the container (`-f`), with a parent-death signal: when that process
//! ends, after the container or killed midway, the kernel kills pasta too.
//! (This pasta does not notice on its own that a namespace it was given
//! by pid has gone.) It writes its pid file once the namespace is set up:
//! until then the child waits for "go".

use std::io::{Read, Seek};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::unistd::Pid;

use crate::spec::ports::Port;

/// Connect the network namespace of the child `pid` (which waits for
/// "go") with pasta, forwarding `ports` from the host to it. `pid_file`:
/// where pasta says it is ready (in the container's folder).
pub fn connect(pid: Pid, ports: &[Port], pid_file: &Path) -> Result<()> {
    // pasta's messages go to a file in memory, read if it fails.
    let messages = memory_file()?;
    let mut command = Command::new("pasta");
    // --config-net: addresses, routes and the link up in the namespace.
    // --quiet: only errors. -f: in the foreground. The last argument: the
    // target's pid, whose user and network namespaces pasta joins.
    command
        .args(["--config-net", "--quiet", "--foreground", "--pid"])
        .arg(pid_file);
    for port in ports {
        let flag = if port.protocol == "udp" { "-u" } else { "-t" };
        command
            .arg(flag)
            .arg(format!("{}:{}", port.host, port.container));
    }
    // Without -p, no forwarding at all (pasta's default is to follow
    // every port the container listens on).
    if !ports.iter().any(|port| port.protocol == "tcp") {
        command.args(["-t", "none"]);
    }
    if !ports.iter().any(|port| port.protocol == "udp") {
        command.args(["-u", "none"]);
    }
    command
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(messages.try_clone()?);
    let parent = nix::unistd::getpid();
    // SAFETY: between fork and execve only prctl(2) and getppid(2) run,
    // both async-signal-safe; nothing is allocated.
    unsafe {
        command.pre_exec(move || {
            // SIGKILL when bocker's process (this thread) ends.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // It may have ended already, before the prctl.
            if libc::getppid() != parent.as_raw() {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
    let _ = std::fs::remove_file(pid_file);
    let mut pasta = command
        .spawn()
        .context("cannot run pasta, for --net pasta (Debian's package passt)")?;
    let deadline = Instant::now() + READY_WITHIN;
    loop {
        if let Some(status) = pasta.try_wait()? {
            bail!("pasta failed ({status}): {}", read_back(messages));
        }
        if std::fs::metadata(pid_file).is_ok_and(|file| file.len() > 0) {
            return Ok(());
        }
        if Instant::now() > deadline {
            let _ = pasta.kill();
            let _ = pasta.wait();
            bail!("pasta did not set the network up within {READY_WITHIN:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How long pasta may take to set the namespace up.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// An anonymous file in memory (memfd_create(2)), closed on execve.
fn memory_file() -> Result<std::fs::File> {
    let fd =
        nix::sys::memfd::memfd_create(c"pasta-messages", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
            .context("cannot make a file in memory for pasta's messages")?;
    Ok(std::fs::File::from(fd))
}

/// What was written to `file`, on one line.
fn read_back(mut file: std::fs::File) -> String {
    let mut text = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut text);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        "no message".to_string()
    } else {
        lines.join("; ")
    }
}
