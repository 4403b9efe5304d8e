//! `bocker wait CONTAINER…`: block until each container has stopped, then
//! print its exit code, one line each, in the order given (Docker's).
//!
//! A container has stopped when its keeper has recorded the exit (the
//! record says Exited); bocker looks again every tenth of a second. A
//! container whose keeper was killed is recorded by the next sweep, which
//! each look runs. `wait` itself exits 0, or 1 if a container was not
//! found.

use std::io::Write;
use std::time::Duration;

use anyhow::Result;

use crate::state::records::Status;
use crate::state::Store;

pub fn wait(store: &Store, wanted: &[String]) -> Result<u8> {
    super::for_each_named(wanted, |name| {
        let code = exit_code_of(store, name)?;
        writeln!(std::io::stdout(), "{code}")?;
        Ok(())
    })
}

/// Wait for container `name` to stop; its exit code (-1 if bocker was
/// killed before it could know it, as Docker says for a lost one).
fn exit_code_of(store: &Store, name: &str) -> Result<i32> {
    let id = store.container(name)?.id;
    loop {
        let record = store.container(&id)?;
        if record.status == Status::Exited {
            return Ok(record.exit_code.unwrap_or(-1));
        }
        if record.first_process_gone() && record.keeper_gone() {
            // Its keeper died with it: the sweep records the end.
            crate::runtime::sweep::sweep(store);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
