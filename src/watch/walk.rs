//! The directory walk shared by the watcher and the content snapshot: it never
//! enters a directory the filter skips.

use super::PathFilter;
use std::path::{Path, PathBuf};

/// Visits `top` and the directories below it that the filter keeps.
/// `enter(dir)` says whether to go into a directory (absolute path);
/// `file(relative)` gets each wanted file.
pub fn walk(
    root: &Path,
    top: &Path,
    filter: &PathFilter,
    mut enter: impl FnMut(&Path) -> bool,
    mut file: impl FnMut(PathBuf),
) {
    let mut stack = vec![top.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let relative = dir.strip_prefix(root).unwrap_or(&dir).to_path_buf();
        if filter.skips_dir(&relative) || !enter(&dir) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(entry.path());
            } else {
                let path = relative.join(entry.file_name());
                if filter.wants_file(&path) {
                    file(path);
                }
            }
        }
    }
}
