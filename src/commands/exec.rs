//! `bocker exec CONTAINER COMMAND…`: run a command in a running container.

use anyhow::{bail, Result};

use super::running;
use crate::cli::ExecArgs;
use crate::commands::run::check_command;
use crate::errors::Failure;
use crate::runtime::{exec as join, ContainerConfig, Stdin};
use crate::state::Store;

pub fn exec(store: &Store, args: ExecArgs) -> Result<u8> {
    // runc's flags are for OCI containers (commands/oci.rs takes those).
    #[cfg(feature = "oci")]
    if args.oci.process.is_some()
        || args.oci.detach
        || args.oci.pid_file.is_some()
        || args.oci.console_socket.is_some()
    {
        bail!(Failure::new(
            crate::errors::USAGE,
            format!(
                "--process, --detach, --pid-file and --console-socket are for OCI containers; {} is not one",
                crate::escape::printable(&args.container)
            )
        ));
    }
    check_command(&args.command)?;
    // Running means: pid 1 itself is alive, not only the record saying so.
    let container = running::container(store, &args.container)?;
    if running::is_paused(&container) {
        bail!(Failure::new(
            1,
            format!(
                "Container '{}' is paused: unpause it before exec",
                args.container
            )
        ));
    }
    let Some(first) = container.first_process() else {
        bail!("the record of {} has no process", container.id);
    };
    let stdin = if args.interactive {
        Stdin::Pipe
    } else {
        Stdin::Null
    };
    #[cfg(feature = "stage3")]
    let tty = args.tty;
    #[cfg(not(feature = "stage3"))]
    let tty = false;
    let config = ContainerConfig::new(store, &container, stdin).with_command(&args.command, tty);
    let code = join::exec_in(&first, &config)?;
    Ok(u8::try_from(code).unwrap_or(1))
}
