//! Making the staged tree an exact copy of the build output: walk the output,
//! create directories and symlinks in order, then copy the files on a few
//! threads (reflink, else `copy_file_range`, else read/write), never as a
//! hard link, so a build that later rewrites a file in place cannot change
//! what the running apps import.
//!
//! The destination may be a recycled old generation: entries the
//! output lacks are deleted, a file whose bytes already match is kept
//! (only its mode and times are set), which saves most of the cost of a
//! rebuild that changed few files, and a file whose bytes differ is written
//! over in place, which saves the inode a new file would cost (most of the
//! cost of a rebuild that changed everything). Native code and executables
//! get a new inode instead: a running process may map them.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, FileType};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rustix::fs::{AtFlags, CWD, Mode, OFlags};

use super::layout::MARKER;
use super::{PromoteError, io_err};

mod data;

/// What a copy did, for the `promoted` event.
#[derive(Debug, Default, Clone)]
pub struct CopyStats {
    pub files: u64,
    pub bytes: u64,
    /// Files already identical in a recycled tree (not rewritten).
    pub reused: u64,
    /// Relative paths whose bytes differ from the tree in place before (the
    /// previous generation): added, removed or rewritten. What `nudge` touches.
    pub changed: Vec<PathBuf>,
}

/// One regular file to bring over.
struct FileJob {
    src: PathBuf,
    dst: PathBuf,
    meta: fs::Metadata,
    /// A regular file of that name already exists in the destination.
    existing: bool,
    /// The same path in the previous generation, if a regular file there.
    prev: Option<PathBuf>,
    /// The file's name, and the directories of `dst` and `prev` held open:
    /// a stat by name in an open directory skips the walk of a long path.
    name: OsString,
    dst_dir: Option<Arc<OwnedFd>>,
    prev_dir: Option<Arc<OwnedFd>>,
    /// New since the previous generation (its directory existed there).
    added: bool,
    rel: PathBuf,
}

/// Work found by the walk: files for the threads, directory modes for last.
#[derive(Default)]
struct Plan {
    files: Vec<FileJob>,
    /// Applied deepest first after the files exist, so a read-only directory
    /// in the output does not stop the copy into it.
    dir_modes: Vec<(PathBuf, u32)>,
    /// Added or removed entries other than files (directories, symlinks).
    changed: Vec<PathBuf>,
}

/// One directory level of the walk: where it reads, writes and compares.
struct Level<'a> {
    src: &'a Path,
    dst: &'a Path,
    /// The same directory in the previous generation, if it exists.
    prev: Option<&'a Path>,
    rel: &'a Path,
    /// `dst` was just created, so there is nothing in it to compare.
    fresh: bool,
}

/// Makes `dst` (an existing directory, empty or recycled) equal to `src`,
/// and lists what differs from `prev` (the tree in place, if any).
pub fn sync_tree(src: &Path, dst: &Path, prev: Option<&Path>) -> Result<CopyStats, PromoteError> {
    let mut plan = Plan::default();
    let root = fs::metadata(src).map_err(io_err("read", src))?;
    plan.dir_modes
        .push((dst.to_path_buf(), root.permissions().mode() & 0o7777));
    let top = Level {
        src,
        dst,
        prev: prev.filter(|p| p.is_dir()),
        rel: Path::new(""),
        fresh: false,
    };
    walk(&top, true, &mut plan)?;
    let mut stats = copy_files(&plan.files)?;
    stats.changed.append(&mut plan.changed);
    for (dir, mode) in plan.dir_modes.iter().rev() {
        fs::set_permissions(dir, fs::Permissions::from_mode(*mode))
            .map_err(io_err("set the mode of", dir))?;
    }
    Ok(stats)
}

/// Total size the output will take: file bytes rounded up to 4 KiB blocks
/// plus a block per directory and symlink.
pub fn tree_size(dir: &Path) -> Result<u64, PromoteError> {
    let mut total = 4096u64;
    for entry in fs::read_dir(dir).map_err(io_err("read the directory", dir))? {
        let entry = entry.map_err(io_err("read the directory", dir))?;
        let path = entry.path();
        let meta = entry.metadata().map_err(io_err("read", &path))?;
        total = total.saturating_add(if meta.is_dir() {
            tree_size(&path)?
        } else {
            meta.len().div_ceil(4096).saturating_mul(4096).max(4096)
        });
    }
    Ok(total)
}

