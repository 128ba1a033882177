//! Records of the process groups devloop runs, kept in its state directory,
//! so that the next start can stop the groups a killed devloop left behind,
//! and only those: a group counts as ours while its leader has the recorded
//! start time, or, with the leader gone, while its members are in the
//! recorded session and started after it.

use crate::child::group::{group_alive, signal_group};
use crate::platform::{self, ProcInfo};
use rustix::process::Signal;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::time::{Instant, sleep};

/// The supervised processes' groups.
pub const PROCESSES_FILE: &str = "children";
/// The running build's group (one at a time).
pub const BUILD_FILE: &str = "build-group";

/// One process group started by devloop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub pgid: u32,
    pub start_time: u64,
    pub sid: u32,
    /// How it is stopped: its stop_signal (raw number) and stop_timeout.
    pub signal: i32,
    pub timeout_ms: u64,
    pub name: String,
}

impl Record {
    /// One line of the records file (and of the watchdog's list).
    pub fn line(&self) -> String {
        let Record {
            pgid,
            start_time,
            sid,
            signal,
            timeout_ms,
            name,
        } = self;
        format!("{pgid} {start_time} {sid} {signal} {timeout_ms} {name}\n")
    }

    pub fn parse(line: &str) -> Option<Record> {
        let mut words = line.split_whitespace();
        let mut num = || words.next()?.parse::<u64>().ok();
        let (pgid, start_time, sid) = (num()?, num()?, num()?);
        let (signal, timeout_ms) = (num()?, num()?);
        Some(Record {
            pgid: u32::try_from(pgid).ok()?,
            start_time,
            sid: u32::try_from(sid).ok()?,
            signal: i32::try_from(signal).ok()?,
            timeout_ms,
            name: words.collect::<Vec<_>>().join(" "),
        })
    }
}

/// The records file, rewritten whole (write, then rename) on each change so
/// a devloop killed half-way leaves the old or the new list.
#[derive(Debug)]
pub struct Records {
    path: PathBuf,
    entries: Vec<Record>,
    /// Where a failed write is said (once, until a write succeeds again).
    report: Option<tokio::sync::mpsc::Sender<crate::event::Stamped>>,
    failing: bool,
}

impl Records {
    /// An empty list kept in `state_dir/file`. The file is left alone until
    /// the first change or [`Records::clear`]: it may hold a killed devloop's.
    pub fn new(state_dir: &Path, file: &str) -> Records {
        Records {
            path: state_dir.join(file),
            entries: Vec::new(),
            report: None,
            failing: false,
        }
    }

    /// Says a write that failed (a full disk) as an `error` event.
    pub fn reporting(mut self, events: tokio::sync::mpsc::Sender<crate::event::Stamped>) -> Self {
        self.report = Some(events);
        self
    }

    /// Empties the file: the entries of an earlier devloop, once they are
    /// dealt with, or this one's, once stopped (the watchdog forgets them).
    pub fn clear(&mut self) {
        for record in self.entries.drain(..) {
            crate::watchdog::forget(record.pgid);
        }
        self.save();
    }

    pub fn add(&mut self, record: Record) {
        crate::watchdog::watch(&record);
        self.entries.push(record);
        self.save();
    }

    pub fn remove(&mut self, pgid: u32) {
        crate::watchdog::forget(pgid);
        self.entries.retain(|r| r.pgid != pgid);
        self.save();
    }

    /// Best effort: without the file, only the cleanup after a killed
    /// devloop is lost, which the `error` event says.
    fn save(&mut self) {
        let tmp = self.path.with_extension("tmp");
        let text: String = self.entries.iter().map(Record::line).collect();
        let written = std::fs::File::create(&tmp)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .and_then(|()| std::fs::rename(&tmp, &self.path));
        match written {
            Ok(()) => self.failing = false,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                if !std::mem::replace(&mut self.failing, true)
                    && let Some(report) = &self.report
                {
                    let message = format!(
                        "cannot write {} ({e}): if devloop is killed now, the processes it started may be left running (they are still stopped when it quits)",
                        self.path.display()
                    );
                    let event = crate::event::Event::Error { message };
                    let _ = report.try_send(crate::event::Stamped::now(event));
                }
            }
        }
    }
}

