//! The watcher: walks the watched paths itself and watches directory by
//! directory (never entering excluded ones, so node_modules costs nothing),
//! follows directories created later, and feeds the debouncer.

mod debounce;
mod filter;
mod inotify;
mod walk;

pub use debounce::{Change, ChangeBatch, debounce};
pub use filter::PathFilter;
pub use walk::walk;

use crate::config::Config;
use crate::event::{Event, Stamped};
use inotify::{AddError, DirWatches, RawEvent};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tokio::sync::mpsc;

/// The sysctl to name when inotify runs out of watches.
const WATCH_LIMIT_HINT: &str = "raise it with `sudo sysctl fs.inotify.max_user_watches=524288` (add it to /etc/sysctl.conf to keep it)";

/// Directory watches and the filter deciding what counts.
pub struct Watcher {
    watches: DirWatches,
    filter: PathFilter,
    root: PathBuf,
    watch_paths: Vec<PathBuf>,
    /// Set once the watch limit was hit, so it is reported once.
    limit_reported: bool,
    errors: Vec<String>,
}

/// What setting up the watches found.
#[derive(Debug, Clone)]
pub struct WatchSetup {
    pub dirs: usize,
    pub ms: u64,
    /// Problems met while walking (the watch limit, unreadable directories).
    pub errors: Vec<String>,
}

impl Watcher {
    /// Walks the watched paths and adds a watch per directory. Must run
    /// inside the tokio runtime.
    pub fn start(config: &Config) -> Result<(Watcher, WatchSetup), String> {
        let started = Instant::now();
        let watches =
            DirWatches::new().map_err(|e| format!("cannot start watching files (inotify): {e}"))?;
        let mut watcher = Watcher {
            watches,
            filter: PathFilter::new(config),
            root: config.root.clone(),
            watch_paths: config.watch.paths.iter().map(|p| config.abs(p)).collect(),
            limit_reported: false,
            errors: Vec::new(),
        };
        watcher.walk_all();
        let setup = WatchSetup {
            dirs: watcher.watches.len(),
            ms: started.elapsed().as_millis() as u64,
            errors: std::mem::take(&mut watcher.errors),
        };
        Ok((watcher, setup))
    }

    /// Turns directory events into changes until `changes` closes.
    pub async fn run(mut self, changes: mpsc::Sender<Change>, events: mpsc::Sender<Stamped>) {
        loop {
            let raw = match self.watches.next().await {
                Ok(raw) => raw,
                Err(error) => {
                    let message = format!("reading file events failed, watching stopped: {error}");
                    let _ = events.send(Stamped::now(Event::Error { message })).await;
                    return;
                }
            };
            let mut found = Vec::new();
            for event in raw {
                self.translate(event, &mut found);
            }
            for message in self.errors.drain(..) {
                let _ = events.send(Stamped::now(Event::Error { message })).await;
            }
            for change in found {
                if changes.send(change).await.is_err() {
                    return;
                }
            }
        }
    }

    fn translate(&mut self, event: RawEvent, found: &mut Vec<Change>) {
        let (path, is_dir, gone) = match event {
            RawEvent::Overflow => {
                // Lost events may include new directories: walk everything again.
                self.walk_all();
                found.push(Change::Overflow);
                return;
            }
            RawEvent::Entry { path, is_dir, gone } => (path, is_dir, gone),
        };
        let Ok(relative) = path.strip_prefix(&self.root).map(Path::to_path_buf) else {
            return;
        };
        if !is_dir {
            if self.filter.wants_file(&relative) {
                found.push(Change::Path(relative));
            }
        } else if gone {
            // What was in the directory is gone too, whatever `include` says.
            self.watches.remove_tree(&path);
            if !self.filter.skips_dir(&relative) {
                found.push(Change::Path(relative));
            }
        } else if !self.watches.contains(&path) {
            // New or moved-in directory: its files may predate the watch.
            let mut files = Vec::new();
            self.walk(&path, Some(&mut files));
            found.extend(files.into_iter().map(Change::Path));
        }
    }

    fn walk_all(&mut self) {
        for path in self.watch_paths.clone() {
            self.walk(&path, None);
        }
    }

    /// Watches `top` and every directory below it that is not excluded; with
    /// `files`, collects the wanted files found on the way.
    fn walk(&mut self, top: &Path, mut files: Option<&mut Vec<PathBuf>>) {
        let Watcher {
            watches,
            filter,
            root,
            ..
        } = self;
        let mut failures = Vec::new();
        walk::walk(
            root,
            top,
            filter,
            |dir| {
                if watches.contains(dir) {
                    return true;
                }
                match watches.add(dir) {
                    Ok(()) => true,
                    Err(error) => {
                        failures.push(error);
                        false
                    }
                }
            },
            |file| {
                if let Some(found) = files.as_deref_mut() {
                    found.push(file);
                }
            },
        );
        for error in failures {
            self.note_error(error);
        }
    }

    fn note_error(&mut self, error: AddError) {
        match error {
            AddError::Limit if !self.limit_reported => {
                self.limit_reported = true;
                self.errors.push(format!(
                    "out of inotify watches after {} directories: changes in the others are not seen; {WATCH_LIMIT_HINT}",
                    self.watches.len()
                ));
            }
            // Reported once; a directory removed while walking is no problem.
            AddError::Limit | AddError::Gone => {}
            other => self.errors.push(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn running_out_of_watches_names_the_sysctl_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("libs")).unwrap();
        let text = "[watch]\npaths = [\"libs\"]\n[build]\ncommand = \"true\"\n";
        let config = Config::parse(&dir.path().join("watch.toml"), text).unwrap();
        let (mut watcher, setup) = Watcher::start(&config).unwrap();
        assert_eq!(setup.dirs, 1);
        watcher.note_error(AddError::Limit);
        watcher.note_error(AddError::Limit);
        assert_eq!(watcher.errors.len(), 1);
        assert!(
            watcher.errors[0].contains("fs.inotify.max_user_watches"),
            "{}",
            watcher.errors[0]
        );
    }
}
