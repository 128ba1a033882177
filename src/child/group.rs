//! Children in process groups of their own: spawning through `sh -c`,
//! signalling the whole group, and making sure the group is gone. Also the
//! register of children spawned here, which the reaper must leave to tokio.

use crate::config::search_path;
use crate::platform;
use rustix::process::{Pid, Signal};
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::time::{Instant, sleep};

/// `sh -c COMMAND` in `cwd`, leading a new process group, with the workspace's
/// node_modules/.bin first on PATH and both output streams piped.
pub fn shell(command: &str, root: &Path, cwd: &Path) -> Command {
    let mut cmd = shell_alone(command, root, cwd);
    cmd.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// `sh -c COMMAND` in `cwd` with the workspace's PATH, its group and stdio
/// left to the caller (a terminal's session: see `pty`).
pub fn shell_alone(command: &str, root: &Path, cwd: &Path) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .current_dir(cwd)
        .env("PATH", search_path(root));
    cmd
}

/// Children spawned through [`spawn`], as (pid, start time): their exit status
/// belongs to tokio, so the orphan reaper must not collect them.
static SPAWNED: Mutex<Vec<(u32, u64)>> = Mutex::new(Vec::new());

/// The register of spawned children, locked. The reaper holds it while it
/// scans, so no child is spawned but not yet registered during a scan.
pub fn spawned() -> MutexGuard<'static, Vec<(u32, u64)>> {
    SPAWNED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Spawns `cmd` and registers the child. Every child devloop starts must come
/// through here, or the reaper (as PID 1 or subreaper) could take its status.
pub fn spawn(cmd: &mut Command) -> std::io::Result<Child> {
    let mut register = spawned();
    let child = cmd.spawn()?;
    if let Some(pid) = child.id() {
        // An unreaped child is always in the table; 0 if it cannot be read,
        // which still keeps the reaper away from this pid.
        let start = platform::process(pid).map_or(0, |s| s.start_time);
        register.push((pid, start));
    }
    Ok(child)
}

/// Sends `signal` to every process of group `pgid`; false when the group is empty.
pub fn signal_group(pgid: u32, signal: Signal) -> bool {
    match Pid::from_raw(pgid as i32) {
        Some(pid) => rustix::process::kill_process_group(pid, signal).is_ok(),
        None => false,
    }
}

/// Whether any process (zombies included) is left in group `pgid`.
pub fn group_alive(pgid: u32) -> bool {
    match Pid::from_raw(pgid as i32) {
        Some(pid) => rustix::process::test_kill_process_group(pid).is_ok(),
        None => false,
    }
}

/// Stops a whole group: `signal`, then SIGKILL after `grace`, until no member
/// is left. Keeps going after the leader exits, since its children may not
/// have. Returns the leader's exit status once it was reaped.
pub async fn terminate_group(
    child: &mut Child,
    pgid: u32,
    signal: Signal,
    grace: Duration,
) -> Option<ExitStatus> {
    const POLL: Duration = Duration::from_millis(10);
    // SIGKILL cannot be ignored; past this, a member is stuck in the kernel.
    const KILL_WAIT: Duration = Duration::from_secs(5);
    signal_group(pgid, signal);
    let started = Instant::now();
    let mut killed = false;
    let mut status = None;
    loop {
        if status.is_none() {
            status = child.try_wait().ok().flatten();
        }
        if status.is_some() && !group_alive(pgid) {
            return status;
        }
        let waited = started.elapsed();
        if !killed && waited >= grace {
            signal_group(pgid, Signal::KILL);
            killed = true;
        }
        if waited >= grace + KILL_WAIT {
            return status;
        }
        sleep(POLL).await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn own_entry_is_readable() {
        let me = crate::platform::process(std::process::id()).unwrap();
        assert!(me.start_time > 0 && !me.zombie);
    }
}
