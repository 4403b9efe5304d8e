//! Talking netlink to the host and to a container.
//!
//! # Two namespaces, two sockets
//!
//! A netlink socket talks to the network namespace it was *created* in,
//! whatever the process does afterwards. bocker needs both sides of the
//! cable: the bridge and the host's end are in the host's namespace, the
//! container's end, its address and route are in the container's. So it
//! opens two sockets:
//!
//! * one in bocker's own namespace (the host's), as usual;
//! * one in the container's: a short-lived thread joins the container's
//!   network namespace with setns(2) (a namespace is a property of each
//!   thread), creates the socket there, hands it back and ends. bocker's
//!   main thread never leaves the host's namespace.
//!
//! rtnetlink is asynchronous: it runs on a tokio runtime, a small one with
//! a single thread, which bocker starts only *after* the container's child
//! exists. A process with more than one thread must not fork (see
//! runtime/process/); the helper thread has ended by then too.

use std::fs::File;
use std::future::Future;

use anyhow::{Context, Result};
use nix::sched::{setns, CloneFlags};
use nix::unistd::Pid;
use rtnetlink::Handle;
use tokio::runtime::Runtime;

/// A tokio runtime and a netlink connection to the host's namespace.
pub struct Netlink {
    runtime: Runtime,
    host: Handle,
}

impl Netlink {
    pub fn host() -> Result<Netlink> {
        // current_thread: no worker threads; the work happens in block_on.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .context("cannot start the async runtime")?;
        let host = connect(&runtime)?;
        Ok(Netlink { runtime, host })
    }

    pub fn handle(&self) -> &Handle {
        &self.host
    }

    /// A connection to the network namespace of process `pid`.
    pub fn inside(&self, pid: Pid) -> Result<Handle> {
        let namespace = File::open(format!("/proc/{pid}/ns/net"))
            .with_context(|| format!("cannot open the network namespace of process {pid}"))?;
        let runtime = self.runtime.handle().clone();
        std::thread::spawn(move || -> Result<Handle> {
            setns(&namespace, CloneFlags::CLONE_NEWNET)
                .context("cannot join the container's network namespace")?;
            let _inside_the_runtime = runtime.enter();
            let (connection, handle, _) =
                rtnetlink::new_connection().context("cannot open a netlink socket")?;
            runtime.spawn(connection);
            Ok(handle)
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the thread that joins the container's network died"))?
    }

    /// Run async netlink work to its end.
    pub fn run<T>(&self, work: impl Future<Output = T>) -> T {
        self.runtime.block_on(work)
    }
}

fn connect(runtime: &Runtime) -> Result<Handle> {
    let _inside_the_runtime = runtime.enter();
    let (connection, handle, _) =
        rtnetlink::new_connection().context("cannot open a netlink socket")?;
    runtime.spawn(connection);
    Ok(handle)
}
