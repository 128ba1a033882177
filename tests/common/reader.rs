//! A reader process for the promotion tests: the test binary runs itself
//! again as `reader_child`, which reads the target in a loop while devloop
//! (or the promotion code) swaps generations under it.

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Starts reader `i` on `target`; `test` is the full name of the calling
/// module's `reader_child` test; `ctl` is where it announces and is stopped.
pub fn spawn(test: &str, target: &Path, ctl: &Path, i: usize) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env("READER_DIR", target)
        .env("READER_CTL", ctl)
        .env("READER_ID", i.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// One read: the directory opened once, every file read through it, as a
/// server that resolves a path and then reads its modules would.
pub fn read_files(dir: &Path, names: &[&str], bufs: &mut [Vec<u8>]) -> Result<(), Errno> {
    let dirfd = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    for (name, buf) in names.iter().zip(bufs.iter_mut()) {
        let fd = rustix::fs::openat(
            &dirfd,
            *name,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        buf.clear();
        let mut chunk = [0u8; 64];
        loop {
            let n = rustix::io::read(&fd, &mut chunk)?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    }
    Ok(())
}
