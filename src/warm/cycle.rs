//! Splitting a watch-mode compiler's output into build cycles. Pure: the
//! caller passes the times in, so it is tested with plain values.
//!
//! A cycle opens at its first line (or at a change devloop saw that no
//! cycle has covered yet) and ends at a `done` line; a `failed` line in it
//! fails it. A change counts as covered by a cycle whose first line came
//! after the change's newest file time: the compiler saw it.

use crate::event::BuildReason;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// How a line moved the cycles along.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// A cycle opened with this line: `build_started`, before the line.
    pub opened: Option<(u64, BuildReason)>,
    /// The build number the line belongs to.
    pub build: u64,
    /// The line ended its cycle.
    pub ended: Option<Ended>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Ended {
    pub build: u64,
    /// The first `failed` line, when there was one.
    pub failure: Option<String>,
    pub ms: u64,
    /// Its `done` lines: one per compiler that took part.
    pub dones: u32,
    /// When it opened: writes after done are counted from here.
    pub started: Instant,
}

#[derive(Debug)]
struct Open {
    build: u64,
    started: Instant,
    /// When its first line came (None: opened by a change, no line yet).
    first_line: Option<SystemTime>,
    failure: Option<String>,
    /// Compilers that printed a start line and no done line yet.
    compiling: u32,
    dones: u32,
}

/// What a line matched.
#[derive(Debug, Default, Clone, Copy)]
pub struct Matched {
    /// A compiler starts a cycle (known for the presets only).
    pub start: bool,
    pub done: bool,
    pub failed: bool,
}

#[derive(Debug)]
pub struct Cycles {
    timeout: Duration,
    last_build: u64,
    open: Option<Open>,
    /// First line of the last cycle that ended: what it covered.
    last_first_line: Option<SystemTime>,
    /// A change no cycle has covered: its newest file time and its arrival.
    pending: Option<(SystemTime, Instant)>,
    reason: BuildReason,
    /// Only start lines open cycles once the compiler's first one opened.
    only_start_opens: bool,
    /// The compiler (re)started and no cycle has opened since.
    fresh: bool,
}

impl Cycles {
    pub fn new(timeout: Duration) -> Cycles {
        Cycles {
            timeout,
            last_build: 0,
            open: None,
            last_first_line: None,
            pending: None,
            reason: BuildReason::Startup,
            only_start_opens: false,
            fresh: true,
        }
    }

    /// Lines outside a cycle open one only if they match `start` (once the
    /// compiler's first cycle opened: its first lines may come before any).
    pub fn only_start_opens(mut self, yes: bool) -> Cycles {
        self.only_start_opens = yes;
        self
    }

    /// The compiler starts (again): its first cycle is a startup (or manual) one.
    pub fn starting(&mut self, reason: BuildReason) {
        self.reason = reason;
        self.fresh = true;
    }

    fn open(&mut self, now: Instant, first_line: Option<SystemTime>) -> (u64, BuildReason) {
        self.last_build += 1;
        self.fresh = false;
        let reason = std::mem::replace(&mut self.reason, BuildReason::Change);
        self.open = Some(Open {
            build: self.last_build,
            started: now,
            first_line,
            failure: None,
            compiling: 0,
            dones: 0,
        });
        (self.last_build, reason)
    }

    /// One line of output; `matched` says which regexes it matched.
    pub fn line(&mut self, line: &str, matched: Matched, now: Instant, wall: SystemTime) -> Step {
        let Matched {
            start,
            done,
            failed,
        } = matched;
        let mut step = Step::default();
        match &mut self.open {
            Some(open) => {
                open.first_line.get_or_insert(wall);
            }
            // Blank lines between cycles open nothing.
            None if line.trim().is_empty() => return step,
            // Between cycles: shown with the last one, opening nothing.
            None if self.only_start_opens && !self.fresh && !start => {
                step.build = self.last_build;
                return step;
            }
            None => step.opened = Some(self.open(now, Some(wall))),
        }
        let open = self.open.as_mut().expect("a cycle is open");
        step.build = open.build;
        if failed && open.failure.is_none() {
            open.failure = Some(line.trim().to_string());
        }
        if start {
            open.compiling += 1;
        }
        if done {
            open.dones += 1;
        }
        // Several compilers (nx --watch runs one per lib): the last one ends it.
        if done && open.compiling > 1 {
            open.compiling -= 1;
        } else if done {
            let open = self.open.take().expect("a cycle is open");
            self.last_first_line = open.first_line;
            if let (Some((changed, _)), Some(first)) = (self.pending, open.first_line)
                && changed <= first
            {
                self.pending = None;
            }
            step.ended = Some(Ended {
                build: open.build,
                failure: open.failure,
                ms: now.saturating_duration_since(open.started).as_millis() as u64,
                dones: open.dones,
                started: open.started,
            });
        }
        step
    }

    /// devloop saw files change, the newest at `changed`: opens a cycle
    /// when the compiler is idle and has not built them yet.
    pub fn changed(&mut self, changed: SystemTime, now: Instant) -> Option<(u64, BuildReason)> {
        let covered = match &self.open {
            Some(open) => open.first_line.is_some_and(|first| changed <= first),
            None => self.last_first_line.is_some_and(|first| changed <= first),
        };
        if covered {
            return None;
        }
        let (newest, since) = self.pending.unwrap_or((changed, now));
        self.pending = Some((newest.max(changed), since));
        if self.open.is_none() {
            return Some(self.open(now, None));
        }
        None
    }

    /// A cycle is open: its `done` will promote.
    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    /// When the open cycle or an uncovered change becomes a stuck build.
    pub fn deadline(&self) -> Option<Instant> {
        let open = self.open.as_ref().map(|o| o.started);
        let pending = self.pending.map(|(_, since)| since);
        open.into_iter()
            .chain(pending)
            .min()
            .map(|t| t + self.timeout)
    }

    /// The deadline passed: the open cycle (if any) ends as timed out, and
    /// the changes are given up on.
    pub fn expire(&mut self) -> Option<u64> {
        self.pending = None;
        self.open.take().map(|open| open.build)
    }

    /// The compiler exited: the open cycle (if any) ends, failed.
    pub fn interrupted(&mut self) -> Option<u64> {
        self.open.take().map(|open| open.build)
    }
}

#[cfg(test)]
mod tests;
