//! The moment of truth: putting a staged tree where the target is. One
//! exchange through a descriptor of the parent directory (the platform's:
//! `renameat2` on Linux, `renameatx_np` on APFS) swaps both names atomically, so a reader resolving the target finds the
//! old tree or the new one, never nothing. Where the filesystem refuses it
//! (NFS, 9p, many FUSE filesystems, overlayfs lower layers) the two-rename
//! fallback runs instead, and its gap is reported through `Strategy::Rename`.

use std::os::fd::OwnedFd;
use std::path::Path;
use std::time::Instant;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::layout::Layout;
use super::{PromoteError, Strategy, StrategyPref, io_err};

/// Where the swapped-out tree ended up, and how long the swap itself took.
pub struct Swapped {
    pub strategy: Strategy,
    pub swap_us: u64,
    /// File name (in the parent) now holding the tree that was the target;
    /// `None` when there was no target.
    pub displaced: Option<String>,
}

/// True when the environment forces the fallback (`DEVLOOP_SWAP=rename`).
pub fn forced_rename(pref: StrategyPref) -> bool {
    pref == StrategyPref::Rename || std::env::var("DEVLOOP_SWAP").is_ok_and(|v| v == "rename")
}

pub fn open_parent(layout: &Layout) -> Result<OwnedFd, PromoteError> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    rustix::fs::open(&layout.parent, flags, Mode::empty())
        .map_err(|e| io_err("open the directory", &layout.parent)(e.into()))
}

/// Puts the directory named `incoming` (a sibling) in place of the target.
/// With the fallback, the old target waits under `backup` and is put back if
/// the second rename fails.
pub fn swap_in(
    layout: &Layout,
    dir: &OwnedFd,
    incoming: &str,
    backup: &str,
    pref: StrategyPref,
) -> Result<Swapped, PromoteError> {
    let target = layout.name.as_str();
    let failed = |what: &str, e: Errno| io_err(what, &layout.target)(e.into());
    let started = Instant::now();
    let elapsed = || u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);

    if !exists(dir, target)? {
        rustix::fs::renameat(dir, incoming, dir, target)
            .map_err(|e| failed("move the staged tree into", e))?;
        let swap_us = elapsed();
        // Nothing to exchange with: one rename, atomic either way; report the
        // strategy in force so a forced fallback never reads "exchange".
        let strategy = if forced_rename(pref) {
            Strategy::Rename
        } else {
            Strategy::Exchange
        };
        return Ok(Swapped {
            strategy,
            swap_us,
            displaced: None,
        });
    }
    if !forced_rename(pref) {
        match crate::platform::exchange(dir, incoming, target) {
            Ok(()) => {
                let swap_us = elapsed();
                return Ok(Swapped {
                    strategy: Strategy::Exchange,
                    swap_us,
                    displaced: Some(incoming.to_string()),
                });
            }
            Err(e) if crate::platform::exchange_refused(e) => {}
            Err(e) => return Err(failed("exchange the staged tree with", e)),
        }
    }
    // Fallback: readers see no target between these two calls.
    let started = Instant::now();
    rustix::fs::renameat(dir, target, dir, backup).map_err(|e| failed("move aside", e))?;
    if let Err(e) = rustix::fs::renameat(dir, incoming, dir, target) {
        let restored = rustix::fs::renameat(dir, backup, dir, target);
        let what = match restored {
            Ok(()) => "move the staged tree into (the old tree was put back)",
            Err(_) => {
                "move the staged tree into (the old tree waits beside it; the next start restores it)"
            }
        };
        return Err(failed(what, e));
    }
    let swap_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    Ok(Swapped {
        strategy: Strategy::Rename,
        swap_us,
        displaced: Some(backup.to_string()),
    })
}

/// Renames one sibling to another name in the same parent.
pub fn rename(dir: &OwnedFd, layout: &Layout, from: &str, to: &str) -> Result<(), PromoteError> {
    rustix::fs::renameat(dir, from, dir, to)
        .map_err(|e| io_err("rename", &layout.parent.join(from))(e.into()))
}

/// Makes the renames durable: a crash after this keeps the new names.
pub fn sync_dir(dir: &OwnedFd, layout: &Layout) -> Result<(), PromoteError> {
    rustix::fs::fsync(dir).map_err(|e| io_err("sync the directory", &layout.parent)(e.into()))
}

fn exists(dir: &OwnedFd, name: &str) -> Result<bool, PromoteError> {
    match rustix::fs::statat(dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) {
        Ok(_) => Ok(true),
        Err(Errno::NOENT) => Ok(false),
        Err(e) => Err(io_err("inspect", Path::new(name))(e.into())),
    }
}

/// The file name of a sibling path (all siblings live in the target's parent).
pub fn name_of(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
