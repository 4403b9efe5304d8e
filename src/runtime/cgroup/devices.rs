//! Which device nodes a container may open (chapter 8), said once and
//! given to each version of cgroups in its own language.
//!
//! A device node (/dev/sda, /dev/null) is a door to a driver, named by a
//! type (`c` character, `b` block) and two numbers (major: the driver,
//! minor: which device of it). Anyone who may make a node (CAP_MKNOD) can
//! make one for the host's disk; the cgroup decides whether it opens.
//!
//! * cgroup v1 has a `devices` controller: rules as lines of text written
//!   to `devices.deny` and `devices.allow` (v1.rs).
//! * cgroup v2 has no such files. The kernel runs a small BPF program
//!   attached to the cgroup (BPF_PROG_TYPE_CGROUP_DEVICE, Linux 4.15) at
//!   every open and mknod of a node, and the program says yes or no. bocker
//!   writes the program itself, from the same rules (below), and loads it
//!   with bpf(2) (v2.rs). runc, crun and youki do the same; a crate for it
//!   would bring a BPF loader and its dependencies for twenty instructions.

/// Block or character device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Block,
    Char,
}

/// What a rule allows: reading, writing, making the node (mknod).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub read: bool,
    pub write: bool,
    pub mknod: bool,
}

/// `rwm`: everything.
const ALL: Access = Access {
    read: true,
    write: true,
    mknod: true,
};

/// `m`: making the node, not opening it.
const MKNOD_ONLY: Access = Access {
    read: false,
    write: false,
    mknod: true,
};

/// One rule: `c 1:3 rwm` allows reading, writing and making /dev/null.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub kind: Kind,
    /// `None`: any (`*`).
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: Access,
}

const fn rule(kind: Kind, major: Option<u32>, minor: Option<u32>, access: Access) -> Rule {
    Rule {
        kind,
        major,
        minor,
        access,
    }
}

/// The devices a container may use: those chapter 3 makes in its /dev
/// (read, write, mknod), pseudo-terminals, /dev/net/tun, and mknod (but not
/// opening) of any other node, as Docker allows.
pub const ALLOWED: [Rule; 11] = [
    rule(Kind::Char, None, None, MKNOD_ONLY),
    rule(Kind::Block, None, None, MKNOD_ONLY),
    rule(Kind::Char, Some(1), Some(3), ALL),    // null
    rule(Kind::Char, Some(1), Some(5), ALL),    // zero
    rule(Kind::Char, Some(1), Some(7), ALL),    // full
    rule(Kind::Char, Some(1), Some(8), ALL),    // random
    rule(Kind::Char, Some(1), Some(9), ALL),    // urandom
    rule(Kind::Char, Some(5), Some(0), ALL),    // tty
    rule(Kind::Char, Some(5), Some(2), ALL),    // ptmx
    rule(Kind::Char, Some(136), None, ALL),     // pts/N
    rule(Kind::Char, Some(10), Some(200), ALL), // net/tun
];

impl Rule {
    /// The rule as cgroup v1's devices.allow reads it: `c 1:3 rwm`.
    pub fn v1_line(&self) -> String {
        let number = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        let kind = match self.kind {
            Kind::Block => 'b',
            Kind::Char => 'c',
        };
        let mut access = String::new();
        let Access { read, write, mknod } = self.access;
        for (on, letter) in [(read, 'r'), (write, 'w'), (mknod, 'm')] {
            if on {
                access.push(letter);
            }
        }
        format!(
            "{kind} {}:{} {access}",
            number(self.major),
            number(self.minor)
        )
    }
}

// The v2 program, in eBPF. It gets a `struct bpf_cgroup_dev_ctx` (from
// <linux/bpf.h>) in register 1:
//
//     u32 access_type;  the kind in the low 16 bits (BPF_DEVCG_DEV_BLOCK 1,
//                       BPF_DEVCG_DEV_CHAR 2), what is asked in the high 16
//                       (BPF_DEVCG_ACC_MKNOD 1, _READ 2, _WRITE 4)
//     u32 major;
//     u32 minor;
//
// and returns 1 (allow) or 0 (deny) in register 0. The program loads the
// four values, then tries each rule in turn; the first that holds returns
// 1, and if none does it returns 0:
//
//     r2 = kind   r3 = asked   r4 = major   r5 = minor
//     rule:  if r2 != KIND goto next
//            r6 = r3; r6 &= !ALLOWED; if r6 != 0 goto next   (asks for more)
//            if r4 != MAJOR goto next                        (unless *)
//            if r5 != MINOR goto next                        (unless *)
//            r0 = 1; exit
//     next:  …
//     r0 = 0; exit

/// One eBPF instruction, as the kernel reads it (struct bpf_insn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(C)]
pub struct Instruction {
    pub code: u8,
    /// Destination register in the low 4 bits, source in the high 4.
    pub registers: u8,
    pub offset: i16,
    pub immediate: i32,
}

// Opcodes, from <linux/bpf.h> and <linux/bpf_common.h>.
const LOAD_32_FROM_MEMORY: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const MOVE_REGISTER: u8 = 0xbf; // BPF_ALU64 | BPF_MOV | BPF_X
const MOVE_CONSTANT: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const AND_CONSTANT: u8 = 0x57; // BPF_ALU64 | BPF_AND | BPF_K
const SHIFT_RIGHT_CONSTANT: u8 = 0x77; // BPF_ALU64 | BPF_RSH | BPF_K
const JUMP_IF_NOT_EQUAL: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

fn instruction(code: u8, destination: u8, source: u8, offset: i16, immediate: i32) -> Instruction {
    Instruction {
        code,
        registers: destination | (source << 4),
        offset,
        immediate,
    }
}

