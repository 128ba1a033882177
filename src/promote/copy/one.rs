//! One file of the copy: kept, written over or created, and whether its
//! bytes differ from the previous generation's, reading as little as the
//! times of the copies allow.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use rustix::fs::{AtFlags, CWD};

use super::{FileJob, data, rewind};
use crate::promote::{PromoteError, io_err};

/// Copies one file; returns whether a recycled copy already matched, and
/// whether its bytes differ from the previous generation's.
pub(super) fn copy_one(
    job: &FileJob,
    bufs: &mut data::Buffers,
) -> Result<(bool, bool), PromoteError> {
    let write = Write::of(&job.meta);
    let dst = job
        .existing
        .then(|| Stamp::of(job.dst_dir.as_deref(), &job.dst, &job.name))
        .flatten();
    let prev = job
        .prev
        .as_ref()
        .and_then(|p| Stamp::of(job.prev_dir.as_deref(), p, &job.name));
    let dst_quick = dst.is_some_and(|d| d.copy_of(write));
    let mut changed = match &job.prev {
        None => Some(job.added),
        Some(_) if prev.is_some_and(|p| p.copy_of(write)) => Some(false),
        Some(_) => None,
    };
    // Same bytes, mode and times already: nothing to write at all, and in
    // the usual case (unchanged since the previous generation) nothing to read.
    let mode_ok = dst.is_some_and(|d| d.mode & 0o7777 == job.meta.mode() & 0o7777);
    if dst_quick
        && mode_ok
        && let Some(changed) = changed
    {
        return Ok((true, changed));
    }
    let mut src = File::open(&job.src).map_err(io_err("open", &job.src))?;
    let reused = dst_quick
        || job.existing && {
            let same = data::same_content(&mut src, &job.dst, job.meta.len(), bufs)
                .map_err(io_err("compare with", &job.dst))?
                .is_some();
            rewind(&mut src, &job.src)?;
            same
        };
    // The recycled and the previous file are copies of one write: comparing
    // with one answered for both (a rebuild that rewrote every file with
    // mostly the same bytes then reads each file twice, not four times).
    if changed.is_none() && dst.zip(prev).is_some_and(|(d, p)| d.twin_of(p)) {
        changed = Some(!reused);
    }
    if reused {
        if !(dst_quick && mode_ok) {
            let dst = File::open(&job.dst).map_err(io_err("open", &job.dst))?;
            data::set_mode_and_times(&dst, &job.meta)
                .map_err(io_err("set the mode of", &job.dst))?;
        }
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
    let changed = match (changed, &job.prev) {
        (Some(changed), _) => changed,
        (None, None) => job.added,
        (None, Some(prev)) => {
            rewind(&mut src, &job.src)?;
            // Unreadable counts as changed: a nudge too many costs little.
            !matches!(
                data::same_content(&mut src, prev, job.meta.len(), bufs),
                Ok(Some(_))
            )
        }
    };
    Ok((reused, changed))
}

/// One write of a file by the build: its size and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Write {
    len: u64,
    mtime: (i64, i64),
}

impl Write {
    fn of(meta: &fs::Metadata) -> Write {
        Write {
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
        }
    }
}

/// What a stat of a copy says: the write it copied (copies keep the
/// build's times), when it was made, its mode.
#[derive(Debug, Clone, Copy)]
struct Stamp {
    write: Write,
    ctime: i64,
    mode: u32,
}

impl Stamp {
    /// The regular file `name` in `dir` (or at `path`); None if it is not one.
    fn of(dir: Option<&OwnedFd>, path: &Path, name: &OsStr) -> Option<Stamp> {
        let st = match dir {
            Some(dir) => rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW),
            None => rustix::fs::statat(CWD, path, AtFlags::SYMLINK_NOFOLLOW),
        }
        .ok()?;
        rustix::fs::FileType::from_raw_mode(st.st_mode as _)
            .is_file()
            .then_some(Stamp {
                write: Write {
                    len: st.st_size as u64,
                    mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
                },
                ctime: st.st_ctime as i64,
                mode: st.st_mode as u32,
            })
    }

    /// Made a second or more after the write it copied: two writes within
    /// one timestamp tick could otherwise look alike.
    fn trusted(&self) -> bool {
        self.ctime > self.write.mtime.0.saturating_add(1)
    }

    /// A copy of `write`, so the bytes need no compare.
    fn copy_of(&self, write: Write) -> bool {
        self.write == write && self.trusted()
    }

    /// Both copies of one write: the same bytes.
    fn twin_of(&self, other: Stamp) -> bool {
        self.trusted() && other.copy_of(self.write)
    }
}
