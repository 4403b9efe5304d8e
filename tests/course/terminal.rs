//! `run -t` and `exec -t` (the finished runtime): a terminal made in the
//! container's own devpts, its master relayed by bocker. The test plays
//! the user's terminal emulator: it makes a pty of its own, runs bocker
//! on the slave side as a session's leader (as a shell in a terminal
//! window is), types into the master and reads what appears there.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::pty::{openpty, Winsize};
use nix::sys::termios::{tcgetattr, LocalFlags};

use crate::support::{describe, idea, text, Hint, TestEnv};

const HINT: Hint = Hint::NONE;

fn size(rows: u16, columns: u16) -> Winsize {
    Winsize {
        ws_row: rows,
        ws_col: columns,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

/// The test's side of its pty: what has appeared on the "screen" so far.
struct Screen {
    master: OwnedFd,
    seen: String,
}

impl Screen {
    fn type_in(&self, keys: &str) {
        nix::unistd::write(&self.master, keys.as_bytes()).unwrap();
    }

    /// Read until `wanted` has appeared after what was seen before (10 s
    /// at most: a guard against a hang, not a speed check).
    #[track_caller]
    fn wait_for(&mut self, wanted: &str) {
        let from = self.seen.len();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.seen[from..].contains(wanted) {
            assert!(
                Instant::now() < deadline,
                "{wanted:?} never appeared; the screen shows {:?}",
                &self.seen[from..]
            );
            let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
            if poll(&mut fds, PollTimeout::from(100u16)).unwrap_or(0) == 0 {
                continue;
            }
            let mut buffer = [0u8; 4096];
            match nix::unistd::read(&self.master, &mut buffer) {
                Ok(n) if n > 0 => self.seen.push_str(&String::from_utf8_lossy(&buffer[..n])),
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }
}

#[test]
fn run_it_gives_an_interactive_shell_a_terminal_of_its_own() {
    let _idea = idea("run -it IMG sh in a terminal: the shell gets a pty of the container's devpts (/dev/pts/0) with the user's window size, a resize (SIGWINCH) reaches it, Ctrl-C stops its foreground job and not bocker, its exit code comes back, and the user's terminal is restored");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let pty = openpty(Some(&size(30, 100)), None).unwrap();
    let slave = pty.slave;
    let mut bocker = env.bocker();
    bocker
        .args(["run", "--rm", "-it", &image, "sh"])
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave.try_clone().unwrap()));
    // SAFETY: setsid and ioctl are async-signal-safe; between fork and
    // exec they make bocker a session leader with the pty as its
    // controlling terminal, as a shell in a terminal window is.
    unsafe {
        bocker.pre_exec(|| {
            nix::unistd::setsid()?;
            if libc::ioctl(0, libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = bocker.spawn().expect("cannot start bocker");
    let mut screen = Screen {
        master: pty.master,
        seen: String::new(),
    };
    screen.type_in("tty; stty size\r");
    screen.wait_for("/dev/pts/0\r\n30 100\r\n");

    // The window grows: the kernel tells bocker (SIGWINCH), and bocker
    // tells the container's terminal.
    // SAFETY: TIOCSWINSZ reads one struct winsize.
    unsafe { libc::ioctl(screen.master.as_raw_fd(), libc::TIOCSWINSZ, &size(40, 120)) };
    std::thread::sleep(Duration::from_millis(200));
    screen.type_in("stty size\r");
    screen.wait_for("40 120\r\n");

    // Ctrl-C is a byte in raw mode: the container's terminal turns it into
    // SIGINT for the shell's foreground job.
    screen.type_in("sleep 30\r");
    std::thread::sleep(Duration::from_millis(300));
    screen.type_in("\x03");
    screen.type_in("echo after ctrl-c: $?\r");
    screen.wait_for("after ctrl-c: 130");

    screen.type_in("exit 4\r");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "bocker did not end after `exit 4`"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(4), "the shell's exit code");
    let modes = tcgetattr(slave.as_fd()).unwrap();
    assert!(
        modes
            .local_flags
            .contains(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG),
        "the user's terminal was left in raw mode: {:?}",
        modes.local_flags
    );
    env.assert_no_leaks();
}

#[test]
fn exec_t_and_run_dt_give_the_command_a_terminal() {
    let _idea = idea("exec -t ID CMD runs CMD on a terminal of the container's devpts (output with \\r\\n), run -dt keeps a terminal with no one typing (its output still reaches the log), run -it with piped input ends when the input does, and -t with --init is refused in one line");
    let env = TestEnv::new();
    let image = env.busybox_image();
    let out = env.bocker_ok(
        &[
            "run",
            "-d",
            "-t",
            "--name",
            "tty",
            &image,
            "sh",
            "-c",
            "tty; sleep 100",
        ],
        HINT,
    );
    let id = text(&out.stdout).trim().to_string();
    let out = env.bocker_ok(&["exec", "-t", &id, "sh", "-c", "tty; echo two"], HINT);
    assert_eq!(
        text(&out.stdout),
        "/dev/pts/1\r\ntwo\r\n",
        "exec -t: a second terminal of the container's devpts: {}",
        describe(&out)
    );
    let out = env.run_bocker(&["exec", &id, "tty"]);
    assert_eq!(
        text(&out.stdout),
        "not a tty\n",
        "exec without -t has no terminal"
    );
    let logs = env.bocker_ok(&["logs", &id], HINT);
    assert_eq!(
        text(&logs.stdout),
        "/dev/pts/0\r\n",
        "run -dt's output in its log"
    );
    env.bocker_ok(&["stop", "--time", "0", &id], HINT);
    env.bocker_ok(&["rm", &id], HINT);

    // Input from a pipe, not a terminal: its end reaches the program as
    // the terminal's end-of-file (Ctrl-D), and `cat` ends.
    let mut piped = env
        .bocker()
        .args(["run", "--rm", "-i", "-t", &image, "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(piped.stdin.as_mut().unwrap(), b"typed\n").unwrap();
    drop(piped.stdin.take());
    let deadline = Instant::now() + Duration::from_secs(10);
    while piped.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = piped.kill();
            panic!("run -it with piped input never ended: the end of its input did not reach cat");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = piped.wait_with_output().unwrap();
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "typed\r\ntyped\r\n".to_string()),
        "the terminal's echo, then cat's copy: {}",
        describe(&out)
    );

    let out = env.run_bocker(&["run", "--rm", "-t", "--init", &image, "true"]);
    assert!(
        !out.status.success() && text(&out.stderr).contains("-t with --init"),
        "-t with --init must be refused: {}",
        describe(&out)
    );
    env.assert_no_leaks();
}
