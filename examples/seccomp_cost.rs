//! What chapter 8's seccomp filters cost a container's start, measured
//! alone: building them from bocker's default profile (user space) and
//! installing them with seccomp(2) (the kernel checks, translates and
//! compiles each, and from Linux 5.11 runs it once per call number to
//! cache the calls it always allows).
//!
//! ```text
//! cargo run --release --features reference --example seccomp_cost [RUNS]
//! ```
//!
//! Each run is a fresh process (this program again, with `--once`), as a
//! container's child is: nothing is warm. It prints the medians in
//! microseconds. scripts/bench.sh runs it.

use std::process::Command;
use std::time::Instant;

use bocker::runtime::security::seccomp::{self, bpf::Filter};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--once") {
        once();
        return;
    }
    let runs: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(300);
    let myself = std::env::current_exe().expect("this program's path");
    let (mut build, mut install, mut length) = (Vec::new(), Vec::new(), 0);
    for _ in 0..runs {
        let out = Command::new(&myself)
            .arg("--once")
            .output()
            .expect("cannot run the measurement");
        let text = String::from_utf8_lossy(&out.stdout);
        let numbers: Vec<u128> = text
            .split_whitespace()
            .filter_map(|word| word.parse().ok())
            .collect();
        let [built, installed, instructions] = numbers[..] else {
            panic!(
                "the measurement printed {text:?}, {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        build.push(built);
        install.push(installed);
        length = instructions;
    }
    println!(
        "seccomp filters of the default profile ({length} instructions in all; medians of {runs} fresh processes): built in {} µs, installed in {} µs",
        median(&mut build),
        median(&mut install)
    );
}

/// One measurement: build the filters, install them, print both times
/// (µs) and the instructions' count.
fn once() {
    let capabilities: Vec<String> = bocker::runtime::security::DEFAULT_CAPABILITIES
        .iter()
        .map(|capability| capability.to_string())
        .collect();
    let start = Instant::now();
    let profile = seccomp::default::profile();
    let filters: Vec<Filter> =
        seccomp::filters(&profile, &capabilities).expect("the default profile's filters");
    let built = start.elapsed().as_micros();
    let start = Instant::now();
    nix::sys::prctl::set_no_new_privs().expect("no_new_privs");
    if let Err(failure) = bocker::runtime::security::install(&filters) {
        panic!("{}", failure.message);
    }
    let installed = start.elapsed().as_micros();
    let instructions: usize = filters.iter().map(Vec::len).sum();
    println!("{built} {installed} {instructions}");
}

fn median(values: &mut [u128]) -> u128 {
    values.sort_unstable();
    values[values.len() / 2]
}
