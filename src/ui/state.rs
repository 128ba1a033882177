//! What each pane's title shows: the build's progress and each process's
//! state, folded from events.

use crate::config::format_duration;
use crate::event::BuildStatus;
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, PartialEq)]
pub enum BuildState {
    Idle,
    Running {
        since: SystemTime,
    },
    Finished {
        status: BuildStatus,
        exit_code: Option<i32>,
        ms: u64,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct BuildView {
    pub number: u64,
    pub state: BuildState,
    pub generation: Option<u64>,
    pub strategy: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessState {
    Waiting,
    Starting,
    Running,
    Ready,
    Restarting,
    Exited,
    Failed,
    Blocked,
    Stopped,
}

impl ProcessState {
    /// A symbol that reads without colour, and the word.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            ProcessState::Waiting => ("…", "waiting"),
            ProcessState::Starting => ("◌", "starting"),
            ProcessState::Running => ("●", "running"),
            ProcessState::Ready => ("✔", "ready"),
            ProcessState::Restarting => ("↻", "restarting"),
            ProcessState::Exited => ("○", "exited"),
            ProcessState::Failed => ("✖", "failed"),
            ProcessState::Blocked => ("⏸", "blocked"),
            ProcessState::Stopped => ("■", "stopped"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProcessView {
    pub name: String,
    pub state: ProcessState,
    pub pid: Option<u32>,
    pub restarts: u64,
    pub since: Option<SystemTime>,
    /// Why it is blocked, failed or restarting.
    pub note: Option<String>,
    /// With `proxy`: the instance serving and its private port.
    pub serving: Option<(u32, u16)>,
}

impl ProcessView {
    pub fn new(name: &str) -> ProcessView {
        ProcessView {
            name: name.to_string(),
            state: ProcessState::Waiting,
            pid: None,
            restarts: 0,
            since: None,
            note: None,
            serving: None,
        }
    }

    pub fn title(&self, now: SystemTime) -> String {
        let (symbol, word) = self.state.label();
        let mut parts = vec![format!("{} {symbol} {word}", self.name)];
        if let Some(pid) = self.pid.filter(|_| self.is_up()) {
            parts.push(format!("pid {pid}"));
        }
        if let Some((pid, port)) = self.serving.filter(|_| self.is_up()) {
            parts.push(format!("serving pid {pid} :{port}"));
        }
        parts.push(format!("restarts {}", self.restarts));
        if let Some(since) = self.since.filter(|_| self.is_up()) {
            parts.push(format!(
                "up {}",
                short(now.duration_since(since).unwrap_or_default())
            ));
        }
        if let Some(note) = &self.note {
            parts.push(note.clone());
        }
        format!(" {} ", parts.join(" · "))
    }

    fn is_up(&self) -> bool {
        matches!(
            self.state,
            ProcessState::Starting | ProcessState::Running | ProcessState::Ready
        )
    }
}

impl BuildView {
    pub fn title(&self, now: SystemTime) -> String {
        let head = match &self.state {
            BuildState::Idle => "build … waiting".to_string(),
            BuildState::Running { since } => {
                format!(
                    "build #{} ⟳ running {}",
                    self.number,
                    short(now.duration_since(*since).unwrap_or_default())
                )
            }
            BuildState::Finished {
                status,
                exit_code,
                ms,
            } => {
                let took = format_duration(Duration::from_millis(*ms));
                match (status, exit_code) {
                    (BuildStatus::Ok, _) => format!("build #{} ✔ ok in {took}", self.number),
                    (BuildStatus::Failed, Some(code)) => {
                        format!("build #{} ✖ failed (exit {code}) in {took}", self.number)
                    }
                    (BuildStatus::Failed, None) => {
                        format!("build #{} ✖ failed in {took}", self.number)
                    }
                    (BuildStatus::Cancelled, _) => format!("build #{} ■ cancelled", self.number),
                    (BuildStatus::Timeout, _) => {
                        format!("build #{} ✖ timed out after {took}", self.number)
                    }
                    (BuildStatus::Skipped, _) => {
                        format!("build #{} = skipped (no change)", self.number)
                    }
                }
            }
        };
        match (self.generation, &self.strategy) {
            (Some(generation), Some(strategy)) => {
                format!(" {head} · gen {generation} ({strategy}) ")
            }
            (Some(generation), None) => format!(" {head} · gen {generation} "),
            _ => format!(" {head} "),
        }
    }
}

/// `12s`, `3m`, `2h` — a title has no room for more.
pub fn short(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        _ => format!("{}h", secs / 3600),
    }
}
