//! A small process that outlives devloop by a moment, so that devloop's
//! children never outlive it: SIGKILL, the OOM killer or a crash leave no
//! handler to stop them, so a watchdog started at launch holds the read end
//! of a pipe and learns each recorded process group through it. When the
//! pipe closes (devloop exited, however it died) it stops the groups still
//! listed, each with its stop signal, then SIGKILL after at most
//! [`HARD_STOP`]. A devloop that stops normally has taken every group off the
//! list first, so its watchdog just exits.
//!
//! The watchdog is devloop's own executable run with [`ARG`]; it leads a
//! process group of its own, so the terminal's hangup and Ctrl-C do not
//! reach it. The next start's cleanup (`child::leftovers`) stays the
//! fallback for a watchdog that was killed too.

use crate::child::leftovers::{Record, stop_records};
use std::io::{BufRead, PipeWriter, Write};
use std::process::{Child, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// The hidden first argument that makes devloop's executable a watchdog.
pub const ARG: &str = "__devloop_watchdog";

/// Longest a group may take over its stop signal once devloop is gone.
pub const HARD_STOP: Duration = Duration::from_secs(1);

/// The pipe to the running watchdog, and its process (reaped if it dies).
struct Link {
    pipe: PipeWriter,
    child: Child,
}

static LINK: Mutex<Option<Link>> = Mutex::new(None);

fn link() -> MutexGuard<'static, Option<Link>> {
    LINK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Debug, thiserror::Error)]
#[error(
    "cannot start the watchdog that stops this run's processes if devloop is killed ({0}); a killed devloop's processes are stopped at the next start instead"
)]
pub struct StartError(std::io::Error);

/// Starts the watchdog of this devloop (once; later calls do nothing).
pub fn start() -> Result<(), StartError> {
    use std::os::unix::process::CommandExt;
    let mut link = link();
    if link.is_some() {
        return Ok(());
    }
    // std's pipe is close-on-exec: no child of devloop holds the write end,
    // so devloop's death alone closes it.
    let (reader, pipe) = std::io::pipe().map_err(StartError)?;
    let mut command = std::process::Command::new(crate::platform::own_executable());
    command
        .arg0("devloop-watchdog")
        .arg(ARG)
        .stdin(reader)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir("/")
        .process_group(0);
    // Registered, so the orphan reaper neither reaps nor stops it.
    let mut register = crate::child::group::spawned();
    let child = command.spawn().map_err(StartError)?;
    let start = crate::platform::process(child.id()).map_or(0, |p| p.start_time);
    register.push((child.id(), start));
    *link = Some(Link { pipe, child });
    Ok(())
}

/// Puts a group on the watchdog's list.
pub fn watch(record: &Record) {
    tell(&format!("+ {}", record.line()));
}

/// Takes a group off the list: it was stopped, or it exited.
pub fn forget(pgid: u32) {
    tell(&format!("- {pgid}\n"));
}

/// Best effort: a watchdog that died leaves the next start's cleanup.
fn tell(message: &str) {
    let mut link = link();
    let Some(running) = link.as_mut() else {
        return;
    };
    if running.pipe.write_all(message.as_bytes()).is_err() {
        let _ = running.child.try_wait();
        *link = None;
    }
}

/// The watchdog process: reads the list until the pipe closes, then stops
/// what is still on it. Returns the exit status.
pub fn main() -> std::process::ExitCode {
    crate::platform::ignore_hangup();
    let mut listed: Vec<Record> = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if let Some(record) = line.strip_prefix("+ ").and_then(Record::parse) {
            listed.retain(|r| r.pgid != record.pgid);
            listed.push(record);
        } else if let Some(pgid) = line.strip_prefix("- ").and_then(|p| p.parse::<u32>().ok()) {
            listed.retain(|r| r.pgid != pgid);
        }
    }
    if listed.is_empty() {
        return std::process::ExitCode::SUCCESS;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build();
    if let Ok(runtime) = runtime {
        runtime.block_on(stop_records(listed, Some(HARD_STOP)));
    }
    std::process::ExitCode::SUCCESS
}
