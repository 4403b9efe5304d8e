//! Plain data that every layer shares: what a container is asked to be.
//!
//! `run`'s flags become these values; the records in `state/` keep them;
//! the pipeline in `runtime/` acts on them. They know nothing of where
//! they come from or what is done with them, so this module uses nothing
//! of bocker's but `errors` (a flag's value that does not parse is a
//! usage error, exit code 2).
//!
//! * `command`: the words typed after the image, and the argv they become;
//! * `network`: `--net none|host|bridge|container:NAME`;
//! * `cgroupns`: `--cgroupns private|host` (chapter 4);
//! * `limits`: `--memory`, `--cpus`, `--cpu-shares`, `--pids-limit`;
//! * `ports`: `-p 8080:80`;
//! * `logs`: `--log-opt max-size=10m --log-opt max-file=3`;
//! * `subnet`: the bridge's range of addresses (`BOCKER_SUBNET`);
//! * `security`: `--cap-add`, `--privileged`, `--security-opt` (chapter 8);
//! * `seccomp`: a seccomp profile, in Docker's JSON (chapter 8);
//! * `process`: one process, even after its pid is reused, and whether it
//!   is alive;
//! * `restart`: `--restart no|on-failure[:N]|always|unless-stopped`;
//! * `volumes`: `-v HOST:CTR[:ro]`, `--tmpfs CTR`.

pub mod cgroupns;
pub mod command;
pub mod hooks;
pub mod limits;
pub mod logs;
pub mod network;
pub mod ports;
pub mod privileges;
pub mod process;
pub mod restart;
pub mod seccomp;
pub mod security;
pub mod subnet;
pub mod volumes;

pub use cgroupns::CgroupNamespace;
pub use limits::Limits;
pub use logs::LogOptions;
pub use network::Network;
pub use ports::Port;
pub use process::{Liveness, ProcessId};
pub use restart::RestartPolicy;
pub use security::SecurityOptions;
pub use subnet::Subnet;
pub use volumes::Volume;
