//! The warm build (`[build] persistent = true`): the build command starts
//! once and keeps running in its own process group, rebuilding by itself;
//! each of its cycles that ends well is promoted like a cold build.
//!
//! The compiler's group is recorded like a cold build's, so a killed
//! devloop's compiler is stopped at the next start; it is restarted with
//! the processes' backoff when it exits, and stopped with devloop. A cycle
//! is promoted only if the compiler stayed quiet while it was staged (no
//! line printed, the output tree unchanged); otherwise the next cycle's
//! `done` promotes.

mod compiler;
mod cycle;
mod output;
pub mod presets;
mod quiet;
mod written;

pub use compiler::{Context, run};

use crate::config::Config;
use crate::watch::ChangeBatch;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// What the engine tells the warm build.
#[derive(Debug)]
pub enum ToWarm {
    /// devloop's watcher saw these changes.
    Changed(ChangeBatch),
    /// Stop the compiler and start it afresh (`b`).
    Restart,
    /// watch.toml was edited, its `[build]` not: the values to go on with
    /// (the watch's debounce, whether cycles are promoted).
    Reconfigured(Arc<Config>),
    /// Stop the compiler for good (devloop is quitting).
    Stop,
}

/// The running warm build, as the engine holds it.
#[derive(Debug)]
pub struct Warm {
    pub tx: mpsc::Sender<ToWarm>,
    pub task: JoinHandle<()>,
}

impl Warm {
    pub fn start(context: Context) -> Warm {
        let (tx, rx) = mpsc::channel(64);
        let task = tokio::spawn(run(context, rx));
        Warm { tx, task }
    }

    /// Tells the task without waiting: the engine never blocks on it.
    pub fn tell(&self, message: ToWarm) {
        let _ = self.tx.try_send(message);
    }

    /// Stops the compiler and waits until its group is gone.
    pub async fn stop(self) {
        let _ = self.tx.send(ToWarm::Stop).await;
        let _ = self.task.await;
    }
}

/// What `check` says about the build's warm side: the cycle lines and the
/// preset that filled them in, or advice for a watch-mode command run cold.
pub fn describe(build: &crate::config::BuildConfig) -> Vec<String> {
    let Some(warm) = &build.warm else {
        return presets::preset_for(&build.command)
            .map(|preset| {
                format!(
                    "  warning: the command runs {} in watch mode, which never exits, so every build would time out: add `persistent = true` to promote each of its cycles",
                    preset.name
                )
            })
            .into_iter()
            .collect();
    };
    let mut lines = vec![format!(
        "  warm    persistent: started once; a cycle ends at /{}/{}",
        warm.done_pattern,
        match &warm.failed_pattern {
            Some(failed) => format!(", fails at /{failed}/"),
            None => String::new(),
        }
    )];
    if let Some(preset) = warm.preset {
        lines.push(format!(
            "  preset  {preset}: filled in what watch.toml leaves out of done/failed"
        ));
    }
    lines
}

/// `line` without ANSI escape sequences, for matching done/failed.
pub fn plain(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.contains('\u{1b}') {
        return line.into();
    }
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        // CSI: ESC [ parameters, then one final byte in @..~.
        if chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) {
                    break;
                }
            }
        } else {
            chars.next();
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    #[test]
    fn colours_are_stripped_before_matching() {
        let line =
            "\u{1b}[96ma.ts\u{1b}[0m:1:7 - \u{1b}[91merror\u{1b}[0m\u{1b}[90m TS2322: \u{1b}[0mno";
        assert_eq!(super::plain(line), "a.ts:1:7 - error TS2322: no");
        assert_eq!(super::plain("plain"), "plain");
    }
}
