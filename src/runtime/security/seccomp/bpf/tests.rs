//! The assembler's filters, run by the kernel: a forked child installs
//! one and makes calls; the answers come back through a pipe.

use super::*;

/// A number no kernel has a call for: once the filter lets it through,
/// the kernel answers ENOSYS.
const NO_SUCH_CALL: u32 = 1000;

/// The errno a filter's `SECCOMP_RET_ERRNO | n` makes a call fail with.
fn errno(n: u32) -> u32 {
    libc::SECCOMP_RET_ERRNO | n
}

/// In a child: install `filter`, make each call (number, arguments), and
/// say what each returned: the result, or minus its errno.
fn answers(filter: &[sock_filter], calls: &[(u32, [u64; 6])]) -> Vec<i64> {
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut sock_filter,
    };
    let mut results = vec![0i64; calls.len()];
    let (read_end, write_end) = nix::unistd::pipe().unwrap();
    // SAFETY: the child makes system calls only (no allocation, no lock),
    // then _exit: safe in a copy of a threaded process.
    match unsafe { nix::unistd::fork() }.unwrap() {
        // SAFETY: `program` and `results` were made before the fork and
        // stay alive; every pointer given to the kernel points into them.
        nix::unistd::ForkResult::Child => unsafe {
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            let installed = libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &program as *const libc::sock_fprog,
            );
            if installed != 0 {
                libc::_exit(2);
            }
            for (slot, (number, a)) in results.iter_mut().zip(calls) {
                let result = libc::syscall(i64::from(*number), a[0], a[1], a[2], a[3], a[4], a[5]);
                *slot = if result == -1 {
                    -i64::from(*libc::__errno_location())
                } else {
                    result
                };
            }
            let bytes = results.len() * 8;
            let written = libc::write(
                std::os::fd::AsRawFd::as_raw_fd(&write_end),
                results.as_ptr().cast(),
                bytes,
            );
            libc::_exit(if written == bytes as isize { 0 } else { 3 });
        },
        nix::unistd::ForkResult::Parent { child } => {
            drop(write_end);
            let status = nix::sys::wait::waitpid(child, None).unwrap();
            assert_eq!(
                status,
                nix::sys::wait::WaitStatus::Exited(child, 0),
                "the child could not install the filter or report"
            );
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::fs::File::from(read_end), &mut bytes).unwrap();
            bytes
                .chunks(8)
                .map(|chunk| i64::from_ne_bytes(chunk.try_into().unwrap()))
                .collect()
        }
    }
}

/// A filter that sends NO_SUCH_CALL through `check` of argument 1: EDOM
/// when it holds, ERANGE when not; every other call is allowed.
fn filter_checking(check: &ArgCheck) -> Vec<sock_filter> {
    let mut program = Program::new();
    let probe = program.new_label();
    let allow = program.new_label();
    let failed = program.new_label();
    program.load(Field::Number);
    program.jump_if(Test::Equal, NO_SUCH_CALL, probe, allow);
    program.place(probe);
    program.check_argument(check, failed);
    program.ret(errno(libc::EDOM as u32));
    program.place(failed);
    program.ret(errno(libc::ERANGE as u32));
    program.place(allow);
    program.ret(libc::SECCOMP_RET_ALLOW);
    program.assemble().unwrap()
}

