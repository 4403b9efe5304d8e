//! `bocker run IMAGE COMMAND…`: make a container and run a command in it.
//!
//! 1. Check every flag; nothing is created before that.
//! 2. Build the container under a hidden name: claim its name, give it its
//!    own root filesystem (a copy of the image; chapter 6 makes this a btrfs
//!    snapshot), write its record, and move it into place.
//! 3. Start the command (`container::spawn`), recording the pid.
//! 4. Relay its output to the terminal and the log until it exits.
//! 5. Tear down what it held, record the exit code, and end with it.
//!
//! With `-d` (chapter 2), a small monitor process does steps 3 to 5 in the
//! background, and bocker itself returns as soon as the command runs.

use std::net::Ipv4Addr;
use std::path::Path;

use anyhow::Result;

use crate::cli::RunArgs;
use crate::runtime::mapped_root::with_the_containers_ids;
use crate::runtime::{ContainerConfig, Stdin};
use crate::spec::Network;
use crate::spec::ProcessId;
use crate::state::logs::LogWriter;
use crate::state::records::{self, ContainerRecord, Status};
use crate::state::Store;
use crate::storage::rootfs;

#[cfg(feature = "stage7")]
mod defaults;
#[cfg(feature = "stage2")]
mod detach;
mod keeper;
mod options;
#[cfg(feature = "docker")]
pub(super) use detach::start_in_background;
#[cfg(feature = "docker")]
pub(super) use options::check_name;

#[cfg(feature = "stage2")]
pub use options::check_command;
#[cfg(feature = "stage4")]
pub use options::limits;

pub fn run(root: &Path, args: RunArgs) -> Result<u8> {
    make(root, args, Then::Run)
}

/// Docker's `create`: the container made as `run` makes it, its record
/// saying Created, and no process: `start` runs it.
#[cfg(feature = "docker")]
pub fn create(root: &Path, args: RunArgs) -> Result<u8> {
    make(root, args, Then::Wait)
}

/// What follows the making of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    Run,
    #[cfg(feature = "docker")]
    Wait,
}

fn make(root: &Path, args: RunArgs, then: Then) -> Result<u8> {
    let checked = options::check(&args)?;
    if then == Then::Run && !checked.detach && checked.restart != crate::spec::RestartPolicy::No {
        anyhow::bail!(crate::errors::Failure::new(
            crate::errors::USAGE,
            "--restart needs -d (or create): the monitor in the background starts it again"
        ));
    }
    let store = super::create_store(root)?;
    #[cfg(not(feature = "stage7"))]
    let (image, command, env) = (store.image(&args.image)?, args.command.clone(), checked.env);
    // Chapter 7: a reference names an image too, and the image's config
    // gives the command, variables, directory and user.
    #[cfg(feature = "stage7")]
    let (image, command, env) = {
        let image = defaults::find_image(&store, &args.image)?;
        let command = defaults::command_for(&image, &args.command)?;
        let env = defaults::env_for(&image, checked.env);
        (image, command, env)
    };
    let image_defaults = image.defaults.clone().unwrap_or_default();

    let network = network_of(&store, &checked.network)?;

    let staged = store.stage_container(checked.name.as_deref())?;
    let id = staged.id.clone();
    let hostname = checked.hostname.clone().unwrap_or_else(|| id.clone());
    let address = claim_address(&store, &id, &network)?;
    let rootfs = staged.paths().rootfs;
    let image_rootfs = store.image_rootfs(&image.id);
    let copied = if image.subordinate_owners {
        with_the_containers_ids(|| rootfs::create(&image_rootfs, &rootfs))
    } else {
        rootfs::create(&image_rootfs, &rootfs)
    };
    let prepared = copied
        .and_then(|()| named_volumes(&store, &rootfs, &checked.volumes))
        .and_then(|()| write_etc_files(&rootfs, &hostname, address));
    if let Err(error) = prepared {
        release_address(&store, &id, address);
        return Err(error);
    }
    let user = user_of(&args).or(image_defaults.user);
    #[cfg(feature = "stage7")]
    let env = with_home(env, &rootfs, user.as_deref());

    let record = ContainerRecord {
        id,
        name: checked.name,
        image: image.id,
        command,
        hostname,
        env,
        workdir: image_defaults.working_dir,
        user,
        security: checked.security,
        network,
        address,
        ports: checked.ports,
        init: checked.init,
        tty: checked.tty,
        limits: checked.limits,
        log_options: checked.log_options,
        cgroupns: checked.cgroupns,
        created: records::now(),
        status: Status::Created,
        pid: None,
        pid_start_time: None,
        // Whoever moves the container into place watches it: this process,
        // or the monitor of `run -d`.
        keeper: ProcessId::myself(),
        exit_code: None,
        oom_killed: false,
        auto_remove: args.rm,
        restart_policy: checked.restart,
        restart_count: 0,
        stopped_by_user: false,
        volumes: checked.volumes,
        read_only_root: checked.read_only_root,
    };
    #[cfg(feature = "docker")]
    if then == Then::Wait {
        return created_only(&store, staged, record);
    }
    let _ = then;
    #[cfg(feature = "stage2")]
    if checked.detach {
        return detach::run_in_background(&store, staged, record, args.rm);
    }
    let (paths, lock) = store.commit_container(staged, &record)?;
    #[cfg(feature = "docker")]
    store.event("create", &record, &[]);
    let stdin = if args.interactive {
        Stdin::Pipe
    } else {
        Stdin::Null
    };
    let config = ContainerConfig::new(&store, &record, stdin);
    let mut log = LogWriter::open(&paths.log, record.log_options)?;
    let mut keeper = keeper::Keeper {
        store: &store,
        record,
        remove_after: args.rm,
        lock: Some(lock),
    };
    let code = keeper.start_and_relay(&config, &mut log, true)?;
    Ok(u8::try_from(code).unwrap_or(1))
}

