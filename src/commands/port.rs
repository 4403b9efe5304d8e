//! `bocker port CONTAINER`: the ports `run -p` published (chapter 5).

use std::io::Write;

use anyhow::Result;

use crate::state::Store;

pub fn port(store: &Store, wanted: &str) -> Result<u8> {
    let container = store.container(wanted)?;
    let mut out = std::io::stdout().lock();
    for port in &container.ports {
        // Docker's form: the container's side, then where the host takes it.
        writeln!(
            out,
            "{}/{} -> 0.0.0.0:{}",
            port.container, port.protocol, port.host
        )?;
    }
    Ok(0)
}
