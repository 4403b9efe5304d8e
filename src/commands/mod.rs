//! One module per verb. Each returns the exit code bocker should end with.

#[cfg(feature = "docker")]
mod attach;
#[cfg(feature = "stage6")]
mod commit;
#[cfg(feature = "docker")]
mod cp;
#[cfg(feature = "stage6")]
mod diff;
#[cfg(feature = "docker")]
mod events;
#[cfg(feature = "stage2")]
mod exec;
#[cfg(feature = "docker")]
mod export;
#[cfg(feature = "docker")]
mod filters;
mod images;
#[cfg(feature = "docker")]
mod info;
mod init;
#[cfg(feature = "docker")]
mod inspect;
mod logs;
#[cfg(feature = "oci")]
mod oci;
#[cfg(feature = "stage4")]
mod pause;
#[cfg(feature = "stage5")]
mod port;
mod ps;
#[cfg(feature = "docker")]
mod ps_docker;
#[cfg(feature = "stage7")]
mod pull;
#[cfg(feature = "docker")]
mod rename;
mod rm;
mod run;
mod running;
#[cfg(feature = "docker")]
mod start;
#[cfg(feature = "stage4")]
mod stats;
#[cfg(feature = "stage2")]
mod stop;
#[cfg(feature = "stage6")]
mod system;
#[cfg(feature = "docker")]
mod top;
#[cfg(feature = "stage4")]
mod update;
#[cfg(feature = "docker")]
mod volume;
#[cfg(feature = "docker")]
mod wait;

use std::path::Path;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::runtime::{sweep, userns};
use crate::state::Store;

/// The state directory, for a verb that reads it. Opening it is also when
/// bocker tidies up after one of its own that was killed midway
/// (runtime/sweep.rs), so that every verb sees a clean state.
fn open_store(root: &Path) -> Result<Store> {
    let store = Store::open_existing(root)?.deleting_with(userns::delete_tree);
    sweep::sweep(&store);
    Ok(store)
}

/// The state directory, made if it is missing: for the verbs that make
/// something (`init`, `run`, `pull`). Swept as [`open_store`] does.
fn create_store(root: &Path) -> Result<Store> {
    let store = Store::create(root)?.deleting_with(userns::delete_tree);
    sweep::sweep(&store);
    Ok(store)
}

/// Do `one` for each name given; go on after a failure (said on stderr),
/// and exit 1 if any failed, as Docker's verbs of several containers do.
#[cfg(feature = "docker")]
fn for_each_named(wanted: &[String], mut one: impl FnMut(&str) -> Result<()>) -> Result<u8> {
    let mut all_done = true;
    for name in wanted {
        if let Err(error) = one(name) {
            crate::errors::print(&error);
            all_done = false;
        }
    }
    Ok(if all_done { 0 } else { 1 })
}

