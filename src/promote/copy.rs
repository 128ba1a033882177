//! Making the staged tree an exact copy of the build output: walk the output,
//! create directories and symlinks in order, then copy the files on a few
//! threads. Each file is a new inode (reflink, else `copy_file_range`, else
//! read/write), never a hard link, so a build that later rewrites a file in
//! place cannot change what the running apps import.
//!
//! The destination may be a recycled old generation: entries the
//! output lacks are deleted, and a file whose bytes already match is kept
//! (only its mode and times are set), which saves most of the cost of a
//! rebuild that changed few files.

use std::collections::HashMap;
use std::fs::{self, File, FileType};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::layout::MARKER;
use super::{PromoteError, io_err};

mod data;

/// What a copy did, for the `promoted` event.
#[derive(Debug, Default, Clone, Copy)]
pub struct CopyStats {
    pub files: u64,
    pub bytes: u64,
    /// Files already identical in a recycled tree (not rewritten).
    pub reused: u64,
}

/// One regular file to bring over.
struct FileJob {
    src: PathBuf,
    dst: PathBuf,
    meta: fs::Metadata,
    /// A regular file of that name already exists in the destination.
    existing: bool,
}

/// Work found by the walk: files for the threads, directory modes for last.
#[derive(Default)]
struct Plan {
    files: Vec<FileJob>,
    /// Applied deepest first after the files exist, so a read-only directory
    /// in the output does not stop the copy into it.
    dir_modes: Vec<(PathBuf, u32)>,
}

/// Makes `dst` (an existing directory, empty or recycled) equal to `src`.
pub fn sync_tree(src: &Path, dst: &Path) -> Result<CopyStats, PromoteError> {
    let mut plan = Plan::default();
    let root = fs::metadata(src).map_err(io_err("read", src))?;
    plan.dir_modes
        .push((dst.to_path_buf(), root.permissions().mode() & 0o7777));
    walk(src, dst, true, false, &mut plan)?;
    let stats = copy_files(&plan.files)?;
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

/// `fresh`: `dst` was just created, so there is nothing in it to compare.
fn walk(
    src: &Path,
    dst: &Path,
    root: bool,
    fresh: bool,
    plan: &mut Plan,
) -> Result<(), PromoteError> {
    let mut old = if fresh {
        HashMap::new()
    } else {
        existing_entries(dst)?
    };
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
        if had.is_some() && !same_kind {
            remove_any(&to, had)?;
        }
        if ft.is_dir() {
            if !same_kind {
                fs::create_dir(&to).map_err(io_err("create the directory", &to))?;
            }
            plan.dir_modes
                .push((to.clone(), meta.permissions().mode() & 0o7777));
            walk(&from, &to, false, !same_kind, plan)?;
        } else if ft.is_symlink() {
            let link = fs::read_link(&from).map_err(io_err("read the symlink", &from))?;
            if same_kind && fs::read_link(&to).ok().as_deref() == Some(link.as_path()) {
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
            });
        } else {
            return Err(PromoteError::Unsupported { path: from });
        }
    }
    for (name, ft) in old {
        remove_any(&dst.join(name), Some(ft))?;
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
                Ok(reused) => {
                    stats.files += 1;
                    stats.bytes += job.meta.len();
                    stats.reused += u64::from(reused);
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
    }
    Ok(total)
}

/// Copies one file; returns true when a recycled copy already matched.
fn copy_one(job: &FileJob, bufs: &mut data::Buffers) -> Result<bool, PromoteError> {
    let mut src = File::open(&job.src).map_err(io_err("open", &job.src))?;
    if job.existing {
        if let Some(dst) = data::same_content(&mut src, &job.dst, job.meta.len(), bufs)
            .map_err(io_err("compare with", &job.dst))?
        {
            data::set_mode_and_times(&dst, &job.meta)
                .map_err(io_err("set the mode of", &job.dst))?;
            return Ok(true);
        }
        // New bytes get a new inode: an old process may still map the old one.
        fs::remove_file(&job.dst).map_err(io_err("remove", &job.dst))?;
        src.seek(SeekFrom::Start(0))
            .map_err(io_err("read", &job.src))?;
    }
    let dst = data::create(&job.dst, job.meta.mode()).map_err(io_err("create", &job.dst))?;
    data::copy_data(&mut src, &dst, job.meta.len(), bufs).map_err(io_err("copy into", &job.dst))?;
    data::set_mode_and_times(&dst, &job.meta).map_err(io_err("set the mode of", &job.dst))?;
    Ok(false)
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
