//! Orphans. devloop becomes a child subreaper (Linux only), so a daemon that
//! leaves a child's process group is reparented to devloop rather than to
//! init: it is reaped here and stopped at shutdown. As PID 1 in a container
//! this is also what keeps zombies from piling up.
//!
//! tokio reaps its own children with `waitpid(pid)` (pidfd or SIGCHLD
//! driven), so `waitpid(-1)` here would steal their exit statuses. Instead,
//! on each SIGCHLD the reaper lists devloop's children and reaps only the
//! zombies that [`crate::child::group::spawn`] did not register.

use crate::child::group::{signal_group, spawned};
use crate::platform::{self, ProcInfo};
use rustix::process::{Pid, Signal, WaitOptions, waitpid};
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::{Instant, sleep};

/// Asks the kernel to reparent orphaned descendants to devloop; says why
/// not where that is not possible (PID 1 gets them anyway).
pub fn become_subreaper() -> Result<(), platform::SubreaperError> {
    if std::process::id() == 1 {
        return Ok(());
    }
    platform::become_subreaper()
}

/// Reaps unregistered zombies now and after every SIGCHLD, for as long as
/// the runtime runs.
pub fn spawn_reaper() -> std::io::Result<()> {
    let mut children = signal(SignalKind::child())?;
    tokio::spawn(async move {
        loop {
            // Scanning the process table blocks: keep it off the async threads.
            let _ = tokio::task::spawn_blocking(reap).await;
            if children.recv().await.is_none() {
                return;
            }
        }
    });
    Ok(())
}

/// Reaps every zombie child that is not one of tokio's; returns how many.
pub fn reap() -> usize {
    // Held throughout, so no child is spawned and not yet registered meanwhile.
    let mut register = spawned();
    let children = platform::own_children();
    // Entries tokio has reaped are no longer our children: forget them.
    register.retain(|&(pid, start)| {
        children
            .iter()
            .any(|(p, s)| *p == pid && (start == 0 || s.start_time == start))
    });
    let mut reaped = 0;
    for (pid, child) in &children {
        let registered = register
            .iter()
            .any(|&(p, start)| p == *pid && (start == 0 || start == child.start_time));
        if child.zombie && !registered {
            let raw = Pid::from_raw(*pid as i32);
            if raw.is_some() && matches!(waitpid(raw, WaitOptions::NOHANG), Ok(Some(_))) {
                reaped += 1;
            }
        }
    }
    reaped
}

/// Adopted orphans still running: children that devloop did not spawn.
fn adopted() -> Vec<(u32, ProcInfo)> {
    let register = spawned();
    platform::own_children()
        .into_iter()
        .filter(|(pid, child)| !child.zombie && !register.iter().any(|(p, _)| p == pid))
        .collect()
}

/// Signals every adopted orphan (its whole group when it leads one).
pub fn signal_adopted(signal: Signal) -> usize {
    let orphans = adopted();
    for (pid, child) in &orphans {
        if child.pgid == *pid {
            signal_group(*pid, signal);
        } else if let Some(raw) = Pid::from_raw(*pid as i32) {
            let _ = rustix::process::kill_process(raw, signal);
        }
    }
    orphans.len()
}

/// SIGKILLs adopted orphans until none is left or `limit` passes; those it
/// leaves are reparented to init when devloop exits.
pub async fn kill_adopted(limit: Duration) {
    let started = Instant::now();
    let kill = || tokio::task::spawn_blocking(|| signal_adopted(Signal::KILL));
    while kill().await.unwrap_or(0) > 0 && started.elapsed() < limit {
        sleep(Duration::from_millis(20)).await;
        let _ = tokio::task::spawn_blocking(reap).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reaps_orphans_but_not_registered_children() {
        if let Err(why) = become_subreaper() {
            eprintln!("skipped: {why}");
            return;
        }
        // A registered child that exits at once: its status stays tokio's.
        let mut ours =
            crate::child::group::spawn(tokio::process::Command::new("true").arg("x")).unwrap();
        // An orphan: sh exits, its background sleep is reparented to us.
        let mut sh = std::process::Command::new("sh");
        sh.args(["-c", "sleep 0.1 & echo $!"]);
        let out = sh.output().unwrap();
        let orphan: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while platform::process(orphan).is_some() {
            reap();
            assert!(std::time::Instant::now() < deadline, "orphan not reaped");
            sleep(Duration::from_millis(20)).await;
        }
        let status = ours.wait().await.expect("tokio keeps its child's status");
        assert!(status.success());
    }
}
