//! An inotify queue overflow means "anything may have changed": devloop
//! builds even when the events it did get would have been a no-op.
//! (In tests/overflow with the other test that shrinks the kernel's queue
//! size: see common/tiny_queue.rs.)

use crate::common::tiny_queue::fifty_files_built;
use serde_json::json;

#[test]
fn a_queue_overflow_builds_even_when_nothing_seems_changed() {
    let Some((workspace, mut devloop)) = fifty_files_built("true") else {
        return;
    };

    // Rewrite every file with its own content while devloop cannot read events.
    devloop.signal(libc::SIGSTOP);
    for i in 0..50 {
        workspace.write(&format!("libs/f{i}.ts"), "same");
    }
    devloop.signal(libc::SIGCONT);
    devloop.wait_event("change", &[]);
    devloop.wait_event(
        "build_started",
        &[("build", json!(2)), ("reason", json!("change"))],
    );
    devloop.wait_event(
        "build_finished",
        &[("build", json!(2)), ("status", json!("ok"))],
    );

    // Without an overflow, the same no-op rewrite is skipped.
    workspace.write("libs/f0.ts", "same");
    devloop.wait_event(
        "build_finished",
        &[("build", json!(3)), ("status", json!("skipped"))],
    );
    assert!(devloop.stop().success());
}
