//! File contents as of the start of the last successful build, so that a batch
//! that changed nothing real (a save without edits, a checkout there and back)
//! does not build.

use crate::watch::{PathFilter, walk};
use std::collections::BTreeMap;
use std::hash::Hasher;
use std::io::Read;
use std::path::{Path, PathBuf};

/// A content hash per watched file (workspace-relative).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    hashes: BTreeMap<PathBuf, u64>,
}

/// Paths as they are now: the hash of each, None where it is gone.
pub type Current = Vec<(PathBuf, Option<u64>)>;

impl Snapshot {
    /// Hashes every wanted file under the watched paths.
    pub fn scan(root: &Path, watch_paths: &[PathBuf], filter: &PathFilter) -> Snapshot {
        let mut hashes = BTreeMap::new();
        for top in watch_paths {
            walk(
                root,
                &root.join(top),
                filter,
                |_| true,
                |file| {
                    if let Some(hash) = hash_file(&root.join(&file)) {
                        hashes.insert(file, hash);
                    }
                },
            );
        }
        Snapshot { hashes }
    }

    /// Reads the current contents of `paths`.
    pub fn read(root: &Path, paths: &[PathBuf]) -> Current {
        paths
            .iter()
            .map(|path| (path.clone(), hash_file(&root.join(path))))
            .collect()
    }

    /// Whether every path reads as it did in this snapshot. A path that is gone
    /// now but had files below it was a directory: that is a change.
    pub fn unchanged(&self, current: &Current) -> bool {
        current.iter().all(|(path, hash)| {
            self.hashes.get(path).copied() == *hash && (hash.is_some() || !self.has_below(path))
        })
    }

    /// Takes the current contents into the snapshot.
    pub fn update(&mut self, current: &Current) {
        for (path, hash) in current {
            match hash {
                Some(hash) => {
                    self.hashes.insert(path.clone(), *hash);
                }
                None => {
                    self.hashes.remove(path);
                    let below: Vec<PathBuf> = self.below(path).cloned().collect();
                    for gone in below {
                        self.hashes.remove(&gone);
                    }
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    fn below<'a>(&'a self, dir: &'a Path) -> impl Iterator<Item = &'a PathBuf> + 'a {
        self.hashes
            .range(dir.to_path_buf()..)
            .map(|(path, _)| path)
            .skip_while(move |path| path.as_path() == dir)
            .take_while(move |path| path.starts_with(dir))
    }

    fn has_below(&self, dir: &Path) -> bool {
        self.below(dir).next().is_some()
    }
}

/// A content hash, or None when the path is not a readable file.
fn hash_file(path: &Path) -> Option<u64> {
    let mut file = std::fs::File::open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut hasher = std::hash::DefaultHasher::new();
    let mut buffer = [0u8; 16 * 1024];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => return Some(hasher.finish()),
            Ok(n) => hasher.write(&buffer[..n]),
            Err(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_content_is_unchanged_and_edits_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("libs/a")).unwrap();
        std::fs::write(root.join("libs/a/x.ts"), "one").unwrap();
        let mut snapshot = Snapshot::default();
        let paths = vec![PathBuf::from("libs/a/x.ts")];
        snapshot.update(&Snapshot::read(root, &paths));

        std::fs::write(root.join("libs/a/x.ts"), "one").unwrap();
        assert!(
            snapshot.unchanged(&Snapshot::read(root, &paths)),
            "a save without edits"
        );
        std::fs::write(root.join("libs/a/x.ts"), "two").unwrap();
        assert!(!snapshot.unchanged(&Snapshot::read(root, &paths)));
        std::fs::write(root.join("libs/a/x.ts"), "one").unwrap();
        assert!(
            snapshot.unchanged(&Snapshot::read(root, &paths)),
            "there and back"
        );
    }

    #[test]
    fn a_new_file_and_a_removed_directory_are_changes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("libs/a")).unwrap();
        std::fs::write(root.join("libs/a/x.ts"), "one").unwrap();
        let mut snapshot = Snapshot::default();
        snapshot.update(&Snapshot::read(root, &[PathBuf::from("libs/a/x.ts")]));

        std::fs::write(root.join("libs/a/new.ts"), "").unwrap();
        assert!(!snapshot.unchanged(&Snapshot::read(root, &[PathBuf::from("libs/a/new.ts")])));

        std::fs::remove_dir_all(root.join("libs/a")).unwrap();
        let gone = Snapshot::read(root, &[PathBuf::from("libs/a")]);
        assert!(!snapshot.unchanged(&gone));
        snapshot.update(&gone);
        assert!(snapshot.is_empty());
    }
}
