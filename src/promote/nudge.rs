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
use std::fs;

use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, Timespec, Timestamps};
use std::path::{Path, PathBuf};

use super::layout::{Kind, Layout};

/// Touches each of `changed` (relative) in the target and in every kept
/// tree beside it. Returns how many paths were touched.
pub fn after_swap(layout: &Layout, changed: &mut [PathBuf]) -> usize {
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
    // Each tree on its own thread when there is much to touch: every path
    // costs two system calls, and 10,000 changed paths times four trees add up.
    // Sorted, so each directory's paths come together (touch_tree).
    changed.sort_unstable();
    let changed = &*changed;
    let parallel = changed.len() >= 256 && trees.len() > 1;
    if !parallel {
        return trees.iter().map(|tree| touch_tree(tree, changed)).sum();
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = trees
            .iter()
            .map(|tree| s.spawn(move || touch_tree(tree, changed)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    })
}

fn touch_tree(tree: &Path, changed: &[PathBuf]) -> usize {
    let mut touched = 0;
    let mut dirs = HashSet::new();
    // The parent of the last path, held open: `changed` is sorted, so the
    // files of one directory come together and each costs a stat by name.
    let mut parent: Option<(&Path, Option<OwnedFd>)> = None;
    for rel in changed {
        let (Some(dir), Some(name)) = (rel.parent(), rel.file_name()) else {
            continue;
        };
        if parent.as_ref().is_none_or(|(p, _)| *p != dir) {
            parent = Some((dir, open_dir(&tree.join(dir))));
        }
        if let Some((_, Some(fd))) = &parent
            && touch(fd, name.as_ref())
        {
            touched += 1;
            continue;
        }
        // Added or removed here: tell the directory that holds it.
        let path = tree.join(rel);
        let Some(dir) = nearest_dir(tree, &path) else {
            continue;
        };
        if dirs.insert(dir.clone()) && touch(CWD, dir.as_ref()) {
            touched += 1;
        }
    }
    touched
}

fn open_dir(path: &Path) -> Option<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    rustix::fs::open(path, flags, Mode::empty()).ok()
}

/// Sets the times of `name` in `dir` to what they are (symlinks are left
/// alone: their times cannot be set portably, and watchers follow them
/// anyway). By name, not through an open file: two system calls, not four.
fn touch<Fd: AsFd>(dir: Fd, name: &Path) -> bool {
    let flags = AtFlags::SYMLINK_NOFOLLOW;
    let Ok(st) = rustix::fs::statat(&dir, name, flags) else {
        return false;
    };
    if FileType::from_raw_mode(st.st_mode as _) == FileType::Symlink {
        return false;
    }
    let times = Timestamps {
        last_access: Timespec {
            tv_sec: st.st_atime as _,
            tv_nsec: st.st_atime_nsec as _,
        },
        last_modification: Timespec {
            tv_sec: st.st_mtime as _,
            tv_nsec: st.st_mtime_nsec as _,
        },
    };
    rustix::fs::utimensat(&dir, name, &times, flags).is_ok()
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
