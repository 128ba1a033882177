//! Start-up recovery and rollback: the two operations that read what a
//! previous run left beside the target and put it in order.
//!
//! Recovery reasons only from names and markers, so it is right whatever
//! moment a previous devloop was killed at:
//! - no target: the newest whole tree takes its place (a marked stage, a
//!   fallback backup, or a kept generation, by generation number);
//! - `stage-<n>` while the target is generation n: the exchange happened and
//!   this is the tree it displaced, so it becomes a generation;
//! - any other stage (unmarked, or marked but never swapped in): deleted;
//! - a backup: the whole old tree of an interrupted fallback: a generation;
//! - `gen-<k>` holding another generation (an interrupted rollback): renamed
//!   to its own number;
//! - trash: deleted; generations beyond `keep`: pruned.

use std::fmt;
use std::path::{Path, PathBuf};

use super::generations::{discard, prune, ranked, to_generation};
use super::layout::{Kind, Layout, read_marker};
use super::{PromoteError, StrategyPref, io_err, swap};

/// What recovery changed, for one log line (`Display`), empty when nothing.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// The tree put back in place of a missing target, and its generation.
    pub restored_from: Option<PathBuf>,
    pub restored_generation: Option<u64>,
    /// Leftovers kept as generations (trees that were whole).
    pub adopted: Vec<PathBuf>,
    /// Leftovers deleted (incomplete stages, trash, generations beyond keep).
    pub removed: Vec<PathBuf>,
}

impl Recovery {
    pub fn is_empty(&self) -> bool {
        self.restored_from.is_none() && self.adopted.is_empty() && self.removed.is_empty()
    }
}

impl fmt::Display for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(from) = &self.restored_from {
            let generation = self
                .restored_generation
                .map_or("a tree devloop did not make".to_string(), |g| {
                    format!("generation {g}")
                });
            parts.push(format!(
                "restored the missing target from {} ({generation})",
                from.display()
            ));
        }
        if !self.adopted.is_empty() {
            parts.push(format!(
                "kept {} leftover tree(s) as generations",
                self.adopted.len()
            ));
        }
        if !self.removed.is_empty() {
            parts.push(format!("removed {} leftover(s)", self.removed.len()));
        }
        if parts.is_empty() {
            return f.write_str("nothing to recover");
        }
        f.write_str(&parts.join("; "))
    }
}

/// The generation in place at `target`, from its marker; `None` when there
/// is no target or devloop did not make it.
pub fn current_generation(target: &Path) -> Option<u64> {
    read_marker(target).map(|m| m.generation)
}

/// Puts the target and its siblings in order after any interruption. Run at
/// every start, before anything else. Blocking.
pub fn recover(target: &Path, keep: usize) -> Result<Recovery, PromoteError> {
    let _busy = super::activity::Busy::start();
    let layout = Layout::new(target).map_err(io_err("use", target))?;
    let mut report = Recovery::default();
    if !layout.parent.is_dir() {
        return Ok(report);
    }
    let dir = swap::open_parent(&layout)?;
    let siblings = layout.scan().map_err(io_err("list", &layout.parent))?;
    for (kind, path) in &siblings {
        if *kind == Kind::Trash {
            discard(&layout, path)?;
            report.removed.push(path.clone());
        }
    }
    if std::fs::symlink_metadata(target).is_err()
        && let Some((generation, path)) = newest_whole(&siblings)
    {
        swap::rename(&dir, &layout, &swap::name_of(&path), &layout.name)?;
        report.restored_generation = generation;
        report.restored_from = Some(path);
    }
    let current = current_generation(target);
    for (kind, path) in layout.scan().map_err(io_err("list", &layout.parent))? {
        let name = swap::name_of(&path);
        match kind {
            Kind::Stage(n) if current == Some(n) => {
                to_generation(&layout, &dir, &name, current)?;
                report.adopted.push(path);
            }
            Kind::Stage(_) | Kind::Trash => {
                discard(&layout, &path)?;
                report.removed.push(path);
            }
            Kind::Backup(_) => {
                to_generation(&layout, &dir, &name, current)?;
                report.adopted.push(path);
            }
            Kind::Gen(k) => match read_marker(&path) {
                Some(m) if m.generation != k => {
                    to_generation(&layout, &dir, &name, current)?;
                    report.adopted.push(path);
                }
                _ => {}
            },
            Kind::Spare => {}
        }
    }
    report.removed.extend(prune(&layout, &dir, keep)?);
    swap::sync_dir(&dir, &layout)?;
    Ok(report)
}

/// The whole tree with the highest generation: marked stages, backups and
/// generations; unmarked backups and generations count as generation 0.
fn newest_whole(siblings: &[(Kind, PathBuf)]) -> Option<(Option<u64>, PathBuf)> {
    siblings
        .iter()
        .filter_map(|(kind, path)| {
            let marker = read_marker(path).map(|m| m.generation);
            match kind {
                Kind::Stage(n) if marker == Some(*n) => Some((marker, path.clone())),
                Kind::Backup(_) | Kind::Gen(_) => Some((marker, path.clone())),
                _ => None,
            }
        })
        .max_by_key(|(g, _)| g.unwrap_or(0))
}

/// Swaps the previous generation back into place (see the module docs of
/// `promote` for which one that is). Returns the generation now in place.
pub fn rollback(target: &Path) -> Result<u64, PromoteError> {
    let _busy = super::activity::Busy::start();
    let layout = Layout::new(target).map_err(io_err("use", target))?;
    let none = || PromoteError::NoPreviousGeneration {
        target: target.to_path_buf(),
    };
    if !layout.parent.is_dir() {
        return Err(none());
    }
    let current = read_marker(target);
    let gens = ranked(&layout)?;
    let wanted = current.and_then(|m| m.previous);
    let chosen = gens
        .iter()
        .find(|(n, _)| Some(*n) == wanted)
        .or_else(|| match current {
            Some(m) => gens
                .iter()
                .filter(|(n, _)| *n < m.generation)
                .max_by_key(|(n, _)| *n),
            None => gens.iter().max_by_key(|(n, _)| *n),
        });
    let Some((generation, path)) = chosen.cloned() else {
        return Err(none());
    };
    let mut changed = super::nudge::diff_trees(target, &path);
    let dir = swap::open_parent(&layout)?;
    let backup = swap::name_of(&layout.sibling(Kind::Backup(generation)));
    let swapped = swap::swap_in(
        &layout,
        &dir,
        &swap::name_of(&path),
        &backup,
        StrategyPref::Auto,
    )?;
    let now = current_generation(target).or(Some(generation));
    if let Some(old) = &swapped.displaced {
        to_generation(&layout, &dir, old, now)?;
    }
    swap::sync_dir(&dir, &layout)?;
    super::nudge::after_swap(&layout, &mut changed);
    Ok(generation)
}