#[test]
fn each_comparison_of_a_64_bit_argument_holds_where_rust_says_it_does() {
    let value: u64 = 0x0000_0001_8000_0005;
    let mask: u64 = 0x7E02_0000_0000_00FF;
    let arguments = [
        0,
        value - 1,
        value,
        value + 1,
        value - (1 << 32),
        value + (1 << 32),
        value ^ 0x8000_0000,
        0x0000_0001_0000_0005,
        u64::MAX,
        mask,
        0x0000_0000_0000_0005,
    ];
    let ops = [
        CompareOp::Equal,
        CompareOp::NotEqual,
        CompareOp::Less,
        CompareOp::LessOrEqual,
        CompareOp::Greater,
        CompareOp::GreaterOrEqual,
        CompareOp::MaskedEqual,
    ];
    for op in ops {
        let check = ArgCheck {
            index: 1,
            value: if op == CompareOp::MaskedEqual {
                mask
            } else {
                value
            },
            value_two: 5,
            op,
        };
        let calls: Vec<(u32, [u64; 6])> = arguments
            .iter()
            .map(|a| (NO_SUCH_CALL, [u64::MAX, *a, 0, 0, 0, 0]))
            .collect();
        let got = answers(&filter_checking(&check), &calls);
        for (argument, answer) in arguments.iter().zip(got) {
            let holds = match op {
                CompareOp::Equal => *argument == value,
                CompareOp::NotEqual => *argument != value,
                CompareOp::Less => *argument < value,
                CompareOp::LessOrEqual => *argument <= value,
                CompareOp::Greater => *argument > value,
                CompareOp::GreaterOrEqual => *argument >= value,
                CompareOp::MaskedEqual => *argument & mask == 5,
            };
            let expected = -i64::from(if holds { libc::EDOM } else { libc::ERANGE });
            assert_eq!(
                answer,
                expected,
                "{op:?} of argument {argument:#x} with {:#x}: should {}hold",
                check.value,
                if holds { "" } else { "not " }
            );
        }
    }
}

#[test]
fn dispatch_finds_every_number_even_when_jumps_are_too_far_for_a_byte() {
    // 300 numbers after NO_SUCH_CALL, each with its own answer (its errno
    // is 1 + its place mod 120), but for a few holes, which are allowed.
    let holes = [NO_SUCH_CALL + 7, NO_SUCH_CALL + 150, NO_SUCH_CALL + 151];
    let mut program = Program::new();
    let allow = program.new_label();
    let mut targets = Vec::new();
    let mut answers_of = Vec::new();
    for offset in 0..300 {
        let number = NO_SUCH_CALL + offset;
        if holes.contains(&number) {
            continue;
        }
        // Neighbours with the same answer share a label: ranges.
        let answer = 1 + (offset / 3) % 120;
        let label = match answers_of.iter().find(|(a, _)| *a == answer) {
            Some((_, label)) => *label,
            None => {
                let label = program.new_label();
                answers_of.push((answer, label));
                label
            }
        };
        targets.push((number, label));
    }
    program.load(Field::Number);
    program.dispatch(&targets, allow);
    for (answer, label) in &answers_of {
        program.place(*label);
        program.ret(errno(*answer));
    }
    program.place(allow);
    program.ret(libc::SECCOMP_RET_ALLOW);
    let filter = program.assemble().unwrap();
    assert!(
        filter.len() > program.steps.len(),
        "this program needs wide jumps: {} instructions for {} steps",
        filter.len(),
        program.steps.len()
    );
    let calls: Vec<(u32, [u64; 6])> = (0..302)
        .map(|offset| (NO_SUCH_CALL + offset, [0; 6]))
        .collect();
    for ((number, _), answer) in calls.iter().zip(answers(&filter, &calls)) {
        let offset = number - NO_SUCH_CALL;
        let expected = if holes.contains(number) || offset >= 300 {
            -i64::from(libc::ENOSYS)
        } else {
            -i64::from(1 + (offset / 3) % 120)
        };
        assert_eq!(answer, expected, "call {number}");
    }
}

#[test]
fn a_label_never_placed_or_behind_its_jump_is_refused() {
    let mut program = Program::new();
    let nowhere = program.new_label();
    program.jump(nowhere);
    let error = program.assemble().unwrap_err().to_string();
    assert!(error.contains("never placed"), "{error}");

    let mut program = Program::new();
    let behind = program.new_label();
    program.place(behind);
    program.ret(libc::SECCOMP_RET_ALLOW);
    program.jump(behind);
    let error = program.assemble().unwrap_err().to_string();
    assert!(error.contains("backwards"), "{error}");
}