/// The record of a group just started with leader `pid`.
pub fn record_of(pid: u32, signal: Signal, timeout: Duration, name: &str) -> Option<Record> {
    let ProcInfo {
        start_time, sid, ..
    } = platform::process(pid)?;
    Some(Record {
        pgid: pid,
        start_time,
        sid,
        signal: signal.as_raw(),
        timeout_ms: timeout.as_millis() as u64,
        name: name.to_string(),
    })
}

/// Whether the group of `record` is still the one devloop started.
pub fn still_ours(record: &Record) -> bool {
    if let Some(leader) = platform::process(record.pgid) {
        return leader.start_time == record.start_time && leader.pgid == record.pgid;
    }
    // The leader is gone; its pid cannot be reused while the group has
    // members, but check them anyway against the session and start time.
    let members = platform::group_members(record.pgid);
    !members.is_empty()
        && members
            .iter()
            .all(|m| m.sid == record.sid && m.start_time >= record.start_time)
}

/// Stops the groups a killed devloop left (read from `state_dir/file`), each
/// with its stop signal, then SIGKILL after its stop timeout. Returns what was
/// stopped, to be reported.
pub async fn stop_leftovers(state_dir: &Path, file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(state_dir.join(file)).unwrap_or_default();
    let records = text.lines().filter_map(Record::parse).collect();
    stop_records(records, None)
        .await
        .into_iter()
        .map(|record| {
            format!(
                "stopped `{}` (process group {}), left running by a devloop that was killed",
                record.name, record.pgid
            )
        })
        .collect()
}

/// Stops, all at once, the recorded groups that are still ours: each gets its
/// stop signal, then SIGKILL after its stop timeout (or `at_most`, if
/// shorter). Returns the records of the groups it stopped.
pub async fn stop_records(records: Vec<Record>, at_most: Option<Duration>) -> Vec<Record> {
    let mut stops = tokio::task::JoinSet::new();
    // A group of zombies only has nothing left to stop.
    let running = |record: &Record| still_ours(record) && group_running(record.pgid);
    for record in records.into_iter().filter(running) {
        let signal = Signal::from_named_raw(record.signal).unwrap_or(Signal::TERM);
        let timeout = Duration::from_millis(record.timeout_ms);
        let grace = at_most.map_or(timeout, |cap| timeout.min(cap));
        stops.spawn(async move {
            stop_group(record.pgid, signal, grace).await;
            record
        });
    }
    let mut stopped: Vec<Record> = stops.join_all().await;
    // In the order they were recorded, for the report.
    stopped.sort_by_key(|record| record.start_time);
    stopped
}

/// `signal` to a group that is not our child, SIGKILL after `grace`, until
/// no member runs (the zombies are for whoever adopted them to reap).
async fn stop_group(pgid: u32, signal: Signal, grace: Duration) {
    const POLL: Duration = Duration::from_millis(20);
    const KILL_WAIT: Duration = Duration::from_secs(5);
    signal_group(pgid, signal);
    let started = Instant::now();
    let mut killed = false;
    while group_running(pgid) && started.elapsed() < grace + KILL_WAIT {
        if !killed && started.elapsed() >= grace {
            signal_group(pgid, Signal::KILL);
            killed = true;
        }
        sleep(POLL).await;
    }
}

/// Whether a member of the group still runs: its zombies wait on a parent
/// that may be slow to reap them (an init that is not one).
fn group_running(pgid: u32) -> bool {
    group_alive(pgid) && platform::group_members(pgid).iter().any(|m| !m.zombie)
}

#[cfg(test)]
mod tests;
