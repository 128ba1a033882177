//! macOS: libproc for the process table, `renameatx_np(RENAME_SWAP)` on APFS,
//! `fcopyfile` for copies. There is no child subreaper, and which process
//! holds a port is not looked up.

use super::{ProcInfo, unsupported};
use rustix::io::Errno;
use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};

/// What to do when the system runs out of file watches.
pub const WATCH_LIMIT_HINT: &str =
    "raise the open-files limit (`ulimit -n`) or watch fewer directories";

pub const LIMITS: &[&str] = &[
    "on macOS devloop does not name the program holding a taken port (it still waits for the port to be free), nor the program that wrote into the promote target",
];

fn last_errno() -> Errno {
    Errno::from_io_error(&std::io::Error::last_os_error()).unwrap_or(Errno::IO)
}

fn c_name(name: &str) -> Result<CString, Errno> {
    CString::new(name).map_err(|_| Errno::INVAL)
}

/// Swaps two names in `dir` atomically (APFS; other filesystems refuse).
pub fn exchange(dir: &OwnedFd, from: &str, to: &str) -> Result<(), Errno> {
    let (from, to) = (c_name(from)?, c_name(to)?);
    let fd = dir.as_raw_fd();
    // SAFETY: valid descriptor and NUL-terminated names that outlive the call.
    let rc = unsafe { libc::renameatx_np(fd, from.as_ptr(), fd, to.as_ptr(), libc::RENAME_SWAP) };
    if rc == 0 { Ok(()) } else { Err(last_errno()) }
}

/// Cloning needs a fresh name (`clonefile`), not an open file: refused here,
/// and [`copy_range`] does the copy.
pub fn clone_file(_dst: &File, _src: &File) -> Result<(), Errno> {
    Err(Errno::OPNOTSUPP)
}

/// Copies `src` into `dst` with `fcopyfile`. Ok(false) when it cannot.
pub fn copy_range(src: &File, dst: &File) -> std::io::Result<bool> {
    // SAFETY: two open descriptors; a null state is allowed.
    let rc = unsafe {
        libc::fcopyfile(
            src.as_raw_fd(),
            dst.as_raw_fd(),
            std::ptr::null_mut(),
            libc::COPYFILE_DATA,
        )
    };
    match rc {
        0 => Ok(true),
        _ => match last_errno() {
            e if unsupported(e) => Ok(false),
            e => Err(e.into()),
        },
    }
}

/// The running executable, to start again.
pub fn own_executable() -> std::path::PathBuf {
    std::env::current_exe().unwrap_or_else(|_| "devloop".into())
}

pub fn become_subreaper() -> Result<(), super::SubreaperError> {
    Err(super::SubreaperError::Unsupported("macOS"))
}

pub fn process(pid: u32) -> Option<ProcInfo> {
    let mut info: libc::proc_bsdinfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::proc_bsdinfo>() as libc::c_int;
    // SAFETY: the buffer is a proc_bsdinfo of the size given.
    let got = unsafe {
        libc::proc_pidinfo(
            pid as libc::c_int,
            libc::PROC_PIDTBSDINFO,
            0,
            (&mut info as *mut libc::proc_bsdinfo).cast(),
            size,
        )
    };
    if got != size {
        return None;
    }
    // SAFETY: plain call; -1 when the process is gone.
    let sid = unsafe { libc::getsid(pid as libc::pid_t) };
    Some(ProcInfo {
        zombie: info.pbi_status == libc::SZOMB,
        ppid: info.pbi_ppid,
        pgid: info.pbi_pgid,
        sid: u32::try_from(sid).unwrap_or(0),
        start_time: info.pbi_start_tvsec * 1_000_000 + info.pbi_start_tvusec,
    })
}

/// Fills a pid list from a libproc call that returns a count of pids.
fn pid_list(call: impl Fn(*mut libc::c_void, libc::c_int) -> libc::c_int) -> Vec<u32> {
    // Room for more than asked, since processes start between the two calls.
    let wanted = call(std::ptr::null_mut(), 0).max(0) as usize + 64;
    let mut pids = vec![0 as libc::pid_t; wanted];
    let bytes = (wanted * std::mem::size_of::<libc::pid_t>()) as libc::c_int;
    let got = call(pids.as_mut_ptr().cast(), bytes).max(0) as usize;
    pids.truncate(got.min(wanted));
    pids.into_iter()
        .filter(|&p| p > 0)
        .map(|p| p as u32)
        .collect()
}

pub fn all_pids() -> Vec<u32> {
    // SAFETY: libproc writes at most `size` bytes into the buffer.
    pid_list(|buf, size| unsafe { libc::proc_listallpids(buf, size) })
}

pub fn own_children() -> Vec<(u32, ProcInfo)> {
    let me = std::process::id();
    // SAFETY: as above.
    pid_list(|buf, size| unsafe { libc::proc_listchildpids(me as libc::pid_t, buf, size) })
        .into_iter()
        .filter_map(|pid| Some((pid, process(pid)?)))
        .filter(|(_, p)| p.ppid == me)
        .collect()
}

/// Not looked up on macOS: the caller falls back to a bind attempt.
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

pub fn program_name(pid: u32) -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is as long as said.
    let n = unsafe {
        libc::proc_name(
            pid as libc::c_int,
            buf.as_mut_ptr().cast(),
            buf.len() as u32,
        )
    };
    let name = String::from_utf8_lossy(buf.get(..usize::try_from(n).ok()?)?).into_owned();
    Some(name).filter(|n| !n.is_empty())
}
