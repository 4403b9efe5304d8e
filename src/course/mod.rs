//! The course machinery: the one-line report of an exercise that is not
//! done yet (`exercise`).
//!
//! Each chapter's exercise file plugs into the folder of the frame that
//! uses it, as a module compiled from `chapters/NN-topic/` (yours) or,
//! with feature `solvedN`, from `solutions/NN-topic/`:
//!
//! | chapter | file | module |
//! |---|---|---|
//! | 1 chroot | `01-chroot/chroot.rs` | `runtime::process::chroot` |
//! | 2 namespaces | `02-namespaces/namespaces.rs` | `runtime::process::namespaces` |
//! | 3 mounts and /proc | `03-mounts/mounts.rs` | `runtime::process::mounts` |
//! | 4 cgroups | `04-cgroups/files.rs`, `04-cgroups/cgroups.rs` | `runtime::cgroup::files`, `runtime::cgroup::chapter` |
//! | 5 network | `05-network/network.rs` | `runtime::network::chapter` |
//! | 5, optional (`extra5`) | `05-network/extra_nat.rs` | `runtime::network::extra_nat` |
//! | 6 btrfs | `06-btrfs/btrfs.rs` | `storage::btrfs` |
//! | 7 registry pull | `07-registry/registry.rs` | `registry::chapter` |
//! | 7 extra: tokens | `07-registry/extra_token.rs` | `registry::token` |
//! | 8 locking it in | `08-security/security.rs` | `runtime::security::chapter` |
//! | 9 without root | `09-userns/userns.rs` | `runtime::userns::maps` |
//!
//! A chapter's module sits beside the frame code that calls it, so each
//! folder reads as one mechanism: the given part and yours.

pub mod exercise;