/// `-v NAME:/path`: make each named volume not made yet; one that is
/// empty gets what the image has at that path, as Docker does (a
/// database's image that brings its /var/lib/db files starts with them).
/// The image's path is opened inside its root (storage/rootfs.rs): a
/// symlink there leads inside the image, never to the host's files.
fn named_volumes(store: &Store, rootfs: &Path, volumes: &[crate::spec::Volume]) -> Result<()> {
    use crate::spec::volumes::VolumeSource;
    use nix::fcntl::OFlag;
    for volume in volumes {
        let VolumeSource::Named(name) = &volume.source else {
            continue;
        };
        store.volumes().create(name)?;
        let data = store.volumes().data(name);
        let empty = std::fs::read_dir(&data)?.next().is_none();
        let directory = OFlag::O_PATH | OFlag::O_DIRECTORY;
        let Ok(source) = rootfs::open_inside(rootfs, &volume.target, directory) else {
            continue; // nothing there in the image: the volume stays empty
        };
        if empty {
            with_the_containers_ids(|| {
                crate::storage::copy::copy_into(&rootfs::fd_folder(&source), &data, &[])
            })?;
        }
    }
    Ok(())
}

/// Move the container into place with no keeper (it has no process), and
/// say its id. Its bridge address, if any, goes back to the pool: `start`
/// claims one again.
#[cfg(feature = "docker")]
fn created_only(
    store: &Store,
    staged: crate::state::store::Staged<'_>,
    mut record: ContainerRecord,
) -> Result<u8> {
    use std::io::Write;
    release_address(store, &record.id, record.address);
    record.address = None;
    record.keeper = None;
    let (_, lock) = store.commit_container(staged, &record)?;
    lock.release();
    store.event("create", &record, &[]);
    writeln!(std::io::stdout(), "{}", record.id)?;
    Ok(0)
}

/// Chapter 7: a command run as another user gets that user's home as
/// HOME, from the image's /etc/passwd (`/` for a user it does not list),
/// unless the image or `-e` set HOME; as runc does. Programs keep their
/// caches and settings under $HOME: /root, chapter 1's default, is not
/// theirs to write. Without a user, HOME stays /root.
#[cfg(feature = "stage7")]
fn with_home(
    mut env: Vec<(String, String)>,
    rootfs: &Path,
    user: Option<&str>,
) -> Vec<(String, String)> {
    if let Some(user) = user {
        if !env.iter().any(|(key, _)| key == "HOME") {
            // Read from the host, without following the image's symlinks.
            let passwd = rootfs::read_etc_file(rootfs, "passwd").unwrap_or_default();
            env.push((
                "HOME".to_string(),
                crate::runtime::process::user::home_of(&passwd, user),
            ));
        }
    }
    env
}

/// `--user` (chapter 7), which wins over the image's User.
fn user_of(args: &RunArgs) -> Option<String> {
    #[cfg(feature = "stage7")]
    return args.user.clone().filter(|user| !user.is_empty());
    #[cfg(not(feature = "stage7"))]
    {
        let _ = args;
        None
    }
}

/// `--net container:NAME` names a container: record its id, and check it
/// runs. Other modes as they are.
fn network_of(store: &Store, asked: &Network) -> Result<Network> {
    match asked {
        #[cfg(feature = "stage5")]
        Network::Container(name) => Ok(Network::Container(
            super::running::container(store, name)?.id,
        )),
        other => {
            let _ = store;
            Ok(other.clone())
        }
    }
}

/// With `--net bridge`, an address of the bridge's subnet (chapter 5).
fn claim_address(store: &Store, id: &str, network: &Network) -> Result<Option<Ipv4Addr>> {
    match network {
        #[cfg(feature = "stage5")]
        Network::Bridge => Ok(Some(crate::runtime::network::claim_address(store, id)?)),
        _ => {
            let _ = (store, id);
            Ok(None)
        }
    }
}

fn release_address(store: &Store, id: &str, address: Option<Ipv4Addr>) {
    #[cfg(feature = "stage5")]
    if address.is_some() {
        crate::runtime::network::release_address(store, id);
    }
    let _ = (store, id, address);
}

/// Files in the container's /etc that name it: /etc/hostname (Docker shows
/// the container's hostname there, and so do we); from chapter 5 also
/// /etc/hosts and the host's /etc/resolv.conf.
fn write_etc_files(rootfs: &Path, hostname: &str, address: Option<Ipv4Addr>) -> Result<()> {
    rootfs::write_etc_file(rootfs, "hostname", &format!("{hostname}\n"))?;
    #[cfg(feature = "stage5")]
    {
        use crate::runtime::network;
        rootfs::write_etc_file(rootfs, "hosts", &network::hosts_file(hostname, address))?;
        if let Some(resolv) = network::resolv_conf() {
            rootfs::write_etc_file(rootfs, "resolv.conf", &resolv)?;
        }
    }
    let _ = address;
    Ok(())
}
