//! Starting devloop with an inotify queue of 8 events, so that a burst of
//! writes overflows it. The size is a global setting read when an inotify
//! instance is created, so it is shrunk only until devloop says `watching`,
//! one test at a time; the tests using this run in a binary of their own
//! (tests/overflow), where nothing else starts devloop meanwhile. Needs root.

use super::{Devloop, Workspace};

const QUEUE_SETTING: &str = "/proc/sys/fs/inotify/max_queued_events";

/// devloop watching with a tiny queue, or None (said on stderr) where the
/// setting cannot be changed.
pub fn start_with_tiny_inotify_queue(workspace: &Workspace) -> Option<Devloop> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let Ok(original) = std::fs::read_to_string(QUEUE_SETTING) else {
        eprintln!("skipped: {QUEUE_SETTING} cannot be read");
        return None;
    };
    if std::fs::write(QUEUE_SETTING, "8").is_err() {
        eprintln!("skipped: {QUEUE_SETTING} cannot be written (needs root)");
        return None;
    }
    let mut devloop = Devloop::start(workspace);
    devloop.wait_event("watching", &[]);
    std::fs::write(QUEUE_SETTING, original.trim()).expect("restore max_queued_events");
    Some(devloop)
}

/// A workspace of 50 lib files built by `build`, watched with a tiny queue,
/// after its first build passed; None where the queue cannot be shrunk.
pub fn fifty_files_built(build: &str) -> Option<(Workspace, Devloop)> {
    let workspace = Workspace::new(&super::config_with_build(build));
    for i in 0..50 {
        workspace.write(&format!("libs/f{i}.ts"), "same");
    }
    let mut devloop = start_with_tiny_inotify_queue(&workspace)?;
    devloop.wait_event(
        "build_finished",
        &[
            ("build", serde_json::json!(1)),
            ("status", serde_json::json!("ok")),
        ],
    );
    Some((workspace, devloop))
}
