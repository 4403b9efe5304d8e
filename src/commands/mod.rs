//! One module per verb. Each returns the exit code bocker should end with.

#[cfg(feature = "stage6")]
mod commit;
#[cfg(feature = "stage6")]
mod diff;
#[cfg(feature = "stage2")]
mod exec;
mod images;
mod init;
mod logs;
#[cfg(feature = "stage4")]
mod pause;
#[cfg(feature = "stage5")]
mod port;
mod ps;
#[cfg(feature = "stage7")]
mod pull;
mod rm;
mod run;
mod running;
#[cfg(feature = "stage4")]
mod stats;
#[cfg(feature = "stage2")]
mod stop;
#[cfg(feature = "stage6")]
mod system;
#[cfg(feature = "stage4")]
mod update;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::state::Store;

pub fn dispatch(cli: Cli) -> Result<u8> {
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
            images::images(&Store::open_existing(root)?, digests)
        }
        #[cfg(feature = "stage7")]
        Command::Pull(args) => pull::pull(root, args),
        Command::Ps => ps::ps(&Store::open_existing(root)?),
        Command::Logs { container } => logs::logs(&Store::open_existing(root)?, &container),
        Command::Rm { ids } => rm::rm(&Store::open_existing(root)?, &ids),
        #[cfg(feature = "stage2")]
        Command::Exec(args) => exec::exec(&Store::open_existing(root)?, args),
        #[cfg(feature = "stage2")]
        Command::Stop { grace, containers } => {
            stop::stop(&Store::open_existing(root)?, &containers, grace)
        }
        #[cfg(feature = "stage4")]
        Command::Stats {
            no_stream,
            containers,
        } => stats::stats(&Store::open_existing(root)?, &containers, no_stream),
        #[cfg(feature = "stage4")]
        Command::Pause { containers } => {
            pause::pause(&Store::open_existing(root)?, &containers, true)
        }
        #[cfg(feature = "stage4")]
        Command::Unpause { containers } => {
            pause::pause(&Store::open_existing(root)?, &containers, false)
        }
        #[cfg(feature = "stage5")]
        Command::Port { container } => port::port(&Store::open_existing(root)?, &container),
        #[cfg(feature = "stage4")]
        Command::Update { limits, containers } => {
            update::update(&Store::open_existing(root)?, &limits, &containers)
        }
        #[cfg(feature = "stage6")]
        Command::Commit { container, image } => {
            commit::commit(&Store::open_existing(root)?, &container, image.as_deref())
        }
        #[cfg(feature = "stage6")]
        Command::Diff { container } => diff::diff(&Store::open_existing(root)?, &container),
        #[cfg(feature = "stage6")]
        Command::System {
            action: crate::cli::SystemAction::Reset { force },
        } => system::reset(&Store::open_existing(root)?, force),
    }
}
