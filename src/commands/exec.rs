//! `bocker exec CONTAINER COMMAND…`: run a command in a running container.

use anyhow::{bail, Result};

use crate::container::{command, enter, ContainerConfig};
use crate::errors::Failure;
use crate::records::Status;
use crate::store::Store;

pub fn exec(store: &Store, wanted: &str, words: &[String]) -> Result<u8> {
    let container = store.container(wanted)?;
    let pid = match (container.status, container.pid) {
        (Status::Running, Some(pid)) => nix::unistd::Pid::from_raw(pid),
        _ => bail!(Failure::new(
            1,
            format!("Container '{wanted}' exists but is not running")
        )),
    };
    let config = ContainerConfig {
        argv: command::argv_for(words),
        rootfs: store.container_paths(&container.id).rootfs,
        hostname: container.hostname.clone(),
        extra_env: container.env.clone(),
        new_network: true,
    };
    let code = enter::exec_in(pid, &config)?;
    Ok(u8::try_from(code).unwrap_or(1))
}