pub fn dispatch(cli: Cli) -> Result<u8> {
    crate::runtime::kernel::check()?;
    // Bocker's `pause` and `exec`, given an OCI container's id, are runc's.
    #[cfg(feature = "oci")]
    if oci::names_an_oci_container(&cli.root, &cli.command) {
        return oci::dispatch(&cli.root, &cli.oci, cli.command);
    }
    let root = &cli.root;
    match cli.command {
        // The two verbs that make something create the state directory.
        Command::Init { directory } => init::init(root, &directory),
        Command::Run(args) => run::run(root, *args),
        // The others need one that exists.
        Command::Images {
            #[cfg(feature = "stage7")]
            digests,
        } => {
            #[cfg(not(feature = "stage7"))]
            let digests = false;
            images::images(&open_store(root)?, digests)
        }
        #[cfg(feature = "stage7")]
        Command::Pull(args) => pull::pull(root, args),
        #[cfg(not(feature = "oci"))]
        Command::Ps {} => ps::ps(&open_store(root)?),
        #[cfg(feature = "docker")]
        Command::Ps {
            format,
            flags,
            id: None,
        } => ps_docker::ps(&open_store(root)?, &flags, format.as_deref()),
        #[cfg(all(feature = "oci", not(feature = "docker")))]
        Command::Ps { format, id: None } => {
            if format.is_some() {
                anyhow::bail!(crate::errors::Failure::new(
                    crate::errors::USAGE,
                    "ps --format is for an OCI container's processes: ps --format json ID"
                ));
            }
            ps::ps(&open_store(root)?)
        }
        #[cfg(feature = "oci")]
        command @ Command::Ps { id: Some(_), .. } => oci::dispatch(root, &cli.oci, command),
        #[cfg(not(feature = "docker"))]
        Command::Logs { container } => logs::logs(&open_store(root)?, &container),
        #[cfg(feature = "docker")]
        Command::Logs { container, flags } => {
            logs::logs_as_docker(&open_store(root)?, &container, &flags)
        }
        Command::Rm { ids } => rm::rm(&open_store(root)?, &ids),
        #[cfg(feature = "stage2")]
        Command::Exec(args) => exec::exec(&open_store(root)?, args),
        #[cfg(feature = "stage2")]
        Command::Stop { grace, containers } => stop::stop(&open_store(root)?, &containers, grace),
        #[cfg(feature = "stage4")]
        Command::Stats {
            no_stream,
            containers,
        } => stats::stats(&open_store(root)?, &containers, no_stream),
        #[cfg(feature = "stage4")]
        Command::Pause { containers } => pause::pause(&open_store(root)?, &containers, true),
        #[cfg(feature = "stage4")]
        Command::Unpause { containers } => pause::pause(&open_store(root)?, &containers, false),
        #[cfg(feature = "stage5")]
        Command::Port { container } => port::port(&open_store(root)?, &container),
        #[cfg(feature = "stage4")]
        Command::Update {
            limits,
            containers,
            #[cfg(feature = "oci")]
            resources,
        } => {
            #[cfg(feature = "oci")]
            if resources.is_some() {
                anyhow::bail!(crate::errors::Failure::new(
                    crate::errors::USAGE,
                    "update --resources is for one OCI container; Bocker's containers take --memory, --cpus, --cpu-shares, --pids-limit"
                ));
            }
            update::update(&open_store(root)?, &limits, &containers)
        }
        #[cfg(feature = "stage6")]
        Command::Commit { container, image } => {
            commit::commit(&open_store(root)?, &container, image.as_deref())
        }
        #[cfg(feature = "stage6")]
        Command::Diff { container } => diff::diff(&open_store(root)?, &container),
        #[cfg(feature = "docker")]
        Command::Inspect {
            format,
            kind,
            names,
        } => inspect::inspect(
            &open_store(root)?,
            &names,
            format.as_deref(),
            kind.as_deref(),
        ),
        #[cfg(feature = "docker")]
        Command::ContainerCreate(args) => run::create(root, *args),
        #[cfg(feature = "docker")]
        Command::Start { ids, attach } => start::start(&open_store(root)?, &ids, attach),
        #[cfg(feature = "docker")]
        Command::Attach { container } => attach::attach(&open_store(root)?, &container),
        #[cfg(feature = "docker")]
        Command::Restart { grace, containers } => {
            start::restart(&open_store(root)?, &containers, grace)
        }
        #[cfg(feature = "docker")]
        Command::Kill { signal, args, .. } => {
            start::kill(&open_store(root)?, &args, signal.as_deref())
        }
        #[cfg(feature = "docker")]
        Command::Rename {
            container,
            new_name,
        } => rename::rename(&open_store(root)?, &container, &new_name),
        #[cfg(feature = "docker")]
        Command::Cp {
            source,
            destination,
        } => cp::cp(&open_store(root)?, &source, &destination),
        #[cfg(feature = "docker")]
        Command::Export { output, container } => {
            export::export(&open_store(root)?, &container, output.as_deref())
        }
        #[cfg(feature = "docker")]
        Command::Top {
            container,
            ps_options,
        } => top::top(&open_store(root)?, &container, &ps_options),
        #[cfg(feature = "docker")]
        Command::Wait { containers } => wait::wait(&open_store(root)?, &containers),
        #[cfg(feature = "docker")]
        Command::Volume { action } => volume::volume(&create_store(root)?, &action),
        #[cfg(feature = "docker")]
        Command::Events(flags) => events::events(root, &flags),
        #[cfg(feature = "docker")]
        Command::Info { format } => info::info(root, format.as_deref()),
        #[cfg(feature = "docker")]
        Command::Version { format } => info::version(format.as_deref()),
        #[cfg(feature = "stage6")]
        Command::System {
            action: crate::cli::SystemAction::Reset { force },
        } => system::reset(&open_store(root)?, force),
        // The OCI runtime interface (commands/oci.rs).
        #[cfg(feature = "oci")]
        command @ (Command::Create(_)
        | Command::State { .. }
        | Command::Resume { .. }
        | Command::Features
        | Command::Delete { .. }) => oci::dispatch(root, &cli.oci, command),
        // With Docker's verbs, start and kill of an OCI container went to
        // oci::dispatch above (names_an_oci_container).
        #[cfg(all(feature = "oci", not(feature = "docker")))]
        command @ (Command::Start { .. } | Command::Kill { .. }) => {
            oci::dispatch(root, &cli.oci, command)
        }
    }
}
