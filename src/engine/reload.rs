//! The watch and watch.toml while devloop runs. An edit of watch.toml is
//! checked first (an error keeps the running configuration), then applied
//! part by part: `[watch]` walks again, `[build]` applies from the next build
//! (a warm compiler starts again), processes are started, stopped or
//! restarted as their sections changed, and `config_reloaded` says what.

use super::{Engine, RunError};
use crate::config::{Changes, Config};
use crate::event::{BuildReason, Event};
use crate::warm::ToWarm;
use crate::watch::config_file::watch_config;
use crate::watch::{ChangeBatch, Watcher, debounce};
use std::sync::Arc;
use tokio::sync::mpsc;

/// What the engine's loop listens to besides its inbox.
pub(super) struct Watching {
    pub batches: mpsc::Receiver<ChangeBatch>,
    /// A settled edit of watch.toml.
    pub config_edits: mpsc::Receiver<()>,
}

impl Engine {
    /// Walks the watched paths and watches them, in place of any watch before.
    pub(super) async fn start_watching(&mut self) -> Result<mpsc::Receiver<ChangeBatch>, RunError> {
        // The walk blocks: off the async threads with it.
        let config = self.config.clone();
        let (watcher, setup) =
            tokio::task::spawn_blocking(move || Watcher::start(&config)).await??;
        let paths = self
            .config
            .watch
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        self.emit(Event::Watching {
            paths,
            dirs: setup.dirs,
            ms: setup.ms,
        })
        .await;
        for message in setup.errors {
            self.emit(Event::Error { message }).await;
        }
        if setup.dirs == 0 {
            let message = "watching nothing: no watch path could be watched (gone, unreadable, or excluded since `check`); changes will not build until devloop restarts".to_string();
            self.emit(Event::Error { message }).await;
        }
        let (change_tx, change_rx) = mpsc::channel(1024);
        let (batch_tx, batches) = mpsc::channel(16);
        // The watch before (if any) stops as its handle goes.
        self.watcher = Some(watcher.spawn(change_tx, self.events.clone()));
        tokio::spawn(debounce(change_rx, batch_tx, self.config.watch.debounce));
        Ok(batches)
    }

    /// Starts watching watch.toml for edits; a watch that cannot be had is
    /// said, and devloop runs on without reloads.
    pub(super) async fn watch_config(&mut self) -> mpsc::Receiver<()> {
        let (edited, edits) = mpsc::channel(1);
        match watch_config(&self.config.file, edited) {
            Ok(watch) => self.config_watch = Some(watch),
            Err(e) => {
                let message = format!(
                    "cannot watch {} for edits ({e}): restart devloop to apply them",
                    self.config.file.display()
                );
                self.emit(Event::Error { message }).await;
            }
        }
        edits
    }

    /// Reads watch.toml again and applies what changed; the new batches'
    /// receiver when the watch was set up again.
    pub(super) async fn reload(&mut self) -> Option<mpsc::Receiver<ChangeBatch>> {
        let file = self.config.file.clone();
        let loaded = tokio::task::spawn_blocking(move || Config::load(&file)).await;
        let mut config = match loaded {
            Ok(Ok(config)) => config,
            Ok(Err(error)) => {
                let message = format!("{error}\n(the running configuration stays)");
                self.emit(Event::Error { message }).await;
                return None;
            }
            Err(_) => return None,
        };
        let changes = Changes::between(&self.config, &config);
        if changes.is_empty() {
            return None;
        }
        self.keep_what_needs_a_restart(&mut config, &changes).await;
        let old = std::mem::replace(&mut self.config, Arc::new(config));
        let mut batches = None;
        if changes.section("watch") {
            match self.start_watching().await {
                Ok(new) => batches = Some(new),
                Err(error) => {
                    let message = format!("[watch] not applied: {error}; watching as before");
                    self.emit(Event::Error { message }).await;
                    let mut config = (*self.config).clone();
                    config.watch = old.watch.clone();
                    self.config = Arc::new(config);
                }
            }
            // What the build last saw may no longer be what is watched.
            self.snapshot = None;
        }
        self.emit(Event::ConfigReloaded {
            sections: changes.sections.clone(),
            added: changes.added.clone(),
            removed: changes.removed.clone(),
            changed: changes.changed.clone(),
        })
        .await;
        if changes.section("build") {
            self.schedule.set_policy(self.config.build.on_change);
            if self.warm.is_some() || self.config.build.warm.is_some() {
                // The compiler runs the old command: it starts again, or goes.
                self.stop_warm().await;
                self.request(BuildReason::Manual).await;
            }
        } else if let Some(warm) = &self.warm {
            warm.tell(ToWarm::Reconfigured(self.config.clone()));
        }
        let processes = [&changes.added, &changes.removed, &changes.changed];
        if processes.iter().any(|names| !names.is_empty()) {
            self.supervisor.reload(self.config.clone(), changes);
        }
        batches
    }

    /// `[ui]` and where promotions go are fixed for a run: the running values
    /// stay, and a notice says so.
    async fn keep_what_needs_a_restart(&mut self, config: &mut Config, changes: &Changes) {
        let mut kept = Vec::new();
        if changes.section("ui") {
            config.ui = self.config.ui.clone();
            kept.push("[ui]");
        }
        let target = |c: &Config| c.promote.as_ref().map(|p| p.target.clone());
        if target(config) != target(&self.config) {
            config.promote = self.config.promote.clone();
            kept.push("[promote] target");
        }
        if !kept.is_empty() {
            let message = format!(
                "{} changed in watch.toml: applied when devloop starts again",
                kept.join(" and ")
            );
            self.emit(Event::Notice { message }).await;
        }
    }
}
