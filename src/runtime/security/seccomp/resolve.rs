//! A profile, for one container on this machine: which rules apply (its
//! capabilities, this architecture, this kernel), each name as this
//! machine's number, the calls grouped by what happens to them.

use std::collections::BTreeMap;

use super::syscalls;
use crate::spec::seccomp::{ArgCheck, Conditions, RuleAction, SeccompProfile, SyscallRule};

/// What happens to a call: an action, and for SCMP_ACT_ERRNO the errno
/// (for SCMP_ACT_TRACE the number given to the tracer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Outcome {
    pub action: RuleAction,
    pub errno: u32,
}

impl Outcome {
    /// Does the call go ahead? (A logged call does.)
    pub fn lets_through(&self) -> bool {
        matches!(self.action, RuleAction::Allow | RuleAction::Log)
    }
}

/// For each call number, the rules under which it gets an outcome: an
/// empty list means "whatever its arguments"; otherwise one of the lists
/// of checks must hold in full.
pub type Calls = BTreeMap<i64, Vec<Vec<ArgCheck>>>;

/// A profile made ready for the filters.
#[derive(Debug, Default)]
pub struct Resolved {
    /// What a call no rule names gets.
    pub default: Option<Outcome>,
    /// The calls a rule lets through (allowed or logged).
    pub let_through: Calls,
    /// Every outcome other than "allow", with its calls.
    pub others: BTreeMap<Outcome, Calls>,
    /// The highest call number the profile names on this machine.
    pub highest_named: Option<i64>,
}

/// Where the filter will run: this container's capabilities, this machine.
pub struct Target<'a> {
    pub capabilities: &'a [String],
    /// As profiles name it: `amd64`, `arm64`.
    pub arch: &'a str,
    pub kernel: (u32, u32),
}

pub fn resolve(profile: &SeccompProfile, target: &Target) -> Result<Resolved, String> {
    let default = outcome(profile.default_action, profile.default_errno_ret)?;
    let mut resolved = Resolved {
        default: Some(default),
        ..Resolved::default()
    };
    for rule in &profile.syscalls {
        if !applies(rule, target) {
            continue;
        }
        if let Some(check) = rule.args.iter().find(|check| check.index > 5) {
            return Err(format!(
                "a rule checks argument {}: calls have 6, from 0 to 5",
                check.index
            ));
        }
        let outcome = outcome(rule.action, rule.errno_ret)?;
        for name in rule.all_names() {
            // A call another architecture has (Docker's profile names
            // those of eight): passed over, as libseccomp does.
            let Some(number) = syscalls::number(name) else {
                continue;
            };
            resolved.highest_named = resolved.highest_named.max(Some(number));
            if outcome.lets_through() {
                add(&mut resolved.let_through, number, &rule.args);
            }
            if outcome.action != RuleAction::Allow {
                add(
                    resolved.others.entry(outcome).or_default(),
                    number,
                    &rule.args,
                );
            }
        }
    }
    Ok(resolved)
}

/// Add a rule's checks for call `number`: one more alternative, or, for a
/// rule without checks, "whatever its arguments", which then stays.
fn add(calls: &mut Calls, number: i64, checks: &[ArgCheck]) {
    match calls.get_mut(&number) {
        // Already "whatever its arguments".
        Some(alternatives) if alternatives.is_empty() => {}
        Some(alternatives) if checks.is_empty() => alternatives.clear(),
        Some(alternatives) => alternatives.push(checks.to_vec()),
        None if checks.is_empty() => {
            calls.insert(number, Vec::new());
        }
        None => {
            calls.insert(number, vec![checks.to_vec()]);
        }
    }
}

fn outcome(action: RuleAction, errno: Option<u32>) -> Result<Outcome, String> {
    if action == RuleAction::Notify {
        return Err(
            "SCMP_ACT_NOTIFY needs a supervisor process that answers the calls, which bocker \
             does not run"
                .to_string(),
        );
    }
    let errno = match action {
        RuleAction::Errno => errno.unwrap_or(libc::EPERM as u32),
        _ => errno.unwrap_or(0),
    };
    Ok(Outcome { action, errno })
}

