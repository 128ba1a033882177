//! Telling the dev servers' own watchers that a promotion happened.
//!
//! A swap moves the inodes the servers watch (chokidar and `fs.watch` hold
//! file inodes, webpack's watchpack directory inodes) away to `.libs.gen-N`,
//! where nothing changes again, so no event would ever arrive. After each
//! swap, for every path whose bytes changed, this sets the times of that path
//! in every tree that still exists (the target, each kept generation, the
//! spare) to the values they already have. The call changes nothing, but the
//! kernel reports it as an attribute change of the file, and of its
//! directory's entry; whatever tree's inode a watcher holds, it then stats
//! the path, finds the new generation and reloads. Since trees cycle (target,
//! generation, spare, staging, target), the inodes watchers hold stay among
//! those trees. A path that does not exist in a tree (added or removed) is
//! reported through the nearest directory above it that does.
//!
//! Only changed paths are touched, so the cost follows the change, not the
//! size of the output. Failures are ignored: the promotion is already done.

use std::collections::HashSet;
use std::fs::{self, File, FileTimes};
use std::path::{Path, PathBuf};

use super::layout::{Kind, Layout};

/// Touches each of `changed` (relative) in the target and in every kept
/// tree beside it. Returns how many paths were touched.
pub fn after_swap(layout: &Layout, changed: &[PathBuf]) -> usize {
    if changed.is_empty() {
        return 0;
    }
    let mut trees = vec![layout.target.clone()];
    if let Ok(siblings) = layout.scan() {
        trees.extend(
            siblings
                .into_iter()
                .filter(|(kind, _)| matches!(kind, Kind::Gen(_) | Kind::Spare))
                .map(|(_, path)| path),
        );
    }
    let mut touched = 0;
    for tree in &trees {
        let mut dirs = HashSet::new();
        for rel in changed {
            let path = tree.join(rel);
            if touch(&path) {
                touched += 1;
                continue;
            }
            // Added or removed here: tell the directory that holds it.
            let Some(dir) = nearest_dir(tree, &path) else {
                continue;
            };
            if dirs.insert(dir.clone()) && touch(&dir) {
                touched += 1;
            }
        }
    }
    touched
}

/// Sets the times of `path` to what they are (symlinks are left alone:
/// their times cannot be set portably, and watchers follow them anyway).
fn touch(path: &Path) -> bool {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return false;
    };
    if meta.file_type().is_symlink() {
        return false;
    }
    let (Ok(accessed), Ok(modified)) = (meta.accessed(), meta.modified()) else {
        return false;
    };
    let times = FileTimes::new()
        .set_accessed(accessed)
        .set_modified(modified);
    File::open(path).and_then(|f| f.set_times(times)).is_ok()
}

/// The deepest existing directory above `path`, within `tree`.
fn nearest_dir(tree: &Path, path: &Path) -> Option<PathBuf> {
    let mut at = path.parent()?;
    while at.starts_with(tree) {
        if at.is_dir() {
            return Some(at.to_path_buf());
        }
        at = at.parent()?;
    }
    None
}

/// Paths that differ between two promoted trees, by kind, size and
/// modification time (copies keep the build's times), for a rollback.
pub fn diff_trees(a: &Path, b: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    diff_into(a, b, Path::new(""), &mut out);
    out
}

fn diff_into(a: &Path, b: &Path, rel: &Path, out: &mut Vec<PathBuf>) {
    let list = |dir: &Path| -> std::collections::HashMap<std::ffi::OsString, fs::Metadata> {
        fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| Some((e.file_name(), e.metadata().ok()?)))
            .collect()
    };
    let mut theirs = list(b);
    for (name, mine) in list(a) {
        let rel = rel.join(&name);
        match theirs.remove(&name) {
            Some(other) if mine.is_dir() && other.is_dir() => {
                diff_into(&a.join(&name), &b.join(&name), &rel, out);
            }
            Some(other)
                if mine.file_type() == other.file_type()
                    && mine.len() == other.len()
                    && mine.modified().ok() == other.modified().ok() => {}
            _ => out.push(rel),
        }
    }
    out.extend(theirs.into_keys().map(|name| rel.join(name)));
}