/// The v2 program for `rules`.
pub fn v2_program(rules: &[Rule]) -> Vec<Instruction> {
    let mut program = vec![
        instruction(LOAD_32_FROM_MEMORY, 2, 1, 0, 0), // r2 = access_type
        instruction(MOVE_REGISTER, 3, 2, 0, 0),       // r3 = r2
        instruction(AND_CONSTANT, 2, 0, 0, 0xffff),   // r2 = kind
        instruction(SHIFT_RIGHT_CONSTANT, 3, 0, 0, 16), // r3 = asked
        instruction(LOAD_32_FROM_MEMORY, 4, 1, 4, 0), // r4 = major
        instruction(LOAD_32_FROM_MEMORY, 5, 1, 8, 0), // r5 = minor
    ];
    for rule in rules {
        program.extend(rule_instructions(rule));
    }
    program.push(instruction(MOVE_CONSTANT, 0, 0, 0, 0)); // r0 = 0: deny
    program.push(instruction(EXIT, 0, 0, 0, 0));
    program
}

/// The instructions of one rule. A jump's offset counts the instructions
/// to skip, so each test jumps over the rest of the rule.
fn rule_instructions(rule: &Rule) -> Vec<Instruction> {
    let kind = match rule.kind {
        Kind::Block => 1, // BPF_DEVCG_DEV_BLOCK
        Kind::Char => 2,  // BPF_DEVCG_DEV_CHAR
    };
    let mut allowed = 0;
    let Access { read, write, mknod } = rule.access;
    for (on, bit) in [(mknod, 1), (read, 2), (write, 4)] {
        if on {
            allowed |= bit;
        }
    }
    // Each test is written with offset 0 and pointed past the rule's end
    // below, once the rule's length is known.
    let mut program = vec![
        instruction(JUMP_IF_NOT_EQUAL, 2, 0, 0, kind),
        instruction(MOVE_REGISTER, 6, 3, 0, 0),
        instruction(AND_CONSTANT, 6, 0, 0, !allowed & 0x7),
        instruction(JUMP_IF_NOT_EQUAL, 6, 0, 0, 0),
    ];
    if let Some(major) = rule.major {
        program.push(instruction(JUMP_IF_NOT_EQUAL, 4, 0, 0, major as i32));
    }
    if let Some(minor) = rule.minor {
        program.push(instruction(JUMP_IF_NOT_EQUAL, 5, 0, 0, minor as i32));
    }
    program.push(instruction(MOVE_CONSTANT, 0, 0, 0, 1)); // r0 = 1: allow
    program.push(instruction(EXIT, 0, 0, 0, 0));
    // Point every test past the rule's end.
    let length = program.len();
    for (at, step) in program.iter_mut().enumerate() {
        if step.code == JUMP_IF_NOT_EQUAL {
            step.offset = (length - at - 1) as i16;
        }
    }
    program
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Run `program` on a context, as the kernel's interpreter would (only
    /// the instructions the program uses).
    fn run(program: &[Instruction], context: [u32; 3]) -> u64 {
        let mut registers = [0u64; 11];
        let mut at = 0;
        loop {
            let step = program[at];
            let (destination, source) = (
                (step.registers & 0xf) as usize,
                (step.registers >> 4) as usize,
            );
            at += 1;
            match step.code {
                LOAD_32_FROM_MEMORY => {
                    assert_eq!(source, 1, "loads only from the context");
                    registers[destination] = u64::from(context[step.offset as usize / 4]);
                }
                MOVE_REGISTER => registers[destination] = registers[source],
                MOVE_CONSTANT => registers[destination] = step.immediate as u64,
                AND_CONSTANT => registers[destination] &= step.immediate as u64,
                SHIFT_RIGHT_CONSTANT => registers[destination] >>= step.immediate,
                JUMP_IF_NOT_EQUAL => {
                    if registers[destination] != step.immediate as u64 {
                        at += step.offset as usize;
                    }
                }
                EXIT => return registers[0],
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    const CHAR: u32 = 2;
    const BLOCK: u32 = 1;
    const MKNOD: u32 = 1 << 16;
    const READ: u32 = 2 << 16;
    const WRITE: u32 = 4 << 16;

    #[test]
    fn the_program_allows_exactly_the_rules() {
        let program = v2_program(&ALLOWED);
        // /dev/null: read and write.
        assert_eq!(run(&program, [CHAR | READ | WRITE, 1, 3]), 1);
        // Any pseudo-terminal.
        assert_eq!(run(&program, [CHAR | READ, 136, 7]), 1);
        // The host's disk (8:0): made, yes; opened, no.
        assert_eq!(run(&program, [BLOCK | MKNOD, 8, 0]), 1);
        assert_eq!(run(&program, [BLOCK | READ, 8, 0]), 0);
        assert_eq!(run(&program, [BLOCK | READ | WRITE, 8, 0]), 0);
        // /dev/kmsg (1:11) and /dev/mem (1:1).
        assert_eq!(run(&program, [CHAR | READ, 1, 11]), 0);
        assert_eq!(run(&program, [CHAR | WRITE, 1, 1]), 0);
        // A block device 1:3 is not /dev/null.
        assert_eq!(run(&program, [BLOCK | READ, 1, 3]), 0);
        // No rule: nothing.
        assert_eq!(run(&v2_program(&[]), [CHAR | READ, 1, 3]), 0);
    }

    #[test]
    fn v1_lines_read_as_docker_writes_them() {
        assert_eq!(ALLOWED[0].v1_line(), "c *:* m");
        assert_eq!(ALLOWED[2].v1_line(), "c 1:3 rwm");
        assert_eq!(ALLOWED[9].v1_line(), "c 136:* rwm");
    }
}
