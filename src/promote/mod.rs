//! Promotion: replacing the promote target (e.g. `dist/libs`) with a finished
//! build output so that a reader of the target never finds it missing, empty,
//! partial or mixed (SPEC section 3).
//!
//! How a promotion runs: every `require` path is checked, then the free space
//! of the target's filesystem; the output is copied into a hidden staging
//! directory beside the target (`.libs.stage-<n>`), a marker file
//! (`.devloop-generation`) is written last, and one
//! `renameat2(RENAME_EXCHANGE)` swaps staging and target. The tree swapped
//! out becomes `.libs.gen-<m>`. The build output itself is only read.
//!
//! Generations: numbers only grow, across runs. At most `keep` previous
//! generations stay beside the target. Once there are `keep`, the promotion
//! recycles the one its swap would push out as its staging tree (files whose
//! bytes match are kept instead of created again), so the stage never adds a
//! tree; with `keep = 0` it copies afresh and the old target is deleted
//! after the swap. Pruning happens only after the swap.
//!
//! Rollback is an undo: it puts back the generation that was in place when
//! the current one was promoted (the marker records it), so rolling back
//! twice goes two steps back, and after "rollback, fix, build" a rollback
//! returns to what ran just before that build, not to the broken one. The
//! tree rolled away from is kept as a generation but never chosen by
//! rollback again unless it is older; a new build moves forward. With no
//! older generation left, rollback fails with `NoPreviousGeneration`.
//!
//! The marker stays in the promoted tree (`dist/libs/.devloop-generation`),
//! which is how generation numbers survive restarts. A reader that keeps a
//! handle on an old generation's directory or file across more than `keep`
//! promotions can see it change, because generations are recycled and
//! changed files written over in place (native code and executables excepted,
//! which get new inodes); apps that import by path always see one whole
//! generation.
//!
//! Crash safety covers devloop being killed at any moment: `recover` (run at
//! every start) restores a missing target from the newest whole tree and
//! tidies the rest. Markers and renames are fsynced; file contents are not
//! forced to disk (a syncfs would also flush the build's own output on every
//! promotion), so after a power loss the filesystem's own ordering applies.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub mod activity;
mod copy;
mod generations;
mod layout;
mod nudge;
mod recover;
mod space;
mod swap;

pub use layout::MARKER;
pub use recover::{Recovery, current_generation, recover, rollback};

use layout::{Kind, Layout, Marker};

/// What to promote, and where.
#[derive(Debug, Clone)]
pub struct PromoteSpec {
    /// Absolute: where the build wrote; only read.
    pub output: PathBuf,
    /// Absolute: what the apps import, e.g. `<root>/dist/libs`.
    pub target: PathBuf,
    /// Previous generations kept for rollback (may be 0).
    pub keep: usize,
    /// Relative to `output`; each must exist or nothing is promoted.
    pub require: Vec<PathBuf>,
    pub strategy: StrategyPref,
}

/// Which swap to use. `Rename` forces the fallback (tests, odd filesystems);
/// the environment variable `DEVLOOP_SWAP=rename` forces it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StrategyPref {
    #[default]
    Auto,
    Rename,
}

/// The swap that actually ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// One atomic `renameat2(RENAME_EXCHANGE)`.
    Exchange,
    /// A rename: one plain rename when there was no target yet, else the
    /// two-rename fallback (`Promotion::fallback`), whose gap readers can see.
    Rename,
}

/// The figures of a finished promotion (the `promoted` event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    pub generation: u64,
    pub target: PathBuf,
    pub files: u64,
    pub bytes: u64,
    pub strategy: Strategy,
    /// Duration of the swap call(s) alone.
    pub swap_us: u64,
    /// The two-rename fallback ran (or was forced): readers may have found
    /// the target missing for a moment.
    pub fallback: bool,
    /// Paths that differ from the tree it replaced (every file when there
    /// was none): 0 means the apps have nothing new to load.
    pub changed: u64,
    /// Duration of the whole promotion.
    pub ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum PromoteError {
    #[error("the build output directory {} does not exist, so nothing was promoted", output.display())]
    OutputMissing { output: PathBuf },
    #[error(
        "the build output has no {} (listed in promote.require), so nothing was promoted; looked for {}",
        require.display(), path.display()
    )]
    MissingRequire { require: PathBuf, path: PathBuf },
    #[error(
        "not enough space to promote into {}: {} needed (the output plus a margin), {} available",
        dir.display(), space::human(*needed), space::human(*available)
    )]
    NoSpace {
        dir: PathBuf,
        needed: u64,
        available: u64,
    },
    #[error("cannot promote {}: only files, directories and symlinks can be copied", path.display())]
    Unsupported { path: PathBuf },
    #[error("there is no previous generation of {} to roll back to", target.display())]
    NoPreviousGeneration { target: PathBuf },
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: String,
        path: PathBuf,
        source: io::Error,
    },
    #[error("internal error while promoting: {0}")]
    Internal(String),
    /// A warm build's compiler wrote while its output was being staged.
    #[error("{0}")]
    NotQuiet(String),
}

