//! Whether the compiler wrote while a cycle was being staged: a fingerprint
//! of the output tree (names, sizes, modification times) taken before and
//! after the copy, and the count of lines it printed meanwhile.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Hashes every entry's path, size and mtime (to the nanosecond). Blocking.
pub fn fingerprint(dir: &Path) -> u64 {
    let mut hasher = DefaultHasher::new();
    walk(dir, &mut hasher);
    hasher.finish()
}

fn walk(dir: &Path, hasher: &mut DefaultHasher) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        0u8.hash(hasher);
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        entry.file_name().hash(hasher);
        (meta.len(), meta.mtime(), meta.mtime_nsec(), meta.ino()).hash(hasher);
        if meta.is_dir() {
            walk(&entry.path(), hasher);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_anywhere_in_the_tree_changes_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a/src")).unwrap();
        std::fs::write(dir.path().join("a/src/index.js"), "1").unwrap();
        let before = fingerprint(dir.path());
        assert_eq!(
            fingerprint(dir.path()),
            before,
            "stable when nothing is written"
        );
        std::fs::write(dir.path().join("a/src/index.js"), "22").unwrap();
        let after = fingerprint(dir.path());
        assert_ne!(after, before, "a rewritten file");
        std::fs::write(dir.path().join("a/src/new.js"), "").unwrap();
        assert_ne!(fingerprint(dir.path()), after, "a new file");
    }
}
