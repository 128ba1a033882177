//! Files a compiler writes after its done line, seen as they are finished:
//! nx's `@nx/js:tsc` writes each lib's package.json in its post-compilation
//! callback, after tsc's "Watching for file changes.", without a line. So a
//! cycle's output is whole once one such file per `done` line has been
//! written since the cycle opened. A watch on the build output reports each
//! write (on Linux the close after it, which is exact); the staging waits
//! for that count instead of for a quiet timer.

use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

/// Writes older than this are forgotten.
const REMEMBERED: Duration = Duration::from_secs(60);

/// The writes of one file name under the build output.
pub struct Written {
    name: &'static str,
    /// When each was finished, and where.
    writes: Mutex<Vec<(Instant, PathBuf)>>,
    arrived: Condvar,
    watcher: Mutex<Option<RecommendedWatcher>>,
}

/// The build output cannot be watched for the preset's writes.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot create {}: {source}", path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot watch {}: {source}", path.display())]
    Watch {
        path: PathBuf,
        source: notify::Error,
    },
}

impl Written {
    /// Watches `output` (created if missing) for writes of files `name`.
    pub fn watch(output: &Path, name: &'static str) -> Result<Arc<Written>, WatchError> {
        let path = || output.to_path_buf();
        std::fs::create_dir_all(output).map_err(|source| WatchError::Create {
            path: path(),
            source,
        })?;
        let written = Arc::new(Written {
            name,
            writes: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
            watcher: Mutex::new(None),
        });
        let weak: Weak<Written> = Arc::downgrade(&written);
        let mut watcher = notify::recommended_watcher(move |event| {
            if let (Some(written), Ok(event)) = (weak.upgrade(), event) {
                written.seen(event);
            }
        })
        .map_err(|source| WatchError::Watch {
            path: path(),
            source,
        })?;
        watcher
            .watch(output, RecursiveMode::Recursive)
            .map_err(|source| WatchError::Watch {
                path: path(),
                source,
            })?;
        *written.lock_watcher() = Some(watcher);
        Ok(written)
    }

    fn lock_watcher(&self) -> MutexGuard<'_, Option<RecommendedWatcher>> {
        self.watcher.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_writes(&self) -> MutexGuard<'_, Vec<(Instant, PathBuf)>> {
        self.writes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn seen(&self, event: notify::Event) {
        if !finishes_a_write(&event.kind) {
            return;
        }
        let now = Instant::now();
        let mut writes = self.lock_writes();
        writes.retain(|(at, _)| now.duration_since(*at) < REMEMBERED);
        for path in event.paths {
            if path.file_name().is_some_and(|n| n == self.name) {
                writes.push((now, path));
            }
        }
        self.arrived.notify_all();
    }

    /// Whether any was seen since the watch began (within the last minute).
    pub fn any(&self) -> bool {
        !self.lock_writes().is_empty()
    }

    /// Waits until `count` different files were written since `since`; false
    /// when `limit` passed first.
    pub fn wait(&self, since: tokio::time::Instant, count: u32, limit: Duration) -> bool {
        let since = since.into_std();
        let deadline = Instant::now() + limit;
        let mut writes = self.lock_writes();
        loop {
            let mut paths: Vec<&PathBuf> = writes
                .iter()
                .filter(|(at, _)| *at >= since)
                .map(|(_, path)| path)
                .collect();
            paths.sort();
            paths.dedup();
            if paths.len() >= count as usize {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            writes = match self.arrived.wait_timeout(writes, deadline - now) {
                Ok((writes, _)) => writes,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
}

/// A write is known finished at its close where the platform reports closes
/// (inotify); elsewhere (FSEvents) its change is all there is.
fn finishes_a_write(kind: &EventKind) -> bool {
    if crate::platform::REPORTS_CLOSES {
        matches!(
            kind,
            EventKind::Access(AccessKind::Close(AccessMode::Write))
        )
    } else {
        matches!(
            kind,
            EventKind::Create(_) | EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_different_files_written_since_a_moment() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(out.join("a")).unwrap();
        std::fs::create_dir_all(out.join("b")).unwrap();
        let written = Written::watch(&out, "package.json").unwrap();
        std::fs::write(out.join("a/package.json"), "{}").unwrap();
        let since = tokio::time::Instant::now();
        std::fs::write(out.join("a/package.json"), "{}").unwrap();
        std::fs::write(out.join("a/index.js"), "").unwrap();
        let second = Duration::from_secs(5);
        assert!(written.wait(since, 1, second), "a's write after `since`");
        assert!(
            !written.wait(since, 2, Duration::from_millis(200)),
            "a twice is one file, index.js is no package.json"
        );
        std::fs::write(out.join("b/package.json"), "{}").unwrap();
        assert!(written.wait(since, 2, second));
        assert!(
            !written.wait(tokio::time::Instant::now(), 1, Duration::from_millis(100)),
            "nothing since now"
        );
    }
}