/// Adds "what we were doing, to which path" to an I/O error.
fn io_err<'a>(action: &'a str, path: &'a Path) -> impl Fn(io::Error) -> PromoteError + 'a {
    move |source| PromoteError::Io {
        action: action.to_string(),
        path: path.to_path_buf(),
        source,
    }
}

/// Copies `spec.output` beside the target and swaps it in. Blocking.
pub fn promote(spec: &PromoteSpec) -> Result<Promotion, PromoteError> {
    promote_checked(spec, &|| Ok(()))
}

/// [`promote`], asking `quiet` once the copy is staged, just before the
/// swap: an error there drops the staged copy (it becomes the spare).
pub fn promote_checked(
    spec: &PromoteSpec,
    quiet: &dyn Fn() -> Result<(), PromoteError>,
) -> Result<Promotion, PromoteError> {
    let started = Instant::now();
    let layout = Layout::new(&spec.target).map_err(io_err("use", &spec.target))?;
    if !spec.output.is_dir() {
        return Err(PromoteError::OutputMissing {
            output: spec.output.clone(),
        });
    }
    for rel in &spec.require {
        let path = spec.output.join(rel);
        if std::fs::metadata(&path).is_err() {
            return Err(PromoteError::MissingRequire {
                require: rel.clone(),
                path,
            });
        }
    }
    std::fs::create_dir_all(&layout.parent).map_err(io_err("create", &layout.parent))?;
    let size = copy::tree_size(&spec.output)?;
    space::check(&layout.parent, size)?;

    let dir = swap::open_parent(&layout)?;
    let siblings = layout.scan().map_err(io_err("list", &layout.parent))?;
    let generation = layout.next_generation(&siblings);
    let marker = Marker {
        generation,
        previous: current_generation(&layout.target),
    };
    let stage = generations::prepare_stage(&layout, &dir, generation, spec.keep)?;
    let mut stats = match copy::sync_tree(&spec.output, &stage, Some(&layout.target)) {
        Ok(stats) => stats,
        Err(e) => {
            // Best effort: the next start removes an unmarked stage anyway.
            let _ = generations::discard(&layout, &stage);
            return Err(e);
        }
    };
    if let Err(error) = quiet() {
        let spare = swap::name_of(&layout.sibling(Kind::Spare));
        if swap::rename(&dir, &layout, &swap::name_of(&stage), &spare).is_err() {
            let _ = generations::discard(&layout, &stage);
        }
        return Err(error);
    }
    // From the swap on, the target changes: devloop's own writes.
    let _busy = activity::Busy::start();
    layout::write_marker(&stage, marker).map_err(io_err("mark as complete", &stage))?;

    let backup = swap::name_of(&layout.sibling(Kind::Backup(generation)));
    let swapped = swap::swap_in(
        &layout,
        &dir,
        &swap::name_of(&stage),
        &backup,
        spec.strategy,
    )?;
    // The new generation is in place: from here on a failure must not report
    // the promotion as failed. Whatever is left untidy, `recover` finishes at
    // the next start.
    if let Some(old) = &swapped.displaced {
        let _ = generations::to_generation(&layout, &dir, old, Some(generation));
    }
    let _ = swap::sync_dir(&dir, &layout);
    let _ = generations::prune(&layout, &dir, spec.keep);
    let changed = match swapped.displaced {
        Some(_) => stats.changed.len() as u64,
        None => stats.files,
    };
    nudge::after_swap(&layout, &mut stats.changed);
    Ok(Promotion {
        generation,
        target: spec.target.clone(),
        files: stats.files,
        bytes: stats.bytes,
        // With no target yet the swap was one plain rename, whatever the pref.
        strategy: match swapped.displaced {
            None => Strategy::Rename,
            Some(_) => swapped.strategy,
        },
        swap_us: swapped.swap_us,
        fallback: swapped.strategy == Strategy::Rename,
        changed,
        ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}
