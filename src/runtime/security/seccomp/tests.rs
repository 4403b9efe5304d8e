//! bocker's default profile against Docker's, and the filters it makes.

use std::collections::BTreeMap;

use super::resolve::{resolve, Calls, Outcome, Target};
use super::*;
use crate::spec::seccomp::RuleAction;

/// Docker's default profile, as Debian 12 ships it with moby's sources
/// (golang-github-docker-docker-dev 20.10.24): scripts/install-deps.sh
/// takes that one file out of the package.
const DOCKERS_PROFILE: &str = "/usr/local/share/bocker/docker-seccomp-default.json";

/// Where bocker's default means to differ from Docker's (default.rs says
/// why): the calls, and what Docker does with them.
const DIFFERENCES: &[&str] = &["io_uring_enter", "io_uring_register", "io_uring_setup"];

fn dockers_profile() -> SeccompProfile {
    let text = std::fs::read(DOCKERS_PROFILE).unwrap_or_else(|e| {
        panic!(
            "cannot read Docker's default seccomp profile at {DOCKERS_PROFILE} ({e}): \
             scripts/install-deps.sh puts it there"
        )
    });
    serde_json::from_slice(&text).expect("Docker's profile parses")
}

/// Docker's default capabilities, as names.
fn default_capabilities() -> Vec<String> {
    super::super::DEFAULT_CAPABILITIES
        .iter()
        .map(|c| c.to_string())
        .collect()
}

fn on_this_machine(profile: &SeccompProfile, capabilities: &[String]) -> resolve::Resolved {
    let target = Target {
        capabilities,
        arch: syscalls::native_arch(),
        kernel: kernel::version().unwrap(),
    };
    resolve(profile, &target).unwrap()
}

/// The calls of `calls` among `both`, outside the differences.
fn comparable(calls: &Calls, both: &std::collections::BTreeSet<i64>) -> Calls {
    let different: Vec<i64> = DIFFERENCES
        .iter()
        .filter_map(|name| syscalls::number(name))
        .collect();
    calls
        .iter()
        .filter(|(number, _)| both.contains(number) && !different.contains(number))
        .map(|(number, rules)| {
            let mut rules = rules.clone();
            rules.sort();
            (*number, rules)
        })
        .collect()
}

/// Every call either profile names, here.
fn named(profile: &SeccompProfile) -> std::collections::BTreeSet<i64> {
    profile
        .syscalls
        .iter()
        .flat_map(|rule| rule.all_names())
        .filter_map(syscalls::number)
        .collect()
}

#[test]
fn the_default_profile_allows_what_dockers_allows() {
    let docker = dockers_profile();
    let ours = default::profile();
    // Every call either names (on this machine), so that a call one of
    // them forgets shows too; the intended differences aside.
    let both: std::collections::BTreeSet<i64> =
        named(&docker).union(&named(&ours)).copied().collect();
    assert!(both.len() > 250, "only {} calls named", both.len());
    let extra = |cap: &str| {
        let mut caps = default_capabilities();
        caps.push(cap.to_string());
        caps
    };
    for capabilities in [
        default_capabilities(),
        extra("CAP_SYS_ADMIN"),
        extra("CAP_SYS_PTRACE"),
        extra("CAP_SYS_TIME"),
        extra("CAP_DAC_READ_SEARCH"),
    ] {
        let dockers = on_this_machine(&docker, &capabilities);
        let bockers = on_this_machine(&ours, &capabilities);
        assert_eq!(bockers.default, dockers.default, "the default action");
        assert_eq!(
            comparable(&bockers.let_through, &both),
            comparable(&dockers.let_through, &both),
            "the calls let through, with {capabilities:?}"
        );
        let others = |resolved: &resolve::Resolved| -> BTreeMap<Outcome, Calls> {
            resolved
                .others
                .iter()
                .map(|(outcome, calls)| (*outcome, comparable(calls, &both)))
                .collect()
        };
        assert_eq!(others(&bockers), others(&dockers), "the other outcomes");
    }
}

#[test]
fn the_differences_are_real() {
    // If Docker's profile stopped allowing io_uring, or ours started, the
    // list of differences (and default.rs's comment) would be wrong.
    let docker = on_this_machine(&dockers_profile(), &default_capabilities());
    let ours = on_this_machine(&default::profile(), &default_capabilities());
    for name in DIFFERENCES {
        let number = syscalls::number(name).unwrap();
        assert!(
            docker.let_through.contains_key(&number),
            "Docker allows {name}"
        );
        assert!(
            !ours.let_through.contains_key(&number),
            "bocker refuses {name}"
        );
    }
}

#[test]
fn clone3_answers_enosys_unless_sys_admin() {
    let ours = on_this_machine(&default::profile(), &default_capabilities());
    let enosys = Outcome {
        action: RuleAction::Errno,
        errno: libc::ENOSYS as u32,
    };
    assert!(ours.others[&enosys].contains_key(&libc::SYS_clone3));
    let mut admin = default_capabilities();
    admin.push("CAP_SYS_ADMIN".to_string());
    let admin = on_this_machine(&default::profile(), &admin);
    assert!(admin.others.is_empty());
    assert_eq!(admin.let_through.get(&libc::SYS_clone3), Some(&vec![]));
}

#[test]
fn every_name_of_the_default_profile_is_known_here() {
    for rule in &default::profile().syscalls {
        for name in rule.all_names() {
            let arch_specific = !rule.includes.arches.is_empty();
            assert!(
                syscalls::number(name).is_some() || arch_specific,
                "{name} is not a call of this machine: a typo in default.rs?"
            );
        }
    }
}
