//! Orphans. devloop becomes a child subreaper (Linux), so a daemon that
//! leaves a child's process group is reparented to devloop rather than to
//! init: it is reaped here and stopped at shutdown. As PID 1 in a container
//! this is also what keeps zombies from piling up.
//!
//! tokio reaps its own children with `waitpid(pid)` (pidfd or SIGCHLD
//! driven), so `waitpid(-1)` here would steal their exit statuses. Instead,
//! on each SIGCHLD the reaper lists devloop's children and reaps only the
//! zombies that [`crate::proc::spawn`] did not register.

use crate::proc::{Stat, signal_group, spawned, stat};
use rustix::process::{Pid, Signal, WaitOptions, getpid, waitpid};
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::{Instant, sleep};

/// Asks the kernel to reparent orphaned descendants to devloop. False where
/// that is not possible; PID 1 gets them anyway.
pub fn become_subreaper() -> bool {
    rustix::process::set_child_subreaper(Some(getpid())).is_ok()
}

/// Reaps unregistered zombies now and after every SIGCHLD, for as long as
/// the runtime runs.
pub fn spawn_reaper() -> std::io::Result<()> {
    let mut children = signal(SignalKind::child())?;
    tokio::spawn(async move {
        loop {
            reap();
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
    let children = children();
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
        if child.state == 'Z' && !registered {
            let raw = Pid::from_raw(*pid as i32);
            if raw.is_some() && matches!(waitpid(raw, WaitOptions::NOHANG), Ok(Some(_))) {
                reaped += 1;
            }
        }
    }
    reaped
}

/// Adopted orphans still running: children that devloop did not spawn.
fn adopted() -> Vec<(u32, Stat)> {
    let register = spawned();
    children()
        .into_iter()
        .filter(|(pid, child)| child.state != 'Z' && !register.iter().any(|(p, _)| p == pid))
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
    while signal_adopted(Signal::KILL) > 0 && started.elapsed() < limit {
        sleep(Duration::from_millis(20)).await;
        reap();
    }
}

/// devloop's children with their stat, from each thread's `children` list,
/// or from a scan of /proc where that file is missing.
fn children() -> Vec<(u32, Stat)> {
    let me = getpid().as_raw_nonzero().get() as u32;
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
        .filter_map(|pid| Some((pid, stat(pid)?)))
        .filter(|(_, s)| s.ppid == me)
        .collect()
}

fn all_pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|procs| {
            procs
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reaps_orphans_but_not_registered_children() {
        become_subreaper();
        // A registered child that exits at once: its status stays tokio's.
        let mut ours = crate::proc::spawn(tokio::process::Command::new("true").arg("x")).unwrap();
        // An orphan: sh exits, its background sleep is reparented to us.
        let mut sh = std::process::Command::new("sh");
        sh.args(["-c", "sleep 0.1 & echo $!"]);
        let out = sh.output().unwrap();
        let orphan: u32 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while stat(orphan).is_some() {
            reap();
            assert!(std::time::Instant::now() < deadline, "orphan not reaped");
            sleep(Duration::from_millis(20)).await;
        }
        let status = ours.wait().await.expect("tokio keeps its child's status");
        assert!(status.success());
    }
}
