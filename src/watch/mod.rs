//! The watcher: walks the watched paths itself and watches directory by
//! directory (never entering excluded ones, so node_modules costs nothing),
//! follows directories created later, and feeds the debouncer. It runs on a
//! thread of its own, so walks never hold up the async runtime.

pub mod config_file;
mod debounce;
mod dirs;
mod filter;
pub mod target;
mod walk;

pub use debounce::{Change, ChangeBatch, debounce};
pub use filter::PathFilter;
pub use walk::walk;

use crate::config::Config;
use crate::event::{Event, Stamped};
use crate::platform::WATCH_LIMIT_HINT;
use dirs::{AddError, DirWatches};
use notify::EventKind;
use notify::event::{CreateKind, ModifyKind, RemoveKind, RenameMode};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::Instant;
use tokio::sync::mpsc;

/// Directory watches and the filter deciding what counts.
pub struct Watcher {
    watches: DirWatches,
    raw: std_mpsc::Receiver<notify::Result<notify::Event>>,
    filter: PathFilter,
    root: PathBuf,
    watch_paths: Vec<PathBuf>,
    /// Set once the watch limit was hit, so it is reported once.
    limit_reported: bool,
    errors: Vec<String>,
    /// Wakes the thread when its handle is dropped.
    wake: std_mpsc::Sender<notify::Result<notify::Event>>,
    stopped: Arc<AtomicBool>,
}

