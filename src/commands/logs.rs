//! `bocker logs CONTAINER`: replay what the container printed.

use anyhow::Result;

use crate::state::logs::replay;
use crate::state::Store;

pub fn logs(store: &Store, wanted: &str) -> Result<u8> {
    let container = store.container(wanted)?;
    let path = store.container_paths(&container.id).log;
    replay(
        &path,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    )?;
    Ok(0)
}
