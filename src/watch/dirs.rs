//! Directory watches on the `notify` crate, one NonRecursive watch per
//! directory devloop's own walk chose. Watches are added in batches (one
//! round trip to notify's thread per batch, not per directory), and only the
//! event kinds a build cares about are asked for: on Linux that is the
//! inotify mask itself, so tools reading the sources cause no events at all.

use notify::event::EventKindMask;
use notify::{Config, ErrorKind, Event, PathOp, RecommendedWatcher, Watcher};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// Created, removed, written, renamed; never opened, read or chmod-ed.
const KINDS: EventKindMask = EventKindMask::CREATE
    .union(EventKindMask::REMOVE)
    .union(EventKindMask::MODIFY_DATA)
    .union(EventKindMask::MODIFY_NAME)
    .union(EventKindMask::ACCESS_CLOSE);

#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error("out of watches")]
    Limit,
    #[error("the directory is gone")]
    Gone,
    #[error("cannot watch {}: {message}", path.display())]
    Other { path: PathBuf, message: String },
}

pub struct DirWatches {
    watcher: RecommendedWatcher,
    dirs: HashSet<PathBuf>,
}

impl DirWatches {
    /// Events (and notify's errors) arrive on `sink`, from notify's thread.
    pub fn new(sink: mpsc::Sender<notify::Result<Event>>) -> notify::Result<DirWatches> {
        let config = Config::default().with_event_kinds(KINDS);
        Ok(DirWatches {
            watcher: RecommendedWatcher::new(sink, config)?,
            dirs: HashSet::new(),
        })
    }

    pub fn contains(&self, dir: &Path) -> bool {
        self.dirs.contains(dir)
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.dirs.len()
    }

    /// Watches each of `dirs` (none of them below another's watch); returns
    /// what failed. A failure does not stop the rest, except the watch limit.
    pub fn add_all(&mut self, dirs: Vec<PathBuf>) -> Vec<AddError> {
        let mut errors = Vec::new();
        let mut ops: Vec<PathOp> = dirs.into_iter().map(PathOp::watch_non_recursive).collect();
        while !ops.is_empty() {
            let paths: Vec<PathBuf> = ops.iter().map(|op| op.as_path().to_path_buf()).collect();
            let Err(failed) = self.watcher.update_paths(ops) else {
                self.dirs.extend(paths);
                return errors;
            };
            let applied =
                paths.len() - failed.remaining.len() - usize::from(failed.origin.is_some());
            self.dirs.extend(paths.into_iter().take(applied));
            let path = failed.origin.map(|op| op.as_path().to_path_buf());
            let error = classify(failed.source, path);
            let limit = matches!(error, AddError::Limit);
            errors.push(error);
            if limit {
                return errors;
            }
            ops = failed.remaining;
        }
        errors
    }

    /// Drops the watches of `dir` and every directory below it.
    pub fn remove_tree(&mut self, dir: &Path) {
        let below: Vec<PathBuf> = self
            .dirs
            .iter()
            .filter(|p| p.starts_with(dir))
            .cloned()
            .collect();
        for path in &below {
            self.dirs.remove(path);
        }
        // notify drops watches of deleted or moved-away directories itself;
        // an unwatch of one it already dropped fails harmlessly.
        let ops = below.into_iter().map(PathOp::unwatch).collect();
        let _ = self.watcher.update_paths(ops);
    }
}

fn classify(error: notify::Error, path: Option<PathBuf>) -> AddError {
    match &error.kind {
        ErrorKind::MaxFilesWatch => AddError::Limit,
        ErrorKind::PathNotFound => AddError::Gone,
        ErrorKind::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            AddError::Gone
        }
        _ => AddError::Other {
            path: path.unwrap_or_default(),
            message: error.to_string(),
        },
    }
}
