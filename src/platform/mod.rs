//! Everything that differs between operating systems, behind one API: the
//! atomic swap, fast file copies, the process table, orphan reaping, and
//! signal names. Linux reads /proc and uses its own system calls; macOS uses
//! libproc and APFS calls through libc; other Unix systems get the portable
//! fallbacks. What a platform cannot do is reported by [`limits`], so the
//! caller can say it once.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as os;
#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
use macos as os;
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod other;
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
use other as os;

mod signals;

pub use os::WATCH_LIMIT_HINT;
pub use os::{
    all_pids, become_subreaper, clone_file, copy_range, exchange, files_open_under,
    listening_sockets, own_children, own_executable, process, program_name, socket_holder,
};
pub use signals::{SignalError, quit_signals, signal_name};

use rustix::fs::Mode;
use rustix::io::Errno;

/// Why orphans are not reparented to devloop.
#[derive(Debug, thiserror::Error)]
pub enum SubreaperError {
    #[error(
        "cannot become a child subreaper ({0}): a daemon that leaves its process group is not stopped at exit"
    )]
    Refused(Errno),
    #[error(
        "{0} has no child subreaper: a daemon that leaves its process group is not stopped at exit"
    )]
    Unsupported(&'static str),
}

/// What devloop needs to know about one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcInfo {
    pub zombie: bool,
    pub ppid: u32,
    pub pgid: u32,
    pub sid: u32,
    /// With the pid, names one process for good: a reused pid starts later.
    /// Units differ by platform (clock ticks on Linux, microseconds on macOS).
    pub start_time: u64,
}

/// The members of process group `pgid`, zombies included.
pub fn group_members(pgid: u32) -> Vec<ProcInfo> {
    all_pids()
        .into_iter()
        .filter_map(process)
        .filter(|p| p.pgid == pgid)
        .collect()
}

/// A permission mode from `st_mode` bits, whatever width the platform uses.
pub fn mode(raw: u32) -> Mode {
    Mode::from_bits_truncate((raw & 0o7777) as _)
}

/// Errors meaning "this filesystem or kernel cannot do that", not "failed".
pub fn unsupported(e: Errno) -> bool {
    exchange_refused(e) || matches!(e, Errno::NOTTY | Errno::PERM)
}

/// Errors of [`exchange`] meaning "not here": the two-rename fallback runs.
/// (ENOTSUP and EOPNOTSUPP are one number on Linux, two on macOS.)
pub fn exchange_refused(e: Errno) -> bool {
    matches!(
        e,
        Errno::OPNOTSUPP | Errno::XDEV | Errno::INVAL | Errno::NOSYS
    ) || e == Errno::NOTSUP
}

/// SIGHUP does nothing to this process from now on (the watchdog's:
/// it must outlive the terminal that closed).
pub fn ignore_hangup() {
    // SAFETY: SIG_IGN installs no handler code; it only sets the disposition.
    unsafe {
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
    }
}

/// A new pseudo-terminal master, close-on-exec. Linux opens it so at once;
/// elsewhere the flag is set just after, with the register of spawned
/// children locked, so no child devloop spawns meanwhile inherits it.
pub fn open_terminal_master() -> std::io::Result<std::os::fd::OwnedFd> {
    use rustix::pty::{OpenptFlags, openpt};
    let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY;
    #[cfg(target_os = "linux")]
    return Ok(openpt(flags | OpenptFlags::CLOEXEC)?);
    #[cfg(not(target_os = "linux"))]
    {
        let _no_spawns = crate::child::group::spawned();
        let master = openpt(flags)?;
        rustix::io::fcntl_setfd(&master, rustix::io::FdFlags::CLOEXEC)?;
        Ok(master)
    }
}

/// glibc's malloc gives each thread that allocates an arena of its own, and
/// memory freed into one is kept there: in the soak bench RSS crept up with
/// each output flood (11.4 MB after 9 minutes), and with one arena it stops
/// (9.3 MB), at no cost measured in the flood bench's CPU. Other allocators
/// (macOS's, mimalloc in the musl builds) are left as they are.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a parameter of the allocator, before the
    // runtime's threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Whether file watching reports a file's close after writing (inotify's
/// IN_CLOSE_WRITE), which tells a finished write; FSEvents reports changes only.
pub const REPORTS_CLOSES: bool = cfg!(target_os = "linux");

/// What this platform cannot do, one sentence each, to be said once.
pub fn limits() -> &'static [&'static str] {
    os::LIMITS
}
