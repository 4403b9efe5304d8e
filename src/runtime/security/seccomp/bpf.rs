//! A small assembler for seccomp's classic BPF, with labels.
//!
//! A seccomp filter is a list of `struct sock_filter` (<linux/filter.h>):
//!
//! ```text
//!   struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; };
//! ```
//!
//! `code` says what to do (load, jump, return…), `k` is its constant, and
//! a conditional jump goes `jt` instructions forward when its test holds,
//! `jf` when not. Jumps only go forward (the kernel refuses a loop), and
//! `jt`/`jf` are one byte: no further than 255 instructions. Counting
//! those by hand is where filters written by hand go wrong, so here jumps
//! name a [`Label`], and [`Program::assemble`] counts. A jump too far for
//! one byte becomes a conditional jump to a `JA` ("jump always", whose
//! offset has 32 bits) placed right after it.
//!
//! Three pieces of filters are given here, for chapter 8's
//! `seccomp_program` to use:
//!
//! * [`Program::dispatch`]: where the call's number sends the program, as
//!   a binary search over ranges of numbers (about 8 tests for 300 calls,
//!   where one test per call would take 300);
//! * [`Program::check_argument`]: one check of a profile's rule on a
//!   64-bit argument, made of two 32-bit halves (classic BPF has 32-bit
//!   words only);
//! * [`native_arch`]: the `AUDIT_ARCH_…` of this machine's own calls.
//!
//! Why bother: the kernel checks, translates and compiles a filter when it
//! is installed, and (from Linux 5.11) runs it once per call number to
//! learn which calls it always allows. That costs time in proportion to
//! its length, at every `run`: 1,500 instructions (one test per call,
//! seccompiler's shape) took 0.6 ms here, 200 take 0.05 ms.

use anyhow::{bail, Result};
use libc::sock_filter;

use crate::spec::seccomp::{ArgCheck, CompareOp};

// The instruction codes used, as <linux/bpf_common.h> builds them.
const LOAD_WORD_AT: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS: A = data[k..k+4]
const AND: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K: A &= k
const JUMP: u16 = 0x05; // BPF_JMP | BPF_JA: forward k instructions
const RETURN: u16 = 0x06; // BPF_RET | BPF_K: the filter's answer is k

/// A filter ready for seccomp(2): its instructions.
pub type Filter = Vec<sock_filter>;

/// The tests a conditional jump can make of the accumulator A against a
/// constant (all unsigned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    Equal,
    Greater,
    GreaterOrEqual,
    /// A & k != 0.
    AnyBitSet,
}

impl Test {
    fn code(self) -> u16 {
        match self {
            Test::Equal => 0x15,          // BPF_JMP | BPF_JEQ | BPF_K
            Test::Greater => 0x25,        // BPF_JMP | BPF_JGT | BPF_K
            Test::GreaterOrEqual => 0x35, // BPF_JMP | BPF_JGE | BPF_K
            Test::AnyBitSet => 0x45,      // BPF_JMP | BPF_JSET | BPF_K
        }
    }
}

/// The fields of `struct seccomp_data` (<linux/seccomp.h>) a filter loads,
/// 32 bits at a time:
///
/// ```text
///   offset 0   int nr           the call's number
///          4   u32 arch         AUDIT_ARCH_…: which table of numbers
///          8   u64 instruction_pointer
///         16   u64 args[6]      the arguments, as the registers hold them
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Number,
    Arch,
    /// The low 32 bits of argument `0..=5`.
    ArgumentLow(u8),
    /// The high 32 bits of argument `0..=5`.
    ArgumentHigh(u8),
}

impl Field {
    fn offset(self) -> u32 {
        // On a little-endian machine the low half of a u64 comes first.
        let (low, high) = if cfg!(target_endian = "little") {
            (0, 4)
        } else {
            (4, 0)
        };
        match self {
            Field::Number => 0,
            Field::Arch => 4,
            Field::ArgumentLow(index) => 16 + 8 * u32::from(index) + low,
            Field::ArgumentHigh(index) => 16 + 8 * u32::from(index) + high,
        }
    }
}

/// A place in a program, named before it is placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Label(usize);

/// One instruction, with its jumps still to labels.
#[derive(Debug, Clone, Copy)]
enum Step {
    Plain(sock_filter),
    JumpIf {
        test: Test,
        k: u32,
        then: Label,
        otherwise: Label,
    },
    Jump(Label),
}

/// A filter being written: steps and labels, assembled at the end.
#[derive(Debug, Default)]
pub struct Program {
    steps: Vec<Step>,
    /// Where each label is placed: the index of the step that follows it.
    labels: Vec<Option<usize>>,
}

impl Program {
    pub fn new() -> Program {
        Program::default()
    }

    /// A new label, to jump to now and to place later.
    pub fn new_label(&mut self) -> Label {
        self.labels.push(None);
        Label(self.labels.len() - 1)
    }

