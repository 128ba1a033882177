//! The watcher: walks the watched paths itself and watches directory by
//! directory (never entering excluded ones, so node_modules costs nothing),
//! follows directories created later, and feeds the debouncer.

mod debounce;
mod filter;
mod walk;

pub use debounce::{Change, ChangeBatch, Debouncer, debounce};
pub use filter::PathFilter;
pub use walk::walk;

use crate::config::Config;
use crate::event::{Event, Stamped};
use notify::event::{EventKind, ModifyKind};
use notify::{RecursiveMode, Watcher as _};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;
use tokio::sync::mpsc;

/// The sysctl to name when inotify runs out of watches.
const WATCH_LIMIT_HINT: &str = "raise it with `sudo sysctl fs.inotify.max_user_watches=524288` (add it to /etc/sysctl.conf to keep it)";

/// Directory watches and the filter deciding what counts.
pub struct Watcher {
    inotify: notify::RecommendedWatcher,
    raw: mpsc::Receiver<notify::Result<notify::Event>>,
    filter: PathFilter,
    root: PathBuf,
    watch_paths: Vec<PathBuf>,
    /// Watched directories, absolute: to tell a removed directory from a file.
    dirs: HashSet<PathBuf>,
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
    /// Walks the watched paths and adds a watch per directory.
    pub fn start(config: &Config) -> Result<(Watcher, WatchSetup), String> {
        let started = Instant::now();
        let (tx, raw) = mpsc::channel(4096);
        let inotify = notify::recommended_watcher(move |event| {
            // A full channel blocks notify's thread; the kernel queue then
            // overflows, which arrives as a rescan: nothing is lost silently.
            let _ = tx.blocking_send(event);
        })
        .map_err(|e| format!("cannot start watching files: {e}"))?;
        let mut watcher = Watcher {
            inotify,
            raw,
            filter: PathFilter::new(config),
            root: config.root.clone(),
            watch_paths: config.watch.paths.iter().map(|p| config.abs(p)).collect(),
            dirs: HashSet::new(),
            limit_reported: false,
            errors: Vec::new(),
        };
        for path in watcher.watch_paths.clone() {
            watcher.walk(&path, None);
        }
        let setup = WatchSetup {
            dirs: watcher.dirs.len(),
            ms: started.elapsed().as_millis() as u64,
            errors: std::mem::take(&mut watcher.errors),
        };
        Ok((watcher, setup))
    }

    /// Turns raw events into changes until `changes` closes.
    pub async fn run(mut self, changes: mpsc::Sender<Change>, events: mpsc::Sender<Stamped>) {
        while let Some(raw) = self.raw.recv().await {
            let mut found = Vec::new();
            match raw {
                Ok(event) => self.translate(event, &mut found),
                Err(error) => self.note_error(&error),
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

    fn translate(&mut self, event: notify::Event, found: &mut Vec<Change>) {
        if event.need_rescan() {
            // Lost events may include new directories: walk everything again.
            for path in self.watch_paths.clone() {
                self.walk(&path, None);
            }
            found.push(Change::Overflow);
            return;
        }
        let removal = match event.kind {
            EventKind::Access(_)
            | EventKind::Modify(ModifyKind::Metadata(_))
            | EventKind::Other => return,
            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_)) => true,
            _ => false,
        };
        for path in event.paths {
            let Some(relative) = path.strip_prefix(&self.root).ok().map(Path::to_path_buf) else {
                continue;
            };
            let is_dir = path.is_dir();
            if self.dirs.contains(&path) && (removal || !is_dir) {
                // A watched directory went away (or was renamed away): what was
                // in it is gone too, whatever the include patterns say.
                self.dirs.retain(|dir| !dir.starts_with(&path));
                // Moved away rather than deleted, its watch would linger.
                let _ = self.inotify.unwatch(&path);
                if !self.filter.skips_dir(&relative) {
                    found.push(Change::Path(relative));
                }
            } else if is_dir {
                if !self.dirs.contains(&path) {
                    // New (or renamed-in) directory: its files may predate the watch.
                    let mut files = Vec::new();
                    self.walk(&path, Some(&mut files));
                    found.extend(files.into_iter().map(Change::Path));
                }
            } else if self.filter.wants_file(&relative) {
                found.push(Change::Path(relative));
            }
        }
    }

    /// Watches `top` and every directory below it that is not excluded; with
    /// `files`, collects the wanted files found on the way.
    fn walk(&mut self, top: &Path, mut files: Option<&mut Vec<PathBuf>>) {
        let Watcher {
            inotify,
            filter,
            root,
            dirs,
            ..
        } = self;
        let mut failures = Vec::new();
        walk::walk(
            root,
            top,
            filter,
            |dir| {
                if dirs.contains(dir) {
                    return true;
                }
                match inotify.watch(dir, RecursiveMode::NonRecursive) {
                    Ok(()) => dirs.insert(dir.to_path_buf()),
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
            self.note_error(&error);
        }
    }

    fn note_error(&mut self, error: &notify::Error) {
        match &error.kind {
            notify::ErrorKind::MaxFilesWatch => {
                if !self.limit_reported {
                    self.limit_reported = true;
                    self.errors.push(format!(
                        "out of inotify watches after {} directories: changes in the others are not seen; {WATCH_LIMIT_HINT}",
                        self.dirs.len()
                    ));
                }
            }
            // A directory removed between listing and watching is not a problem.
            notify::ErrorKind::PathNotFound => {}
            notify::ErrorKind::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            _ => self.errors.push(format!("watching files: {error}")),
        }
    }
}
