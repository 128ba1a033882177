//! Linux: /proc for the process table and sockets, `renameat2` exchange,
//! FICLONE and `copy_file_range`, and the child subreaper.

use super::{ProcInfo, unsupported};
use rustix::fs::RenameFlags;
use rustix::io::Errno;
use std::fs::File;
use std::os::fd::OwnedFd;

/// What to do when the system runs out of file watches.
pub const WATCH_LIMIT_HINT: &str = "raise it with `sudo sysctl fs.inotify.max_user_watches=524288` (add it to /etc/sysctl.conf to keep it)";

pub const LIMITS: &[&str] = &[];

/// Swaps two names in `dir` atomically (`renameat2(RENAME_EXCHANGE)`).
pub fn exchange(dir: &OwnedFd, from: &str, to: &str) -> Result<(), Errno> {
    rustix::fs::renameat_with(dir, from, dir, to, RenameFlags::EXCHANGE)
}

/// Shares `src`'s extents with `dst` (btrfs, xfs reflink).
pub fn clone_file(dst: &File, src: &File) -> Result<(), Errno> {
    rustix::fs::ioctl_ficlone(dst, src)
}

/// Copies the rest of `src` into `dst` in the kernel. Ok(false) when the
/// filesystem cannot, before any byte moved: the caller copies by hand.
pub fn copy_range(src: &File, dst: &File) -> std::io::Result<bool> {
    let mut copied = 0u64;
    loop {
        match rustix::fs::copy_file_range(src, None, dst, None, 1 << 30) {
            Ok(0) => return Ok(copied > 0), // some filesystems report 0 instead of refusing
            Ok(n) => copied += n as u64,
            Err(Errno::INTR) => {}
            Err(e) if copied == 0 && unsupported(e) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
    }
}

/// The running executable, to start again; the kernel's own link where a
/// rebuild replaced the file since.
pub fn own_executable() -> std::path::PathBuf {
    std::env::current_exe()
        .ok()
        .filter(|path| path.is_file())
        .unwrap_or_else(|| "/proc/self/exe".into())
}

/// Orphaned descendants are reparented to devloop rather than to init.
pub fn become_subreaper() -> Result<(), super::SubreaperError> {
    rustix::process::set_child_subreaper(Some(rustix::process::getpid()))
        .map_err(super::SubreaperError::Refused)
}

/// One process's entry; None when it is gone or cannot be read.
pub fn process(pid: u32) -> Option<ProcInfo> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every pid in the table.
pub fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|procs| {
            procs
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// devloop's own children, from each thread's `children` list, or from a
/// scan of the whole table where that file is missing (older kernels).
pub fn own_children() -> Vec<(u32, ProcInfo)> {
    let me = std::process::id();
    let mut pids: Vec<u32> = Vec::new();
    let mut listed = false;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
                listed = true;
                pids.extend(
                    text.split_whitespace()
                        .filter_map(|p| p.parse::<u32>().ok()),
                );
            }
        }
    }
    if !listed {
        pids = all_pids();
    }
    pids.into_iter()
        .filter_map(|pid| Some((pid, process(pid)?)))
        .filter(|(_, p)| p.ppid == me)
        .collect()
}

/// Parses a stat line. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted after its last `)`.
pub fn parse_stat(text: &str) -> Option<ProcInfo> {
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field `n` as numbered in proc(5); the first after the name is field 3.
    fn field<T: std::str::FromStr>(fields: &[&str], n: usize) -> Option<T> {
        fields.get(n - 3)?.parse().ok()
    }
    Some(ProcInfo {
        zombie: fields.first()?.starts_with('Z'),
        ppid: field(&fields, 4)?,
        pgid: field(&fields, 5)?,
        sid: field(&fields, 6)?,
        start_time: field(&fields, 22)?,
    })
}

/// A listening socket in /proc/net/tcp's `st` column.
const LISTEN: &str = "0A";

/// Inodes of the sockets listening on `port`; None when the tables cannot be read.
pub fn listening_sockets(port: u16) -> Option<Vec<u64>> {
    let mut sockets = Vec::new();
    let mut read_any = false;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(table) {
            read_any = true;
            sockets.extend(parse_listening(&text, port));
        }
    }
    read_any.then_some(sockets)
}

/// Inodes of the LISTEN sockets on `port` in a /proc/net/tcp table.
pub fn parse_listening(table: &str, port: u16) -> impl Iterator<Item = u64> + '_ {
    table.lines().skip(1).filter_map(move |line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let local = fields.get(1)?;
        let local_port = u16::from_str_radix(local.rsplit(':').next()?, 16).ok()?;
        if local_port != port || *fields.get(3)? != LISTEN {
            return None;
        }
        fields.get(9)?.parse().ok()
    })
}

/// The process with one of `sockets` open. Slow (reads every process's fds).
pub fn socket_holder(sockets: &[u64]) -> Option<u32> {
    let links: Vec<String> = sockets.iter().map(|i| format!("socket:[{i}]")).collect();
    open_files(|target| links.iter().any(|l| target.as_os_str() == l.as_str()))
        .next()
        .map(|(pid, _)| pid)
}

/// Files other processes have open under `dir`, as (pid, path). Slow (reads
/// every process's fds).
pub fn files_open_under(dir: &std::path::Path) -> Vec<(u32, std::path::PathBuf)> {
    let me = std::process::id();
    open_files(|target| target.starts_with(dir))
        .filter(|(pid, _)| *pid != me)
        .collect()
}

/// Open files whose /proc link `matches`, with their process.
fn open_files(
    matches: impl Fn(&std::path::Path) -> bool,
) -> impl Iterator<Item = (u32, std::path::PathBuf)> {
    all_pids().into_iter().flat_map(move |pid| {
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten();
        let links = fds
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok());
        links
            .filter(|target| matches(target))
            .map(|target| (pid, target))
            .collect::<Vec<_>>()
    })
}

pub fn program_name(pid: u32) -> Option<String> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(comm.trim().to_string()).filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_an_odd_name() {
        let line = "42 (a) b (c) S 1 42 40 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 98765 1 1";
        let stat = parse_stat(line).unwrap();
        assert_eq!(
            (stat.zombie, stat.ppid, stat.pgid, stat.sid),
            (false, 1, 42, 40)
        );
        assert_eq!(stat.start_time, 98765);
        assert_eq!(parse_stat("7 (x) R 1"), None);
        assert_eq!(parse_stat(""), None);
    }

    const TABLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0 100 0 0 10 0
   1: 0100007F:0BB8 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 5555 1 0 20 4 30 10 -1
   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 777 1 0 100 0 0 10 0
garbage
";

    #[test]
    fn finds_only_listening_sockets_on_the_port() {
        assert_eq!(parse_listening(TABLE, 3000).collect::<Vec<_>>(), [4242]);
        assert_eq!(parse_listening(TABLE, 8080).collect::<Vec<_>>(), [777]);
        assert_eq!(parse_listening(TABLE, 1).count(), 0);
    }
}