    /// Put `label` here: a jump to it goes to the next instruction written.
    pub fn place(&mut self, label: Label) {
        self.labels[label.0] = Some(self.steps.len());
    }

    /// A = the 32-bit word `field` of the call's `seccomp_data`.
    pub fn load(&mut self, field: Field) {
        self.plain(LOAD_WORD_AT, field.offset());
    }

    /// A = A & `mask`.
    pub fn and(&mut self, mask: u32) {
        self.plain(AND, mask);
    }

    /// Go to `then` if `test` holds of A and `k`, else to `otherwise`.
    pub fn jump_if(&mut self, test: Test, k: u32, then: Label, otherwise: Label) {
        self.steps.push(Step::JumpIf {
            test,
            k,
            then,
            otherwise,
        });
    }

    /// Go to `label`.
    pub fn jump(&mut self, label: Label) {
        self.steps.push(Step::Jump(label));
    }

    /// End the filter with the answer `action`: a `SECCOMP_RET_…` value,
    /// with its data (an errno) in the low 16 bits.
    pub fn ret(&mut self, action: u32) {
        self.plain(RETURN, action);
    }

    fn plain(&mut self, code: u16, k: u32) {
        self.steps.push(Step::Plain(sock_filter {
            code,
            jt: 0,
            jf: 0,
            k,
        }));
    }

    /// With the call's number in A: go to the label of `targets` that has
    /// this number, or to `otherwise`. Numbers next to each other with the
    /// same label make one range, and a binary search over the ranges
    /// finds the one that holds the number.
    pub fn dispatch(&mut self, targets: &[(u32, Label)], otherwise: Label) {
        let mut sorted = targets.to_vec();
        sorted.sort_by_key(|(number, _)| *number);
        let mut ranges: Vec<(u32, u32, Label)> = Vec::new();
        for (number, label) in sorted {
            match ranges.last_mut() {
                Some((_, last, same)) if *same == label && *last + 1 == number => *last = number,
                _ => ranges.push((number, number, label)),
            }
        }
        self.search(&ranges, otherwise);
    }

    /// The binary search: the number is known to be in none of the ranges
    /// before `ranges`, nor after.
    fn search(&mut self, ranges: &[(u32, u32, Label)], otherwise: Label) {
        match ranges {
            [] => self.jump(otherwise),
            [(first, last, label)] => {
                // first <= A <= last: the label; else: otherwise.
                let not_below = self.new_label();
                self.jump_if(Test::GreaterOrEqual, *first, not_below, otherwise);
                self.place(not_below);
                self.jump_if(Test::Greater, *last, otherwise, *label);
            }
            _ => {
                let (lower, upper) = ranges.split_at(ranges.len() / 2);
                let in_upper = self.new_label();
                let in_lower = self.new_label();
                self.jump_if(Test::GreaterOrEqual, upper[0].0, in_upper, in_lower);
                self.place(in_lower);
                self.search(lower, otherwise);
                self.place(in_upper);
                self.search(upper, otherwise);
            }
        }
    }

    /// Check the profile's `check` of one argument; go on to the next
    /// instruction if it holds, to `failed` if not. (It loads the
    /// argument: whatever A held is gone.)
    ///
    /// A 64-bit argument is compared as two 32-bit halves: the high halves
    /// decide, unless they are equal; then the low halves do.
    pub fn check_argument(&mut self, check: &ArgCheck, failed: Label) {
        let high = Field::ArgumentHigh(check.index);
        let low = Field::ArgumentLow(check.index);
        let (value_high, value_low) = halves(check.value);
        let holds = self.new_label();
        let compare_low = self.new_label();
        match check.op {
            CompareOp::Equal => {
                self.load(high);
                self.jump_if(Test::Equal, value_high, compare_low, failed);
                self.place(compare_low);
                self.load(low);
                self.jump_if(Test::Equal, value_low, holds, failed);
            }
            CompareOp::NotEqual => {
                self.load(high);
                self.jump_if(Test::Equal, value_high, compare_low, holds);
                self.place(compare_low);
                self.load(low);
                self.jump_if(Test::Equal, value_low, failed, holds);
            }
            CompareOp::MaskedEqual => {
                // argument & value == value_two, half by half.
                let (wanted_high, wanted_low) = halves(check.value_two);
                self.load(high);
                self.and(value_high);
                self.jump_if(Test::Equal, wanted_high, compare_low, failed);
                self.place(compare_low);
                self.load(low);
                self.and(value_low);
                self.jump_if(Test::Equal, wanted_low, holds, failed);
            }
            CompareOp::Greater
            | CompareOp::GreaterOrEqual
            | CompareOp::Less
            | CompareOp::LessOrEqual => {
                // Less is "not GreaterOrEqual", LessOrEqual "not Greater":
                // the same tests, with their two outcomes swapped.
                let (low_test, yes, no) = match check.op {
                    CompareOp::Greater => (Test::Greater, holds, failed),
                    CompareOp::GreaterOrEqual => (Test::GreaterOrEqual, holds, failed),
                    CompareOp::Less => (Test::GreaterOrEqual, failed, holds),
                    _ => (Test::Greater, failed, holds),
                };
                // High half above the value's: yes; below: no; equal: the
                // low halves decide.
                let not_above = self.new_label();
                self.load(high);
                self.jump_if(Test::Greater, value_high, yes, not_above);
                self.place(not_above);
                self.jump_if(Test::Equal, value_high, compare_low, no);
                self.place(compare_low);
                self.load(low);
                self.jump_if(low_test, value_low, yes, no);
            }
        }
        self.place(holds);
    }