fn walk(at: &Level, root: bool, plan: &mut Plan) -> Result<(), PromoteError> {
    let (src, dst) = (at.src, at.dst);
    let mut old = if at.fresh {
        HashMap::new()
    } else {
        existing_entries(dst)?
    };
    let mut before = match at.prev {
        Some(prev) => existing_entries(prev)?,
        None => HashMap::new(),
    };
    let (dst_dir, prev_dir) = (open_dir(dst), at.prev.and_then(open_dir));
    for entry in fs::read_dir(src).map_err(io_err("read the directory", src))? {
        let entry = entry.map_err(io_err("read the directory", src))?;
        let name = entry.file_name();
        // The marker is devloop's; one in the output would claim completeness early.
        if root && name == MARKER {
            continue;
        }
        let (from, to) = (entry.path(), dst.join(&name));
        let meta = entry.metadata().map_err(io_err("read", &from))?;
        let ft = meta.file_type();
        let had = old.remove(&name);
        let same_kind = had.is_some_and(|h| kind(h) == kind(ft));
        let rel = at.rel.join(&name);
        let prev_path = at.prev.map(|p| p.join(&name));
        let was = before.remove(&name).filter(|b| kind(*b) == kind(ft));
        if was.is_none() && at.prev.is_some() && !ft.is_file() {
            plan.changed.push(rel.clone());
        }
        if had.is_some() && !same_kind {
            remove_any(&to, had)?;
        }
        if ft.is_dir() {
            if !same_kind {
                fs::create_dir(&to).map_err(io_err("create the directory", &to))?;
            }
            plan.dir_modes
                .push((to.clone(), meta.permissions().mode() & 0o7777));
            let sub_prev = prev_path.filter(|_| was.is_some());
            let sub = Level {
                src: &from,
                dst: &to,
                prev: sub_prev.as_deref(),
                rel: &rel,
                fresh: !same_kind,
            };
            walk(&sub, false, plan)?;
        } else if ft.is_symlink() {
            let link = fs::read_link(&from).map_err(io_err("read the symlink", &from))?;
            let unchanged = |p: &Path| fs::read_link(p).ok().as_deref() == Some(link.as_path());
            if was.is_some() && !prev_path.as_deref().is_some_and(unchanged) {
                plan.changed.push(rel.clone());
            }
            if same_kind && unchanged(&to) {
                continue;
            }
            if same_kind {
                remove_any(&to, had)?;
            }
            std::os::unix::fs::symlink(&link, &to).map_err(io_err("create the symlink", &to))?;
        } else if ft.is_file() {
            plan.files.push(FileJob {
                src: from,
                dst: to,
                meta,
                existing: same_kind,
                added: was.is_none() && at.prev.is_some(),
                prev: prev_path.filter(|_| was.is_some()),
                name,
                dst_dir: dst_dir.clone(),
                prev_dir: prev_dir.clone(),
                rel,
            });
        } else {
            return Err(PromoteError::Unsupported { path: from });
        }
    }
    for (name, ft) in old {
        remove_any(&dst.join(name), Some(ft))?;
    }
    // Gone since the previous generation (the marker is not content).
    for name in before.into_keys() {
        if !(root && name == MARKER) {
            plan.changed.push(at.rel.join(name));
        }
    }
    Ok(())
}

fn kind(ft: FileType) -> u8 {
    if ft.is_dir() {
        0
    } else if ft.is_symlink() {
        1
    } else if ft.is_file() {
        2
    } else {
        3
    }
}

fn existing_entries(dir: &Path) -> Result<HashMap<std::ffi::OsString, FileType>, PromoteError> {
    let mut map = HashMap::new();
    for entry in fs::read_dir(dir).map_err(io_err("read the directory", dir))? {
        let entry = entry.map_err(io_err("read the directory", dir))?;
        let ft = entry.file_type().map_err(io_err("read", &entry.path()))?;
        map.insert(entry.file_name(), ft);
    }
    Ok(map)
}

fn remove_any(path: &Path, ft: Option<FileType>) -> Result<(), PromoteError> {
    let res = match ft {
        Some(ft) if ft.is_dir() => fs::remove_dir_all(path),
        _ => fs::remove_file(path),
    };
    res.map_err(io_err("remove", path))
}

