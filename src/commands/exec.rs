//! `bocker exec CONTAINER COMMAND…`: run a command in a running container.

use anyhow::{bail, Result};

use crate::cli::ExecArgs;
use crate::commands::run::check_command;
use crate::container::process::Liveness;
use crate::container::{join, ContainerConfig, Stdin};
use crate::errors::Failure;
use crate::state::records::Status;
use crate::state::Store;

pub fn exec(store: &Store, args: ExecArgs) -> Result<u8> {
    check_command(&args.command)?;
    let container = store.container(&args.container)?;
    // Running means: pid 1 itself is alive, not only the record saying so.
    let first = match (container.status, container.first_process()) {
        (Status::Running, Some(first)) if first.liveness() == Liveness::Alive => first,
        _ => bail!(Failure::new(
            1,
            format!("Container '{}' exists but is not running", args.container)
        )),
    };
    let stdin = if args.interactive {
        Stdin::Pipe
    } else {
        Stdin::Null
    };
    let config = ContainerConfig::new(store, &container, stdin).with_command(&args.command);
    let code = join::exec_in(nix::unistd::Pid::from_raw(first.pid), &config)?;
    Ok(u8::try_from(code).unwrap_or(1))
}
