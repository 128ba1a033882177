//! Directory watches on Linux inotify, through rustix: one synchronous
//! `inotify_add_watch` per directory (no helper thread, no round trip), and
//! only the events a build cares about (no IN_OPEN or IN_ATTRIB noise from
//! tools reading the sources).

use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::io::Errno;
use std::collections::HashMap;
use std::ffi::OsStr;
use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// What a directory watch reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawEvent {
    /// Something at `path` was created, written, moved in, or went away.
    Entry {
        path: PathBuf,
        is_dir: bool,
        gone: bool,
    },
    /// The kernel queue overflowed: events were lost.
    Overflow,
}

#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error("out of inotify watches")]
    Limit,
    #[error("the directory is gone")]
    Gone,
    #[error("cannot watch {}: {source}", path.display())]
    Other {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct DirWatches {
    fd: AsyncFd<OwnedFd>,
    by_wd: HashMap<i32, PathBuf>,
    by_path: HashMap<PathBuf, i32>,
}

const MASK: WatchFlags = WatchFlags::CREATE
    .union(WatchFlags::DELETE)
    .union(WatchFlags::MODIFY)
    .union(WatchFlags::CLOSE_WRITE)
    .union(WatchFlags::MOVED_FROM)
    .union(WatchFlags::MOVED_TO)
    .union(WatchFlags::DELETE_SELF)
    .union(WatchFlags::MOVE_SELF)
    .union(WatchFlags::ONLYDIR)
    .union(WatchFlags::DONT_FOLLOW)
    .union(WatchFlags::EXCL_UNLINK);

impl DirWatches {
    /// Must be called inside the tokio runtime.
    pub fn new() -> std::io::Result<DirWatches> {
        let fd = inotify::init(CreateFlags::CLOEXEC | CreateFlags::NONBLOCK)?;
        // SAFETY: an OwnedFd stays open and keeps its number while the AsyncFd owns it.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?;
        Ok(DirWatches {
            fd,
            by_wd: HashMap::new(),
            by_path: HashMap::new(),
        })
    }

    pub fn contains(&self, dir: &Path) -> bool {
        self.by_path.contains_key(dir)
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    pub fn add(&mut self, dir: &Path) -> Result<(), AddError> {
        // "dir/." follows a symlinked watch root (pnpm workspaces); the walk
        // never hands symlinks below it, so DONT_FOLLOW guards the rest.
        match inotify::add_watch(self.fd.get_ref(), dir.join("."), MASK) {
            Ok(wd) => {
                // A directory renamed within the tree keeps its descriptor.
                if let Some(old) = self.by_wd.insert(wd, dir.to_path_buf()) {
                    self.by_path.remove(&old);
                }
                self.by_path.insert(dir.to_path_buf(), wd);
                Ok(())
            }
            Err(Errno::NOSPC) => Err(AddError::Limit),
            Err(Errno::NOENT | Errno::NOTDIR) => Err(AddError::Gone),
            Err(errno) => Err(AddError::Other {
                path: dir.to_path_buf(),
                source: errno.into(),
            }),
        }
    }

    /// Drops the watches of `dir` and every directory below it.
    pub fn remove_tree(&mut self, dir: &Path) {
        let below: Vec<PathBuf> = self
            .by_path
            .keys()
            .filter(|p| p.starts_with(dir))
            .cloned()
            .collect();
        for path in below {
            if let Some(wd) = self.by_path.remove(&path) {
                self.by_wd.remove(&wd);
                // Fails harmlessly when the kernel already dropped it (deleted directory).
                let _ = inotify::remove_watch(self.fd.get_ref(), wd);
            }
        }
    }

    /// Waits for events and returns all that are ready.
    pub async fn next(&mut self) -> std::io::Result<Vec<RawEvent>> {
        let mut buffer = vec![MaybeUninit::<u8>::uninit(); 64 * 1024];
        loop {
            let mut guard = self.fd.readable().await?;
            let mut events = Vec::new();
            let mut reader = inotify::Reader::new(self.fd.get_ref(), &mut buffer);
            let mut forgotten = Vec::new();
            loop {
                match reader.next() {
                    Ok(event) => {
                        let flags = event.events();
                        if flags.contains(ReadFlags::QUEUE_OVERFLOW) {
                            events.push(RawEvent::Overflow);
                            continue;
                        }
                        let Some(dir) = self.by_wd.get(&event.wd()) else {
                            continue;
                        };
                        if flags.contains(ReadFlags::IGNORED) {
                            forgotten.push(event.wd());
                            continue;
                        }
                        let path = match event.file_name() {
                            Some(name) if !name.is_empty() => {
                                dir.join(OsStr::from_bytes(name.to_bytes()))
                            }
                            _ => dir.clone(),
                        };
                        let self_event =
                            flags.intersects(ReadFlags::DELETE_SELF | ReadFlags::MOVE_SELF);
                        events.push(RawEvent::Entry {
                            path,
                            is_dir: flags.contains(ReadFlags::ISDIR) || self_event,
                            gone: self_event
                                || flags.intersects(ReadFlags::DELETE | ReadFlags::MOVED_FROM),
                        });
                    }
                    Err(Errno::AGAIN) => {
                        guard.clear_ready();
                        break;
                    }
                    Err(Errno::INTR) => continue,
                    Err(errno) => return Err(errno.into()),
                }
            }
            for wd in forgotten {
                if let Some(path) = self.by_wd.remove(&wd) {
                    self.by_path.remove(&path);
                }
            }
            if !events.is_empty() {
                return Ok(events);
            }
        }
    }
}
