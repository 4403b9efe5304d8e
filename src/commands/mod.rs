//! One module per verb. Each returns the exit code bocker should end with.

#[cfg(feature = "stage2")]
mod exec;
mod images;
mod init;
mod logs;
mod ps;
mod rm;
mod run;
#[cfg(feature = "stage2")]
mod stop;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::store::Store;

pub fn dispatch(cli: Cli) -> Result<u8> {
    let store = Store::open(&cli.root)?;
    match cli.command {
        Command::Init { directory } => init::init(&store, &directory),
        Command::Images => images::images(&store),
        Command::Ps => ps::ps(&store),
        Command::Run(args) => run::run(&store, args),
        Command::Logs { container } => logs::logs(&store, &container),
        Command::Rm { ids } => rm::rm(&store, &ids),
        #[cfg(feature = "stage2")]
        Command::Exec { container, command } => exec::exec(&store, &container, &command),
        #[cfg(feature = "stage2")]
        Command::Stop { grace, containers } => stop::stop(&store, &containers, grace),
    }
}