/// The running watcher: dropping it stops its thread and removes its watches.
#[must_use = "dropping the handle stops the watcher"]
pub struct WatchHandle {
    wake: std_mpsc::Sender<notify::Result<notify::Event>>,
    stopped: Arc<AtomicBool>,
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::Release);
        let _ = self.wake.send(Err(notify::Error::generic("stopped")));
    }
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
    /// Walks the watched paths and adds a watch per directory. Blocks: call
    /// it off the async threads.
    pub fn start(config: &Config) -> notify::Result<(Watcher, WatchSetup)> {
        let started = Instant::now();
        let (sink, raw) = std_mpsc::channel();
        let wake = sink.clone();
        let watches = DirWatches::new(sink)?;
        let mut watcher = Watcher {
            watches,
            raw,
            filter: PathFilter::new(config),
            root: config.root.clone(),
            watch_paths: config.watch.paths.iter().map(|p| config.abs(p)).collect(),
            limit_reported: false,
            errors: Vec::new(),
            wake,
            stopped: Arc::default(),
        };
        watcher.walk_all();
        let setup = WatchSetup {
            dirs: watcher.watches.len(),
            ms: started.elapsed().as_millis() as u64,
            errors: std::mem::take(&mut watcher.errors),
        };
        Ok((watcher, setup))
    }

    /// Turns directory events into changes on a thread of its own, until
    /// `changes` closes or the handle is dropped.
    pub fn spawn(
        self,
        changes: mpsc::Sender<Change>,
        events: mpsc::Sender<Stamped>,
    ) -> WatchHandle {
        let handle = WatchHandle {
            wake: self.wake.clone(),
            stopped: self.stopped.clone(),
        };
        // Weak: the output ends when the engine's senders are gone, and this
        // thread (blocked waiting for file events) must not keep it open.
        let events = events.downgrade();
        let run = move || self.run(changes, events);
        if let Err(e) = std::thread::Builder::new().name("watch".into()).spawn(run) {
            eprintln!("devloop: cannot start the watch thread: {e}");
        }
        handle
    }

    fn run(mut self, changes: mpsc::Sender<Change>, events: mpsc::WeakSender<Stamped>) {
        while let Ok(first) = self.raw.recv() {
            if self.stopped.load(Ordering::Acquire) {
                return;
            }
            let mut found = Vec::new();
            // Take what else is ready too, so one walk serves a burst.
            let ready: Vec<_> = std::iter::once(first).chain(self.raw.try_iter()).collect();
            for raw in ready {
                match raw {
                    Ok(event) => self.translate(event, &mut found),
                    Err(e) => self.errors.push(format!("watching files: {e}")),
                }
            }
            for message in self.errors.drain(..) {
                if let Some(events) = events.upgrade() {
                    let _ = events.blocking_send(Stamped::now(Event::Error { message }));
                }
            }
            for change in found {
                if changes.blocking_send(change).is_err() {
                    return;
                }
            }
        }
    }

    fn translate(&mut self, event: notify::Event, found: &mut Vec<Change>) {
        if event.need_rescan() {
            // Lost events may include new directories: walk everything again.
            self.walk_all();
            found.push(Change::Overflow);
            return;
        }
        let gone = matches!(
            event.kind,
            EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(RenameMode::From))
        );
        // Both: the From and To halves came on their own already.
        if matches!(
            event.kind,
            EventKind::Modify(ModifyKind::Name(RenameMode::Both))
        ) {
            return;
        }
        for path in event.paths {
            self.entry(path, gone, event.kind, found);
        }
    }

    fn entry(&mut self, path: PathBuf, gone: bool, kind: EventKind, found: &mut Vec<Change>) {
        let Ok(relative) = path.strip_prefix(&self.root).map(Path::to_path_buf) else {
            return;
        };
        let known_dir = self.watches.contains(&path);
        let is_dir = match kind {
            _ if gone => known_dir || kind == EventKind::Remove(RemoveKind::Folder),
            // Writes and new files say what they are: no stat per event.
            EventKind::Create(CreateKind::File) | EventKind::Modify(ModifyKind::Data(_)) => false,
            EventKind::Access(_) => false,
            EventKind::Create(CreateKind::Folder) => true,
            _ => std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()),
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
        } else if !known_dir {
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

    /// Watches `top` and every directory below it that is not excluded;
    /// with `files`, collects the wanted files found on the way. Level by
    /// level: a level's watches are added (one batch) before its directories
    /// are listed, so nothing created meanwhile is missed.
    fn walk(&mut self, top: &Path, mut files: Option<&mut Vec<PathBuf>>) {
        let root = self.root.clone();
        let relative = |dir: &Path| dir.strip_prefix(&root).unwrap_or(dir).to_path_buf();
        if self.filter.skips_dir(&relative(top)) {
            return;
        }
        let mut level = vec![top.to_path_buf()];
        while !level.is_empty() {
            let new: Vec<PathBuf> = level
                .iter()
                .filter(|d| !self.watches.contains(d))
                .cloned()
                .collect();
            for error in self.watches.add_all(new) {
                self.note_error(error);
            }
            let mut next = Vec::new();
            for dir in level {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                let base = relative(&dir);
                for entry in entries.flatten() {
                    let Ok(kind) = entry.file_type() else {
                        continue;
                    };
                    let path = base.join(entry.file_name());
                    if kind.is_dir() {
                        if !self.filter.skips_dir(&path) {
                            next.push(entry.path());
                        }
                    } else if let Some(found) = files.as_deref_mut()
                        && self.filter.wants_file(&path)
                    {
                        found.push(path);
                    }
                }
            }
            level = next;
        }
    }

    fn note_error(&mut self, error: AddError) {
        match error {
            AddError::Limit if !self.limit_reported => {
                self.limit_reported = true;
                self.errors.push(format!(
                    "out of file watches after {} directories: changes in the others are not seen; {WATCH_LIMIT_HINT}",
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

    #[test]
    fn running_out_of_watches_is_said_once() {
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
            watcher.errors[0].contains(WATCH_LIMIT_HINT),
            "{}",
            watcher.errors[0]
        );
    }

    /// The engine's runtime has one thread, busy with probes and keys: the
    /// watcher must walk and report with no runtime thread at all.
    #[test]
    fn new_directories_are_walked_with_no_runtime_running() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("libs")).unwrap();
        let text = "[watch]\npaths = [\"libs\"]\n[build]\ncommand = \"true\"\n";
        let config = Config::parse(&dir.path().join("watch.toml"), text).unwrap();
        let (watcher, _) = Watcher::start(&config).unwrap();
        let (changes_tx, mut changes) = mpsc::channel(64);
        let (events_tx, _events) = mpsc::channel(8);
        let _running = watcher.spawn(changes_tx, events_tx);

        let deep = dir.path().join("libs/a/b/c");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("x.ts"), "x").unwrap();
        let (found_tx, found) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            while let Some(change) = changes.blocking_recv() {
                if found_tx.send(change).is_err() {
                    return;
                }
            }
        });
        let wanted = Change::Path(PathBuf::from("libs/a/b/c/x.ts"));
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match found.recv_timeout(left) {
                Ok(change) if change == wanted => break,
                Ok(_) => {}
                Err(_) => panic!("no change for {wanted:?}"),
            }
        }
    }
}
