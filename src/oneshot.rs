//! `devloop build` and `devloop rollback`: one job each, reported through the
//! same headless sinks as `run`, then an exit status.

use crate::build::{BuildRequest, run_build};
use crate::config::Config;
use crate::engine::{fallback_notice, promote_spec, promoted_event, recover, roll_back};
use crate::event::{BuildReason, BuildStatus, Event, Stamped};
use tokio::sync::{mpsc, oneshot};

/// One build and its promotion; true when both succeeded.
pub async fn build(config: &Config, events: mpsc::Sender<Stamped>) -> bool {
    for event in recover(config).await {
        emit(&events, event).await;
    }
    emit(
        &events,
        Event::BuildStarted {
            build: 1,
            reason: BuildReason::Manual,
        },
    )
    .await;
    let (cancel, cancelled) = oneshot::channel();
    cancel_on_signal(cancel);
    let request = BuildRequest::new(1, config);
    let outcome = run_build(request, events.clone(), cancelled).await;
    emit(
        &events,
        Event::BuildFinished {
            build: 1,
            status: outcome.status,
            exit_code: outcome.exit_code,
            ms: outcome.ms,
            failure: None,
        },
    )
    .await;
    if outcome.status != BuildStatus::Ok {
        return false;
    }
    let Some(spec) = promote_spec(config) else {
        return true;
    };
    match crate::engine::run_promotion(spec, Box::new(|| Ok(()))).await {
        Ok(promotion) => {
            emit(&events, promoted_event(1, &promotion, &config.root)).await;
            if let Some(notice) = fallback_notice(&promotion) {
                emit(&events, notice).await;
            }
            true
        }
        Err(error) => {
            let reason = error.to_string();
            emit(&events, Event::PromoteFailed { build: 1, reason }).await;
            false
        }
    }
}

async fn emit(events: &mpsc::Sender<Stamped>, event: Event) {
    let _ = events.send(Stamped::now(event)).await;
}

/// SIGINT, SIGTERM, SIGHUP or SIGQUIT cancels the build (its whole group).
fn cancel_on_signal(cancel: oneshot::Sender<()>) {
    let Ok(mut signals) = crate::platform::quit_signals() else {
        return;
    };
    tokio::spawn(async move {
        if signals.recv().await.is_some() {
            let _ = cancel.send(());
        }
    });
}

/// Swaps the previous generation back in; true when one was put in place.
pub async fn rollback(config: &Config, events: mpsc::Sender<Stamped>) -> bool {
    for event in recover(config).await {
        emit(&events, event).await;
    }
    let event = roll_back(config).await;
    let rolled_back = matches!(event, Event::RolledBack { .. });
    emit(&events, event).await;
    rolled_back
}
