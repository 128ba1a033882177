//! The engine: the one task that decides. It takes change batches, commands
//! and build outcomes from its inbox, starts and cancels builds, and reports
//! everything as events.

mod promotion;
mod reload;
mod schedule;
mod warm;

use promotion::Promoter;
pub use promotion::{
    fallback_notice, promoted_event, recover, roll_back, run as run_promotion, spec as promote_spec,
};
pub use schedule::{Action, Schedule};

use crate::build::{BuildRequest, Finished, PromoteRequest, run_build};
use crate::config::Config;
use crate::event::{BuildReason, BuildStatus, Command, Event, Stamped};
use crate::snapshot::{Current, Snapshot};
use crate::supervise::{Alert, Supervisor};
use crate::watch::{ChangeBatch, PathFilter};
use reload::Watching;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// Paths listed in a `change` event; `count` says how many there were.
const CHANGE_PATHS_SHOWN: usize = 100;

/// What reaches the engine's inbox.
#[derive(Debug)]
pub enum Input {
    Command(Command),
    BuildDone(Finished),
    /// A warm build's cycle ended (and was promoted or not).
    WarmDone(Finished),
}

/// Why devloop could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot start watching files: {0}")]
    Watch(#[from] notify::Error),
    #[error("the first walk of the watched paths failed: {0}")]
    Walk(#[from] tokio::task::JoinError),
    #[error(transparent)]
    Signal(#[from] crate::platform::SignalError),
}

/// How a finished build's snapshot is taken in if it succeeded.
enum Adopt {
    Update(Current),
    Replace(Snapshot),
}

struct Running {
    id: u64,
    cancel: Option<oneshot::Sender<()>>,
    adopt: Adopt,
}

pub struct Engine {
    config: Arc<Config>,
    events: mpsc::Sender<Stamped>,
    inbox: mpsc::Receiver<Input>,
    /// Handed to build tasks so they report back here.
    inbox_tx: mpsc::Sender<Input>,
    schedule: Schedule,
    last_build: u64,
    running: Option<Running>,
    /// Changes not yet taken by a build.
    waiting: ChangeBatch,
    /// Contents at the start of the last successful build; None when unknown
    /// (no good build yet, a rollback, a failed full read): the next batch
    /// then reads the whole tree and builds.
    snapshot: Option<Snapshot>,
    /// Paths of failed builds since the last success: re-read at the next start.
    unsettled: Vec<PathBuf>,
    quitting: Option<String>,
    /// The two-rename fallback is said once per run.
    fallback_reported: bool,
    /// The dev servers: started here, told of promotions, stopped at the end.
    supervisor: Supervisor,
    /// `persistent = true`: the compiler that builds by itself.
    warm: Option<crate::warm::Warm>,
    /// Its good cycles, to promote.
    promotions: Option<mpsc::Receiver<PromoteRequest>>,
    /// Held by a promotion while it runs, and by a rollback.
    target: Arc<tokio::sync::Mutex<()>>,
    /// The watch of the watched paths, once started.
    watcher: Option<crate::watch::WatchHandle>,
    /// The watch of watch.toml, for reloads.
    config_watch: Option<crate::watch::config_file::ConfigWatch>,
}

impl Engine {
    /// An engine with its inbox; the sender is for stdin, keys and signals.
    pub fn new(
        config: Arc<Config>,
        events: mpsc::Sender<Stamped>,
        supervisor: Supervisor,
    ) -> (Engine, mpsc::Sender<Input>) {
        let (inbox_tx, inbox) = mpsc::channel(256);
        let engine = Engine {
            schedule: Schedule::new(config.build.on_change),
            config,
            events,
            inbox,
            inbox_tx: inbox_tx.clone(),
            last_build: 0,
            running: None,
            waiting: ChangeBatch::default(),
            snapshot: None,
            unsettled: Vec::new(),
            quitting: None,
            fallback_reported: false,
            supervisor,
            warm: None,
            promotions: None,
            target: Arc::default(),
            watcher: None,
            config_watch: None,
        };
        (engine, inbox_tx)
    }

    /// Watches, builds on changes, and returns once asked to quit and idle.
    pub async fn run(mut self) -> Result<(), RunError> {
        // A killed devloop may have left the target half-promoted: first of all.
        for event in recover(&self.config).await {
            self.emit(event).await;
        }
        if let Some(promote) = &self.config.promote {
            crate::watch::target::Guard {
                target: self.config.abs(&promote.target),
                root: self.config.root.clone(),
                state_dir: self.config.state_dir(),
                events: self.events.clone(),
            }
            .spawn();
        }
        // After the one early return: from here on, shutdown() stops them.
        let batches = self.start_watching().await?;
        self.supervisor.start().await;
        let mut watching = Watching {
            batches,
            config_edits: self.watch_config().await,
        };
        self.request(BuildReason::Startup).await;
        let mut alerts = self.supervisor.take_alerts();
        while self.quitting.is_none() || self.running.is_some() {
            tokio::select! {
                Some(input) = self.inbox.recv() => self.handle(input).await,
                Some(batch) = watching.batches.recv() => self.changed(batch).await,
                Some(()) = watching.config_edits.recv() => {
                    if let Some(batches) = self.reload().await {
                        watching.batches = batches;
                    }
                }
                Some(process) = next_alert(&mut alerts) => self.auto_roll_back(process).await,
                Some(request) = next_promotion(&mut self.promotions) => self.promote_for_warm(request),
                else => break,
            }
        }
        self.stop_warm().await;
        self.supervisor.shutdown().await;
        let reason = self
            .quitting
            .take()
            .unwrap_or_else(|| "inputs closed".into());
        self.emit(Event::Shutdown { reason }).await;
        Ok(())
    }

    async fn handle(&mut self, input: Input) {
        match input {
            Input::Command(Command::Build) => self.request(BuildReason::Manual).await,
            Input::Command(Command::Quit { reason }) => self.quit(reason),
            Input::Command(Command::Restart(name)) => self.supervisor.restart(&name),
            Input::Command(Command::Toggle(name)) => self.supervisor.toggle(&name),
            Input::Command(Command::Type { process, bytes }) => {
                if !self.supervisor.type_into(process, bytes) {
                    let message = "typing into a process works in the TUI only: headless, processes have no terminal".to_string();
                    self.emit(Event::Error { message }).await;
                }
            }
            Input::Command(Command::Rollback) => self.roll_back().await,
            Input::Command(Command::Cancel) => self.cancel_by_hand().await,
            Input::BuildDone(outcome) => self.build_done(outcome).await,
            Input::WarmDone(finished) => self.warm_done(finished).await,
        }
    }

    /// Puts the previous generation back while running; the servers get it
    /// as they get a promotion (on_promote).
    async fn roll_back(&mut self) {
        if self.running.is_some() {
            let message = "a build is running: roll back once it has finished".to_string();
            self.emit(Event::Error { message }).await;
            return;
        }
        let Ok(_held) = self.target.clone().try_lock_owned() else {
            let message = "a promotion is under way: roll back once it has finished".to_string();
            self.emit(Event::Error { message }).await;
            return;
        };
        let event = roll_back(&self.config).await;
        let rolled_back = matches!(event, Event::RolledBack { .. });
        self.emit(event).await;
        if rolled_back {
            // What is in place no longer matches the sources: the next change builds.
            self.snapshot = None;
            self.supervisor.promoted();
        }
    }

    /// `promote.auto_rollback`: a process failed soon after a promotion.
    async fn auto_roll_back(&mut self, alert: Alert) {
        let process = &alert.name;
        if self.quitting.is_some() {
            return;
        }
        if let Some(running) = &self.running {
            // Its promotion would race the swap, and brings a new generation anyway.
            let message = format!(
                "`{process}` failed soon after the promotion, but build #{} is running: not rolling back",
                running.id
            );
            self.emit(Event::Notice { message }).await;
            return;
        }
        let Ok(_held) = self.target.clone().try_lock_owned() else {
            let message = format!(
                "`{process}` failed soon after the promotion, but another promotion is under way: not rolling back"
            );
            self.emit(Event::Notice { message }).await;
            return;
        };
        match roll_back(&self.config).await {
            Event::RolledBack { generation, .. } => {
                let reason = crate::event::RollbackReason::Auto;
                let event = Event::RolledBack {
                    generation,
                    reason,
                    process: Some(process.clone()),
                };
                self.emit(event).await;
                self.snapshot = None;
                self.supervisor.rolled_back_for(alert.id);
            }
            other => self.emit(other).await,
        }
    }

    async fn changed(&mut self, batch: ChangeBatch) {
        let paths = batch
            .paths
            .iter()
            .take(CHANGE_PATHS_SHOWN)
            .map(|p| p.display().to_string())
            .collect();
        self.emit(Event::Change {
            paths,
            count: batch.count,
        })
        .await;
        self.waiting.merge(batch);
        self.request(BuildReason::Change).await;
    }

    fn quit(&mut self, reason: String) {
        self.quitting.get_or_insert(reason);
        self.supervisor.begin_shutdown();
        self.schedule.clear();
        self.cancel();
    }

    /// `x`: stops the running build and what waited for it; the changes stay
    /// unsettled, so the next batch builds them.
    async fn cancel_by_hand(&mut self) {
        if self.running.is_none() {
            let message = "no build is running: nothing to cancel".to_string();
            self.emit(Event::Error { message }).await;
            return;
        }
        self.schedule.clear();
        self.cancel();
    }

    fn cancel(&mut self) {
        if let Some(cancel) = self.running.as_mut().and_then(|r| r.cancel.take()) {
            let _ = cancel.send(());
        }
    }

    async fn request(&mut self, reason: BuildReason) {
        if self.quitting.is_some() || self.warm_request(reason) {
            return;
        }
        let action = self.schedule.request(reason);
        self.act(action).await;
    }

    async fn act(&mut self, mut action: Action) {
        loop {
            action = match action {
                Action::Nothing => return,
                Action::Cancel => {
                    self.cancel();
                    return;
                }
                Action::Start(reason) => match self.start(reason).await {
                    true => return,
                    // Skipped: as if it had finished.
                    false => self.schedule.finished(),
                },
            }
        }
    }

    /// Starts a build, or reports it skipped (returns false) when the changes
    /// it would build are no change at all.
    async fn start(&mut self, reason: BuildReason) -> bool {
        let batch = std::mem::take(&mut self.waiting);
        let adopt = self.read_contents(reason, &batch).await;
        self.last_build += 1;
        let id = self.last_build;
        if let (Adopt::Update(current), Some(snapshot)) = (&adopt, &self.snapshot)
            && reason == BuildReason::Change
            && snapshot.unchanged(current)
        {
            let skipped = Event::BuildFinished {
                build: id,
                status: BuildStatus::Skipped,
                exit_code: None,
                ms: 0,
                failure: None,
            };
            self.emit(skipped).await;
            return false;
        }
        self.emit(Event::BuildStarted { build: id, reason }).await;
        let (cancel, cancelled) = oneshot::channel();
        let request = BuildRequest::new(id, &self.config);
        let events = self.events.clone();
        let inbox = self.inbox_tx.clone();
        let promoter = self.promoter();
        tokio::spawn(async move {
            let outcome = run_build(request, events, cancelled).await;
            // Promoting here keeps the engine free to take commands meanwhile.
            let promotion = match outcome.status {
                BuildStatus::Ok => promoter.promote(Box::new(|| Ok(()))).await,
                _ => None,
            };
            let _ = inbox
                .send(Input::BuildDone(Finished { outcome, promotion }))
                .await;
        });
        self.running = Some(Running {
            id,
            cancel: Some(cancel),
            adopt,
        });
        true
    }

    /// The contents a build starts from: the whole tree at startup or after
    /// lost events or while the snapshot is unknown, otherwise just the
    /// changed paths (and those of failed builds).
    async fn read_contents(&self, reason: BuildReason, batch: &ChangeBatch) -> Adopt {
        let root = self.config.root.clone();
        if reason == BuildReason::Startup || batch.overflow || self.snapshot.is_none() {
            let watch_paths = self.config.watch.paths.clone();
            let filter = PathFilter::new(&self.config);
            let scan = move || Snapshot::scan(&root, &watch_paths, &filter);
            return Adopt::Replace(tokio::task::spawn_blocking(scan).await.unwrap_or_default());
        }
        let mut paths = batch.paths.clone();
        paths.extend(self.unsettled.iter().cloned());
        let read = move || Snapshot::read(&root, &paths);
        Adopt::Update(tokio::task::spawn_blocking(read).await.unwrap_or_default())
    }

    async fn build_done(&mut self, finished: Finished) {
        let Some(running) = self.running.take_if(|r| r.id == finished.outcome.id) else {
            return;
        };
        self.finished(finished, running.adopt).await;
    }

    /// A build's end, from either driver: the snapshot, the events, the
    /// servers told, the next build started.
    async fn finished(&mut self, finished: Finished, adopt: Adopt) {
        let Finished { outcome, promotion } = finished;
        // A build counts as good once its output is in place.
        let good =
            outcome.status == BuildStatus::Ok && promotion.as_ref().is_none_or(Result::is_ok);
        match (good, adopt) {
            (true, Adopt::Replace(snapshot)) => {
                self.snapshot = Some(snapshot);
                self.unsettled.clear();
            }
            (true, Adopt::Update(current)) => {
                if let Some(snapshot) = &mut self.snapshot {
                    snapshot.update(&current);
                }
                self.unsettled.clear();
            }
            (false, Adopt::Update(current)) => {
                self.unsettled
                    .extend(current.into_iter().map(|(path, _)| path));
                self.unsettled.sort();
                self.unsettled.dedup();
            }
            // A failed full read leaves nothing known to compare with.
            (false, Adopt::Replace(_)) => self.snapshot = None,
        }
        self.emit(Event::BuildFinished {
            build: outcome.id,
            status: outcome.status,
            exit_code: outcome.exit_code,
            ms: outcome.ms,
            failure: outcome.failure.clone(),
        })
        .await;
        match &promotion {
            Some(Ok(promotion)) => {
                self.emit(promoted_event(outcome.id, promotion, &self.config.root))
                    .await;
                if !self.fallback_reported
                    && let Some(notice) = fallback_notice(promotion)
                {
                    self.fallback_reported = true;
                    self.emit(notice).await;
                }
            }
            Some(Err(reason)) => {
                self.emit(Event::PromoteFailed {
                    build: outcome.id,
                    reason: reason.to_string(),
                })
                .await
            }
            None => {}
        }
        // Without [promote], a good build stands for a promotion. One that
        // changed nothing (a warm lib recompiled because its dependency did)
        // only lets `after` processes start: restarting for it would serve
        // the same edit twice.
        if good && self.quitting.is_none() {
            let window = self.config.promote.as_ref().and_then(|p| p.auto_rollback);
            let changed = !matches!(&promotion, Some(Ok(p)) if p.changed == 0);
            self.supervisor.promoted_guarded(window, changed);
        }
        let next = self.schedule.finished();
        if self.quitting.is_none() {
            self.act(next).await;
        }
    }

    /// Where a driver's good build goes, with the target to hold meanwhile.
    fn promoter(&self) -> Promoter {
        Promoter {
            spec: promote_spec(&self.config),
            target: self.target.clone(),
        }
    }

    async fn emit(&self, event: Event) {
        let _ = self.events.send(Stamped::now(event)).await;
    }
}

/// The warm build's next cycle to promote; pending forever without one.
async fn next_promotion(
    promotions: &mut Option<mpsc::Receiver<PromoteRequest>>,
) -> Option<PromoteRequest> {
    match promotions {
        Some(promotions) => promotions.recv().await,
        None => std::future::pending().await,
    }
}

/// The next process whose failure rolls back; pending forever without any.
async fn next_alert(alerts: &mut Option<mpsc::UnboundedReceiver<Alert>>) -> Option<Alert> {
    match alerts {
        Some(alerts) => alerts.recv().await,
        None => std::future::pending().await,
    }
}