/// Does a rule apply here? Docker's `includes` must all hold, none of its
/// `excludes` may.
fn applies(rule: &SyscallRule, target: &Target) -> bool {
    all_hold(&rule.includes, target) && !any_holds(&rule.excludes, target)
}

fn all_hold(conditions: &Conditions, target: &Target) -> bool {
    let arch = conditions.arches.is_empty() || conditions.arches.iter().any(|a| a == target.arch);
    let caps = conditions
        .caps
        .iter()
        .all(|cap| target.capabilities.contains(cap));
    let kernel = conditions
        .min_kernel
        .as_deref()
        .is_none_or(|version| kernel_at_least(target.kernel, version));
    arch && caps && kernel
}

fn any_holds(conditions: &Conditions, target: &Target) -> bool {
    conditions.arches.iter().any(|a| a == target.arch)
        || conditions
            .caps
            .iter()
            .any(|cap| target.capabilities.contains(cap))
        || conditions
            .min_kernel
            .as_deref()
            .is_some_and(|version| kernel_at_least(target.kernel, version))
}

/// `4.8` against the running kernel's (major, minor).
fn kernel_at_least(kernel: (u32, u32), version: &str) -> bool {
    let mut parts = version
        .split('.')
        .map(|part| part.parse::<u32>().unwrap_or(0));
    let wanted = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    kernel >= wanted
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::seccomp::CompareOp;

    fn target<'a>(capabilities: &'a [String]) -> Target<'a> {
        Target {
            capabilities,
            arch: syscalls::native_arch(),
            kernel: (6, 1),
        }
    }

    #[test]
    fn capabilities_arches_and_kernels_choose_the_rules() {
        let profile: SeccompProfile = serde_json::from_str(
            r#"{
              "defaultAction": "SCMP_ACT_ERRNO",
              "syscalls": [
                {"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": null},
                {"names": ["mount"], "action": "SCMP_ACT_ALLOW",
                 "includes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ"}],
                 "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
                {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW",
                 "includes": {"minKernel": "7.0"}},
                {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                {"names": ["s390_runtime_instr"], "action": "SCMP_ACT_ALLOW"}
              ]
            }"#,
        )
        .unwrap();
        let plain = resolve(&profile, &target(&[])).unwrap();
        let number = |name| syscalls::number(name).unwrap();
        assert_eq!(plain.let_through.get(&number("read")), Some(&vec![]));
        assert!(!plain.let_through.contains_key(&number("mount")));
        assert!(
            !plain.let_through.contains_key(&number("ptrace")),
            "kernel 6.1 < 7.0"
        );
        let clone = &plain.let_through[&number("clone")];
        assert_eq!(clone.len(), 1);
        assert_eq!(clone[0][0].op, CompareOp::MaskedEqual);
        let enosys = Outcome {
            action: RuleAction::Errno,
            errno: 38,
        };
        assert!(plain.others[&enosys].contains_key(&number("clone3")));
        assert_eq!(
            plain.default,
            Some(Outcome {
                action: RuleAction::Errno,
                errno: libc::EPERM as u32
            })
        );

        let admin = resolve(&profile, &target(&["CAP_SYS_ADMIN".to_string()])).unwrap();
        assert_eq!(admin.let_through.get(&number("mount")), Some(&vec![]));
        assert!(
            !admin.let_through.contains_key(&number("clone")),
            "the rule excludes CAP_SYS_ADMIN"
        );
    }

    #[test]
    fn a_rule_without_checks_wins_over_one_with() {
        let mut calls = Calls::new();
        let check = ArgCheck {
            index: 0,
            value: 1,
            value_two: 0,
            op: CompareOp::Equal,
        };
        add(&mut calls, 7, &[check]);
        add(&mut calls, 7, &[check]);
        assert_eq!(calls[&7].len(), 2);
        add(&mut calls, 7, &[]);
        assert!(calls[&7].is_empty());
        add(&mut calls, 7, &[check]);
        assert!(calls[&7].is_empty());
    }

    #[test]
    fn a_notify_profile_is_refused() {
        let profile: SeccompProfile =
            serde_json::from_str(r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#).unwrap();
        assert!(resolve(&profile, &target(&[])).is_err());
    }
}
