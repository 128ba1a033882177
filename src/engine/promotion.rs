//! The engine's side of promotion: the spec from the configuration, running
//! the blocking library off the runtime, recovery at start, and the events.

use crate::build::Guard;
use crate::child::leftovers::{BUILD_FILE, stop_leftovers};
use crate::config::Config;
use crate::event::Event;
use crate::promote::{self, PromoteError, PromoteSpec, Promotion, StrategyPref};
use std::path::Path;
use std::sync::Arc;

/// What a promotion needs, when watch.toml has `[promote]`.
pub fn spec(config: &Config) -> Option<PromoteSpec> {
    let promote = config.promote.as_ref()?;
    Some(PromoteSpec {
        output: config.promoted_output()?,
        target: config.abs(&promote.target),
        keep: promote.keep,
        require: promote.require.clone(),
        strategy: StrategyPref::Auto,
    })
}

/// A promotion as the engine hands it to a driver: where it goes (from
/// watch.toml), and the target held while it runs, so that no rollback
/// swaps generations meanwhile.
pub(super) struct Promoter {
    pub spec: Option<PromoteSpec>,
    pub target: Arc<tokio::sync::Mutex<()>>,
}

impl Promoter {
    /// None when watch.toml has no `[promote]`.
    pub async fn promote(self, guard: Guard) -> Option<Result<Promotion, PromoteError>> {
        let spec = self.spec?;
        let _held = self.target.lock_owned().await;
        Some(run(spec, guard).await)
    }
}

/// Promotes off the runtime's thread, asking `guard` just before the swap.
pub async fn run(spec: PromoteSpec, guard: Guard) -> Result<Promotion, PromoteError> {
    match tokio::task::spawn_blocking(move || promote::promote_checked(&spec, &*guard)).await {
        Ok(result) => result,
        Err(e) => Err(PromoteError::Internal(format!(
            "the promotion stopped unexpectedly: {e}"
        ))),
    }
}

/// Cleans up after a killed devloop, before anything else runs: stops the
/// build it left running, puts a whole generation in place and tidies the
/// target's siblings. Events to report.
pub async fn recover(config: &Config) -> Vec<Event> {
    let mut events: Vec<Event> = stop_leftovers(&config.state_dir(), BUILD_FILE)
        .await
        .into_iter()
        .map(|message| Event::Notice { message })
        .collect();
    events.extend(recover_target(config).await);
    events
}

async fn recover_target(config: &Config) -> Vec<Event> {
    let Some(promote) = &config.promote else {
        return Vec::new();
    };
    let target = config.abs(&promote.target);
    let keep = promote.keep;
    let shown = promote.target.display().to_string();
    match tokio::task::spawn_blocking(move || promote::recover(&target, keep)).await {
        Ok(Ok(recovery)) if recovery.is_empty() => Vec::new(),
        Ok(Ok(recovery)) => vec![Event::Notice {
            message: format!("{shown}: {recovery}"),
        }],
        Ok(Err(e)) => vec![Event::Error {
            message: format!("recovering {shown} failed: {e}"),
        }],
        Err(e) => vec![Event::Error {
            message: format!("recovering {shown} stopped unexpectedly: {e}"),
        }],
    }
}

/// Swaps the previous generation back in: `rolled_back`, or an `error`
/// saying why not (no `[promote]`, nothing older, an I/O failure).
pub async fn roll_back(config: &Config) -> Event {
    let Some(promote) = &config.promote else {
        let message = "nothing to roll back: watch.toml has no [promote] section".to_string();
        return Event::Error { message };
    };
    let target = config.abs(&promote.target);
    match tokio::task::spawn_blocking(move || promote::rollback(&target)).await {
        Ok(Ok(generation)) => Event::RolledBack {
            generation,
            reason: crate::event::RollbackReason::Manual,
            process: None,
        },
        Ok(Err(error @ promote::PromoteError::NoPreviousGeneration { .. })) => Event::Error {
            message: error.to_string(),
        },
        Ok(Err(error)) => Event::Error {
            message: format!("rollback failed: {error}"),
        },
        Err(error) => Event::Error {
            message: format!("rollback stopped unexpectedly: {error}"),
        },
    }
}

/// The `promoted` event, with the target as the user wrote it.
pub fn promoted_event(build: u64, promotion: &Promotion, root: &Path) -> Event {
    let target = promotion
        .target
        .strip_prefix(root)
        .unwrap_or(&promotion.target);
    Event::Promoted {
        build,
        generation: promotion.generation,
        target: target.display().to_string(),
        files: promotion.files,
        bytes: promotion.bytes,
        strategy: promotion.strategy,
        swap_us: promotion.swap_us,
        changed: promotion.changed,
        ms: promotion.ms,
    }
}

/// Said once per run when the filesystem forced the two-rename swap.
pub fn fallback_notice(promotion: &Promotion) -> Option<Event> {
    promotion.fallback.then(|| Event::Notice {
        message: format!(
            "promoting into {} with two renames: the filesystem refuses renameat2(RENAME_EXCHANGE) (or DEVLOOP_SWAP=rename is set), so readers can find the target missing for a moment",
            promotion.target.display()
        ),
    })
}
