//! The on-disk layout beside a promote target: the names of the hidden
//! siblings, the completion marker inside each tree, and the scan that reads
//! them back. Every sibling of `<parent>/<name>` starts with `.<name>.` so the
//! watcher can exclude them all with one rule.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// File written last inside a staged tree; its presence means "complete".
pub const MARKER: &str = ".devloop-generation";

/// What a hidden sibling is, decoded from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `.<name>.stage-<n>`: generation n being copied (complete once marked n),
    /// or, right after an exchange, the tree that was swapped out.
    Stage(u64),
    /// `.<name>.gen-<n>`: a kept previous generation, ready for rollback.
    Gen(u64),
    /// `.<name>.backup-<n>`: the old target moved aside by the two-rename
    /// fallback while promoting generation n.
    Backup(u64),
    /// `.<name>.spare`: a pruned generation kept only as a copy base, never
    /// restored (recycling it saves creating every file again).
    Spare,
    /// `.<name>.trash-*`: renamed away for deletion; never read again.
    Trash,
}

/// Paths of one target and its siblings.
#[derive(Debug, Clone)]
pub struct Layout {
    pub parent: PathBuf,
    pub name: String,
    pub target: PathBuf,
}

/// Contents of a marker file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub generation: u64,
    /// The generation that was in place when this one was promoted: what
    /// `rollback` returns to.
    pub previous: Option<u64>,
}

impl Layout {
    pub fn new(target: &Path) -> io::Result<Layout> {
        let bad = || {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "promote target {} must be an absolute path with a UTF-8 file name",
                    target.display()
                ),
            )
        };
        let name = target
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(bad)?;
        let parent = target
            .parent()
            .filter(|p| p.is_absolute())
            .ok_or_else(bad)?;
        Ok(Layout {
            parent: parent.to_path_buf(),
            name: name.to_string(),
            target: target.to_path_buf(),
        })
    }

    pub fn sibling(&self, kind: Kind) -> PathBuf {
        let suffix = match kind {
            Kind::Stage(n) => format!("stage-{n}"),
            Kind::Gen(n) => format!("gen-{n}"),
            Kind::Backup(n) => format!("backup-{n}"),
            Kind::Spare => "spare".to_string(),
            Kind::Trash => unique_trash_suffix(),
        };
        self.parent.join(format!(".{}.{suffix}", self.name))
    }

    pub fn parse(&self, file_name: &str) -> Option<Kind> {
        let rest = file_name
            .strip_prefix('.')?
            .strip_prefix(self.name.as_str())?;
        let rest = rest.strip_prefix('.')?;
        let num = |s: &str| s.parse::<u64>().ok();
        if rest == "spare" {
            Some(Kind::Spare)
        } else if rest.starts_with("trash-") {
            Some(Kind::Trash)
        } else if let Some(n) = rest.strip_prefix("stage-") {
            num(n).map(Kind::Stage)
        } else if let Some(n) = rest.strip_prefix("gen-") {
            num(n).map(Kind::Gen)
        } else if let Some(n) = rest.strip_prefix("backup-") {
            num(n).map(Kind::Backup)
        } else {
            None
        }
    }

    /// Every recognised sibling directory, in no particular order. Symlinks
    /// and files with sibling names are ignored: devloop never makes them.
    pub fn scan(&self) -> io::Result<Vec<(Kind, PathBuf)>> {
        let mut found = Vec::new();
        for entry in fs::read_dir(&self.parent)? {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if let Some(kind) = self.parse(&name)
                && entry.file_type()?.is_dir()
            {
                found.push((kind, entry.path()));
            }
        }
        Ok(found)
    }

    /// The next generation number: above every number in use, so numbers keep
    /// increasing across runs.
    pub fn next_generation(&self, siblings: &[(Kind, PathBuf)]) -> u64 {
        let from_names = siblings.iter().filter_map(|(k, _)| match k {
            Kind::Stage(n) | Kind::Gen(n) | Kind::Backup(n) => Some(*n),
            Kind::Spare | Kind::Trash => None,
        });
        let current = read_marker(&self.target).map(|m| m.generation);
        from_names
            .chain(current)
            .max()
            .unwrap_or(0)
            .saturating_add(1)
    }
}

fn unique_trash_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    format!("trash-{}-{nanos}-{n}", std::process::id())
}

/// The marker of the tree at `dir`, if it has a readable one.
pub fn read_marker(dir: &Path) -> Option<Marker> {
    let text = fs::read_to_string(dir.join(MARKER)).ok()?;
    let mut lines = text.lines();
    let generation = lines.next()?.trim().parse().ok()?;
    let previous = lines
        .find_map(|l| l.strip_prefix("previous "))
        .and_then(|p| p.trim().parse().ok());
    Some(Marker {
        generation,
        previous,
    })
}

/// Writes the marker and fsyncs it, then the directory holding it, so that a
/// marker that survives a crash was written after everything it vouches for.
pub fn write_marker(dir: &Path, marker: Marker) -> io::Result<()> {
    let mut text = format!("{}\n", marker.generation);
    if let Some(p) = marker.previous {
        text.push_str(&format!("previous {p}\n"));
    }
    let path = dir.join(MARKER);
    let mut file = fs::File::create(&path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sibling_names_round_trip_and_share_the_prefix() {
        let l = Layout::new(Path::new("/w/dist/libs")).unwrap();
        for kind in [
            Kind::Stage(7),
            Kind::Gen(3),
            Kind::Backup(12),
            Kind::Spare,
            Kind::Trash,
        ] {
            let name = l
                .sibling(kind)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            assert!(name.starts_with(".libs."), "{name}");
            assert_eq!(l.parse(&name), Some(kind), "{name}");
        }
        for other in [
            "libs",
            ".libs",
            ".libs.gen-",
            ".libs.gen-x",
            ".libsx.gen-1",
            ".lib.gen-1",
        ] {
            assert_eq!(l.parse(other), None, "{other}");
        }
        assert!(Layout::new(Path::new("relative/libs")).is_err());
        assert!(Layout::new(Path::new("/")).is_err());
    }
}
