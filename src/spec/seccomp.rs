//! A seccomp profile: which system calls a container may make, in the
//! JSON that Docker (`--security-opt seccomp=FILE`) and the OCI runtime
//! spec (`linux.seccomp` in config.json) both read.
//!
//! ```json
//! {
//!   "defaultAction": "SCMP_ACT_ERRNO",
//!   "syscalls": [
//!     { "names": ["read", "write"], "action": "SCMP_ACT_ALLOW" },
//!     { "names": ["clone"], "action": "SCMP_ACT_ALLOW",
//!       "args": [{ "index": 0, "value": 2114060288, "op": "SCMP_CMP_MASKED_EQ" }],
//!       "excludes": { "caps": ["CAP_SYS_ADMIN"] } }
//!   ]
//! }
//! ```
//!
//! A call no rule names gets the default action. A rule may check the
//! call's arguments (all of its checks must hold), and Docker's may apply
//! only with some capabilities, architectures or kernels (`includes`), or
//! not with them (`excludes`). runtime/security/seccomp/ turns a profile
//! into the filters the kernel runs.

use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeccompProfile {
    /// What a call no rule names gets.
    pub default_action: RuleAction,
    /// The errno of a default action SCMP_ACT_ERRNO (EPERM if not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    #[serde(default, deserialize_with = "null_is_empty")]
    pub syscalls: Vec<SyscallRule>,
}

/// One rule: these calls, this action, when the checks hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyscallRule {
    #[serde(default, deserialize_with = "null_is_empty")]
    pub names: Vec<String>,
    /// The older form of Docker's profiles: one name per rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub action: RuleAction,
    /// The errno of an action SCMP_ACT_ERRNO (EPERM if not given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    /// Checks of the call's arguments, all of which must hold.
    #[serde(default, deserialize_with = "null_is_empty")]
    pub args: Vec<ArgCheck>,
    /// Docker's: the rule applies only where all of these hold…
    #[serde(default, skip_serializing_if = "Conditions::is_empty")]
    pub includes: Conditions,
    /// …and not where any of these does.
    #[serde(default, skip_serializing_if = "Conditions::is_empty")]
    pub excludes: Conditions,
}

impl SyscallRule {
    /// Every name the rule gives, in either form.
    pub fn all_names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().chain(&self.name).map(String::as_str)
    }
}

/// Where a Docker rule applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conditions {
    /// Architectures, as Go names them: `amd64`, `arm64`, …
    #[serde(default, deserialize_with = "null_is_empty")]
    pub arches: Vec<String>,
    /// Capabilities: `CAP_SYS_ADMIN`, …
    #[serde(default, deserialize_with = "null_is_empty")]
    pub caps: Vec<String>,
    /// A kernel version: `4.8`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_kernel: Option<String>,
}

impl Conditions {
    pub fn is_empty(&self) -> bool {
        self.arches.is_empty() && self.caps.is_empty() && self.min_kernel.is_none()
    }
}

/// What happens to a call (libseccomp's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RuleAction {
    /// It goes through.
    #[serde(rename = "SCMP_ACT_ALLOW")]
    Allow,
    /// It fails with an errno (`errnoRet`, EPERM if not given).
    #[serde(rename = "SCMP_ACT_ERRNO")]
    Errno,
    /// It goes through, and the kernel logs it.
    #[serde(rename = "SCMP_ACT_LOG")]
    Log,
    /// The thread that made it is killed (libseccomp's KILL).
    #[serde(rename = "SCMP_ACT_KILL", alias = "SCMP_ACT_KILL_THREAD")]
    KillThread,
    /// The whole process is killed.
    #[serde(rename = "SCMP_ACT_KILL_PROCESS")]
    KillProcess,
    /// The process gets SIGSYS.
    #[serde(rename = "SCMP_ACT_TRAP")]
    Trap,
    /// A tracer (ptrace) decides.
    #[serde(rename = "SCMP_ACT_TRACE")]
    Trace,
    /// A supervisor process decides (seccomp_unotify(2)).
    #[serde(rename = "SCMP_ACT_NOTIFY")]
    Notify,
}

/// A check of one argument of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArgCheck {
    /// Which argument: 0 to 5.
    pub index: u8,
    pub value: u64,
    /// For SCMP_CMP_MASKED_EQ: the value that `argument & value` must equal.
    #[serde(default)]
    pub value_two: u64,
    pub op: CompareOp,
}

/// How an argument is compared with the check's `value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CompareOp {
    #[serde(rename = "SCMP_CMP_NE")]
    NotEqual,
    #[serde(rename = "SCMP_CMP_LT")]
    Less,
    #[serde(rename = "SCMP_CMP_LE")]
    LessOrEqual,
    #[serde(rename = "SCMP_CMP_EQ")]
    Equal,
    #[serde(rename = "SCMP_CMP_GE")]
    GreaterOrEqual,
    #[serde(rename = "SCMP_CMP_GT")]
    Greater,
    /// `argument & value == value_two`.
    #[serde(rename = "SCMP_CMP_MASKED_EQ")]
    MaskedEqual,
}

/// Docker's own profiles write `"args": null` where they mean none.
fn null_is_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(deserializer)?.unwrap_or_default())
}
