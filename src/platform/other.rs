//! Other Unix systems: the portable fallbacks. The swap is two renames
//! (reported as `rename`), copies go through user space, and the process
//! table is not read.

use super::ProcInfo;
use rustix::io::Errno;
use std::fs::File;
use std::os::fd::OwnedFd;

/// What to do when the system runs out of file watches.
pub const WATCH_LIMIT_HINT: &str =
    "raise the open-files limit (`ulimit -n`) or watch fewer directories";

pub const LIMITS: &[&str] = &[
    "on this system devloop cannot read the process table: leftovers of a killed devloop are not stopped and a port's holder is not named",
];

pub fn exchange(_dir: &OwnedFd, _from: &str, _to: &str) -> Result<(), Errno> {
    Err(Errno::NOSYS)
}

pub fn clone_file(_dst: &File, _src: &File) -> Result<(), Errno> {
    Err(Errno::NOSYS)
}

pub fn copy_range(_src: &File, _dst: &File) -> std::io::Result<bool> {
    Ok(false)
}

/// The running executable, to start again.
pub fn own_executable() -> std::path::PathBuf {
    std::env::current_exe().unwrap_or_else(|_| "devloop".into())
}

pub fn become_subreaper() -> Result<(), super::SubreaperError> {
    Err(super::SubreaperError::Unsupported("this system"))
}

pub fn process(_pid: u32) -> Option<ProcInfo> {
    None
}

pub fn all_pids() -> Vec<u32> {
    Vec::new()
}

pub fn own_children() -> Vec<(u32, ProcInfo)> {
    Vec::new()
}

pub fn listening_sockets(_port: u16) -> Option<Vec<u64>> {
    None
}

pub fn socket_holder(_sockets: &[u64]) -> Option<u32> {
    None
}

/// Not read here: a foreign writer of the target is not named.
pub fn files_open_under(_dir: &std::path::Path) -> Vec<(u32, std::path::PathBuf)> {
    Vec::new()
}

pub fn program_name(_pid: u32) -> Option<String> {
    None
}
