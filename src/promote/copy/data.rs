//! Moving the bytes of one file: the platform's clone where the filesystem
//! shares extents (btrfs, xfs), else its in-kernel copy (`copy_file_range`,
//! `fcopyfile`), else plain read/write. Each worker remembers what its filesystem refused so a
//! refused call is tried once per promotion, not once per file.

use std::fs::{File, Metadata};
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::platform::{self, unsupported};
use rustix::fs::{OFlags, Timespec, Timestamps};

use super::read_full;

const CHUNK: usize = 256 * 1024;

/// Per-worker state: scratch buffers and what the filesystem supports.
#[derive(Default)]
pub struct Buffers {
    a: Vec<u8>,
    b: Vec<u8>,
    no_clone: bool,
    no_copy_range: bool,
}

impl Buffers {
    fn both(&mut self) -> (&mut [u8], &mut [u8]) {
        if self.a.len() < CHUNK {
            self.a.resize(CHUNK, 0);
            self.b.resize(CHUNK, 0);
        }
        (&mut self.a, &mut self.b)
    }
}

/// A new file, failing if the name exists (a recycled name is removed first).
pub fn create(path: &Path, mode: u32) -> io::Result<File> {
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
    let fd = rustix::fs::open(path, flags, platform::mode(mode))?;
    Ok(File::from(fd))
}

/// The recycled file at `path` opened to be written over in place (same
/// inode, overwritten from the start; the caller sets the length after), which spares the filesystem an inode allocation: on ext4
/// that is most of the cost of a file. Not for files a running process may
/// map or execute (native code, executables) nor for hard-linked ones: those
/// get a new inode, as does any file this open refuses.
pub fn rewrite(path: &Path) -> Option<File> {
    if maps_code(path) {
        return None;
    }
    let flags = OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::open(path, flags, rustix::fs::Mode::empty()).ok()?;
    let st = rustix::fs::fstat(&fd).ok()?;
    let plain = st.st_nlink == 1 && (st.st_mode as u32) & 0o111 == 0;
    if !plain {
        return None;
    }
    Some(File::from(fd))
}

/// Native code that a process loads with dlopen, mapping the file.
fn maps_code(path: &Path) -> bool {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    matches!(ext, "node" | "so" | "dylib" | "dll" | "exe")
}

pub fn copy_data(src: &mut File, dst: &File, len: u64, bufs: &mut Buffers) -> io::Result<()> {
    if len == 0 {
        return Ok(());
    }
    if !bufs.no_clone {
        match platform::clone_file(dst, src) {
            Ok(()) => return Ok(()),
            Err(e) if unsupported(e) => bufs.no_clone = true,
            Err(e) => return Err(e.into()),
        }
    }
    if !bufs.no_copy_range {
        if platform::copy_range(src, dst)? {
            return Ok(());
        }
        bufs.no_copy_range = true;
    }
    let (buf, _) = bufs.both();
    let mut out = dst;
    loop {
        let n = read_full(src, buf)?;
        if n == 0 {
            return Ok(());
        }
        out.write_all(&buf[..n])?;
    }
}

/// Opens `dst` and compares it with `src` (whose length is `len`); returns the
/// open file when the bytes are identical.
pub fn same_content(
    src: &mut File,
    dst: &Path,
    len: u64,
    bufs: &mut Buffers,
) -> io::Result<Option<File>> {
    let mut other = File::open(dst)?;
    if other.metadata()?.len() != len {
        return Ok(None);
    }
    let (a, b) = bufs.both();
    loop {
        let n = read_full(src, a)?;
        let m = read_full(&mut other, b)?;
        if n != m || a[..n] != b[..m] {
            return Ok(None);
        }
        if n == 0 {
            break;
        }
    }
    // Opened read-only for the compare; mode and times need no write access.
    Ok(Some(other))
}

/// Mode exactly as in the output (no umask), times as the build left them, so
/// tools that compare modification times see the build's own times.
pub fn set_mode_and_times(dst: &File, meta: &Metadata) -> io::Result<()> {
    rustix::fs::fchmod(dst, platform::mode(meta.mode()))?;
    let ts = |sec: i64, nsec: i64| Timespec {
        tv_sec: sec,
        tv_nsec: nsec as _,
    };
    let times = Timestamps {
        last_access: ts(meta.atime(), meta.atime_nsec()),
        last_modification: ts(meta.mtime(), meta.mtime_nsec()),
    };
    rustix::fs::futimens(dst, &times)?;
    Ok(())
}