    /// The instructions, every jump counted. Refused: a label used but
    /// never placed, one placed behind a jump to it (jumps go forward
    /// only), a program the kernel would refuse for its length.
    pub fn assemble(&self) -> Result<Filter> {
        let mut target_of = Vec::with_capacity(self.labels.len());
        for (index, place) in self.labels.iter().enumerate() {
            target_of.push(place.ok_or_else(|| {
                anyhow::anyhow!("the filter jumps to label {index}, which is never placed")
            })?);
        }
        // Which conditional jumps need a JA for a target too far away.
        // Widening one moves what follows it and may push another too far:
        // repeat until nothing changes (it only grows, so it ends).
        let mut wide = vec![false; self.steps.len()];
        loop {
            let start = self.starts(&wide);
            let mut changed = false;
            for (index, step) in self.steps.iter().enumerate() {
                if let Step::JumpIf {
                    then, otherwise, ..
                } = step
                {
                    let from = start[index] + 1;
                    let too_far = [then, otherwise].into_iter().any(|label| {
                        start[target_of[label.0]].saturating_sub(from) > usize::from(u8::MAX)
                    });
                    if too_far && !wide[index] {
                        wide[index] = true;
                        changed = true;
                    }
                }
            }
            if !changed {
                return self.emit(&wide, &start, &target_of);
            }
        }
    }

    /// Where each step starts, once the wide jumps take three instructions;
    /// one more entry for the end.
    fn starts(&self, wide: &[bool]) -> Vec<usize> {
        let mut start = Vec::with_capacity(self.steps.len() + 1);
        let mut at = 0;
        for (index, _) in self.steps.iter().enumerate() {
            start.push(at);
            at += if wide[index] { 3 } else { 1 };
        }
        start.push(at);
        start
    }

    fn emit(&self, wide: &[bool], start: &[usize], target_of: &[usize]) -> Result<Filter> {
        let length = start[self.steps.len()];
        // BPF_MAXINSNS in <linux/bpf_common.h>.
        if length > 4096 {
            bail!("the filter has {length} instructions; the kernel takes at most 4096");
        }
        let distance = |from: usize, label: Label| -> Result<u32> {
            let to = start[target_of[label.0]];
            match to.checked_sub(from) {
                Some(forward) => Ok(forward as u32),
                None => bail!("the filter jumps backwards (label {})", label.0),
            }
        };
        let mut out = Vec::with_capacity(length);
        for (index, step) in self.steps.iter().enumerate() {
            let next = start[index] + 1;
            match *step {
                Step::Plain(instruction) => out.push(instruction),
                Step::Jump(label) => out.push(instruction(JUMP, 0, 0, distance(next, label)?)),
                Step::JumpIf {
                    test,
                    k,
                    then,
                    otherwise,
                } if !wide[index] => {
                    let jt = distance(next, then)? as u8;
                    let jf = distance(next, otherwise)? as u8;
                    out.push(instruction(test.code(), jt, jf, k));
                }
                Step::JumpIf {
                    test,
                    k,
                    then,
                    otherwise,
                } => {
                    // test ? next : the one after; each a JA to its label.
                    out.push(instruction(test.code(), 0, 1, k));
                    out.push(instruction(JUMP, 0, 0, distance(next + 1, then)?));
                    out.push(instruction(JUMP, 0, 0, distance(next + 2, otherwise)?));
                }
            }
        }
        Ok(out)
    }
}

fn instruction(code: u16, jt: u8, jf: u8, k: u32) -> sock_filter {
    sock_filter { code, jt, jf, k }
}

/// A 64-bit value's high and low 32 bits.
fn halves(value: u64) -> (u32, u32) {
    ((value >> 32) as u32, value as u32)
}

/// This machine's `AUDIT_ARCH_…` (<linux/audit.h>): what `arch` holds for
/// a call made with its own table of numbers. (An x86_64 process can also
/// call with i386's table, through `int 0x80`: there 288 is `keyctl`, not
/// `accept4`.)
pub fn native_arch() -> Option<u32> {
    match std::env::consts::ARCH {
        "x86_64" => Some(0xC000_003E),  // AUDIT_ARCH_X86_64
        "aarch64" => Some(0xC000_00B7), // AUDIT_ARCH_AARCH64
        _ => None,
    }
}

#[cfg(test)]
mod tests;
