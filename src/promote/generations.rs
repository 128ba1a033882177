//! Moving whole trees between sibling names: preparing a staging directory
//! (recycling the generation this promotion pushes beyond `keep`), turning a
//! displaced tree into a generation, pruning beyond `keep`, and deleting. A tree is always renamed to a
//! `trash` name before it is deleted, so a deletion cut short by a crash
//! never leaves a half-empty tree under a name that could be restored.

use std::fs;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use super::layout::{Kind, Layout, MARKER, read_marker};
use super::{PromoteError, io_err, swap};

/// Deletes a sibling tree: rename to trash first, then remove.
pub fn discard(layout: &Layout, path: &Path) -> Result<(), PromoteError> {
    let trash = layout.sibling(Kind::Trash);
    match fs::rename(path, &trash) {
        Ok(()) => fs::remove_dir_all(&trash).map_err(io_err("remove", &trash)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("move to the trash", path)(e)),
    }
}

/// An empty or recycled directory named `.<name>.stage-<n>`, unmarked. The
/// tree recycled is the kept generation that the swap would push beyond
/// `keep` (or a `.spare` left by an older devloop), so at most `keep`
/// generations and the target stay on disk, the stage included.
pub fn prepare_stage(
    layout: &Layout,
    dir: &OwnedFd,
    n: u64,
    keep: usize,
) -> Result<PathBuf, PromoteError> {
    let stage = layout.sibling(Kind::Stage(n));
    discard(layout, &stage)?;
    let spare = layout.sibling(Kind::Spare);
    // After the swap the current target is a generation too: the one at
    // rank `keep - 1` is the first that would be pruned.
    let recycled = match spare.is_dir() {
        true => Some(spare),
        false if keep > 0 && layout.target.is_dir() => {
            ranked(layout)?.into_iter().nth(keep - 1).map(|(_, p)| p)
        }
        false => None,
    };
    if let Some(recycled) = recycled {
        swap::rename(
            dir,
            layout,
            &swap::name_of(&recycled),
            &swap::name_of(&stage),
        )?;
        match fs::remove_file(stage.join(MARKER)) {
            Ok(()) => return Ok(stage),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(stage),
            // Unusable spare (say, read-only): drop it and start empty.
            Err(_) => discard(layout, &stage)?,
        }
    }
    fs::create_dir(&stage).map_err(io_err("create the staging directory", &stage))?;
    Ok(stage)
}

/// Renames the tree at sibling `name` to `.<name>.gen-<m>`, m from its
/// marker (0 for a tree devloop did not make). A tree of the generation
/// `current` (already in place) is a duplicate and is discarded.
pub fn to_generation(
    layout: &Layout,
    dir: &OwnedFd,
    name: &str,
    current: Option<u64>,
) -> Result<(), PromoteError> {
    let path = layout.parent.join(name);
    let m = read_marker(&path).map_or(0, |m| m.generation);
    if read_marker(&path).is_some() && Some(m) == current {
        return discard(layout, &path);
    }
    let generation = layout.sibling(Kind::Gen(m));
    if generation == path {
        return Ok(());
    }
    // The displaced tree was the one in use: it wins over an older copy.
    discard(layout, &generation)?;
    swap::rename(dir, layout, name, &swap::name_of(&generation))
}

/// Kept generations, most wanted first: the rollback chain from the current
/// target (each marker's `previous`), then the rest, newest first.
pub fn ranked(layout: &Layout) -> Result<Vec<(u64, PathBuf)>, PromoteError> {
    let mut gens: Vec<(u64, PathBuf)> = layout
        .scan()
        .map_err(io_err("list", &layout.parent))?
        .into_iter()
        .filter_map(|(kind, path)| match kind {
            Kind::Gen(n) => Some((n, path)),
            _ => None,
        })
        .collect();
    gens.sort_by_key(|g| std::cmp::Reverse(g.0));
    let mut chain = Vec::new();
    let mut at = read_marker(&layout.target).and_then(|m| m.previous);
    while let Some(p) = at {
        let Some(pos) = gens.iter().position(|(n, _)| *n == p) else {
            break;
        };
        let (n, path) = gens.remove(pos);
        at = read_marker(&path).and_then(|m| m.previous);
        chain.push((n, path));
    }
    chain.extend(gens);
    Ok(chain)
}

/// Keeps the `keep` best generations and deletes the rest, and a `.spare`
/// left by an older devloop.
pub fn prune(layout: &Layout, _dir: &OwnedFd, keep: usize) -> Result<Vec<PathBuf>, PromoteError> {
    let mut removed = Vec::new();
    let spare = layout.sibling(Kind::Spare);
    let beyond = ranked(layout)?.into_iter().skip(keep).map(|(_, p)| p);
    for path in beyond.chain(spare.is_dir().then_some(spare)) {
        discard(layout, &path)?;
        removed.push(path);
    }
    Ok(removed)
}