/// Runs the file jobs on up to one thread per core; the first error stops
/// the others and is returned.
fn copy_files(jobs: &[FileJob]) -> Result<CopyStats, PromoteError> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
        .min(jobs.len().div_ceil(32).max(1));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let worker = || -> Result<CopyStats, PromoteError> {
        let mut stats = CopyStats::default();
        let mut bufs = data::Buffers::default();
        while !failed.load(Ordering::Relaxed) {
            let Some(job) = jobs.get(next.fetch_add(1, Ordering::Relaxed)) else {
                break;
            };
            match copy_one(job, &mut bufs) {
                Ok((reused, changed)) => {
                    stats.files += 1;
                    stats.bytes += job.meta.len();
                    stats.reused += u64::from(reused);
                    if changed {
                        stats.changed.push(job.rel.clone());
                    }
                }
                Err(e) => {
                    failed.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        Ok(stats)
    };
    let results: Vec<_> =
        std::thread::scope(|s| {
            let handles: Vec<_> = (1..threads).map(|_| s.spawn(worker)).collect();
            let mut results = vec![worker()];
            for h in handles {
                results.push(h.join().unwrap_or_else(|_| {
                    Err(PromoteError::Internal("a copy thread panicked".into()))
                }));
            }
            results
        });
    let mut total = CopyStats::default();
    for r in results {
        let s = r?;
        total.files += s.files;
        total.bytes += s.bytes;
        total.reused += s.reused;
        total.changed.extend(s.changed);
    }
    Ok(total)
}

/// Copies one file; returns whether a recycled copy already matched, and
/// whether its bytes differ from the previous generation's.
fn copy_one(job: &FileJob, bufs: &mut data::Buffers) -> Result<(bool, bool), PromoteError> {
    let quick = job
        .existing
        .then(|| quick_same(job.dst_dir.as_deref(), &job.dst, &job.name, &job.meta))
        .flatten();
    // Same bytes, mode and times already: nothing to write at all, and in
    // the usual case (unchanged since the previous generation) nothing to read.
    let done = quick
        .as_ref()
        .is_some_and(|mode| mode & 0o7777 == job.meta.mode() & 0o7777);
    if done && job.prev.as_ref().is_some_and(|p| same_as_prev(job, p)) {
        return Ok((true, false));
    }
    let mut src = File::open(&job.src).map_err(io_err("open", &job.src))?;
    if done {
        return Ok((true, changed_since_prev(job, &mut src, bufs)?));
    }
    let reused = quick.is_some()
        || job.existing && {
            let same = data::same_content(&mut src, &job.dst, job.meta.len(), bufs)
                .map_err(io_err("compare with", &job.dst))?
                .is_some();
            rewind(&mut src, &job.src)?;
            same
        };
    if reused {
        let dst = File::open(&job.dst).map_err(io_err("open", &job.dst))?;
        data::set_mode_and_times(&dst, &job.meta).map_err(io_err("set the mode of", &job.dst))?;
    } else {
        let dst = match job.existing.then(|| data::rewrite(&job.dst)).flatten() {
            Some(dst) => dst,
            None => {
                if job.existing {
                    fs::remove_file(&job.dst).map_err(io_err("remove", &job.dst))?;
                }
                data::create(&job.dst, job.meta.mode()).map_err(io_err("create", &job.dst))?
            }
        };
        data::copy_data(&mut src, &dst, job.meta.len(), bufs)
            .map_err(io_err("copy into", &job.dst))?;
        // Written over in place: cut what the old, longer bytes left behind.
        dst.set_len(job.meta.len())
            .map_err(io_err("copy into", &job.dst))?;
        data::set_mode_and_times(&dst, &job.meta).map_err(io_err("set the mode of", &job.dst))?;
    }
    Ok((reused, changed_since_prev(job, &mut src, bufs)?))
}

/// Whether the file's bytes differ from the previous generation's.
fn changed_since_prev(
    job: &FileJob,
    src: &mut File,
    bufs: &mut data::Buffers,
) -> Result<bool, PromoteError> {
    Ok(match &job.prev {
        None => job.added,
        Some(prev) if same_as_prev(job, prev) => false,
        Some(prev) => {
            rewind(src, &job.src)?;
            // Unreadable counts as changed: a nudge too many costs little.
            !matches!(
                data::same_content(src, prev, job.meta.len(), bufs),
                Ok(Some(_))
            )
        }
    })
}

/// Same size and modification time as the output file: a copy of the same
/// write (copies keep the build's times), so the bytes need no compare.
/// Trusted only when the copy was made a second or more after that write:
/// two writes within one timestamp tick could otherwise look alike.
fn quick_same(dir: Option<&OwnedFd>, path: &Path, name: &OsStr, src: &fs::Metadata) -> Option<u32> {
    let st = match dir {
        Some(dir) => rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW),
        None => rustix::fs::statat(CWD, path, AtFlags::SYMLINK_NOFOLLOW),
    }
    .ok()?;
    let mode = st.st_mode as u32;
    let same = rustix::fs::FileType::from_raw_mode(st.st_mode as _).is_file()
        && st.st_size as u64 == src.len()
        && st.st_mtime as i64 == src.mtime()
        && st.st_mtime_nsec as i64 == src.mtime_nsec()
        && (st.st_ctime as i64) > src.mtime().saturating_add(1);
    same.then_some(mode)
}

fn same_as_prev(job: &FileJob, prev: &Path) -> bool {
    quick_same(job.prev_dir.as_deref(), prev, &job.name, &job.meta).is_some()
}

/// A directory held open for stats by name; None (stat by path) if it cannot be.
fn open_dir(path: &Path) -> Option<Arc<OwnedFd>> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    rustix::fs::open(path, flags, Mode::empty())
        .ok()
        .map(Arc::new)
}

fn rewind(file: &mut File, path: &Path) -> Result<(), PromoteError> {
    file.seek(SeekFrom::Start(0))
        .map(drop)
        .map_err(io_err("read", path))
}

/// Reads to fill `buf` or to the end of the file; returns the bytes read.
fn read_full(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}
