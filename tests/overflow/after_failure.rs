//! A failed build after an inotify queue overflow leaves the snapshot
//! "unknown": what changed while events were lost is not known, so the next
//! batch builds even if its own paths read as before.
//! (In tests/overflow with the other test that shrinks the kernel's queue
//! size: see common/tiny_queue.rs.)

use crate::common::tiny_queue::fifty_files_built;
use serde_json::json;

#[test]
fn after_a_failed_overflow_build_the_next_batch_builds() {
    let Some((workspace, mut devloop)) = fifty_files_built("test ! -e libs/broken") else {
        return;
    };

    // While devloop cannot read events: a real edit, a breaking file, and
    // enough rewrites to overflow the queue.
    devloop.signal(libc::SIGSTOP);
    workspace.write("libs/f1.ts", "edited");
    workspace.write("libs/broken", "");
    for i in 0..50 {
        workspace.write(
            &format!("libs/f{i}.ts"),
            if i == 1 { "edited" } else { "same" },
        );
    }
    devloop.signal(libc::SIGCONT);
    devloop.wait_event(
        "build_finished",
        &[("build", json!(2)), ("status", json!("failed"))],
    );

    // Removing the breaking file: absent before and now, but f1's edit was
    // never built, so this must build.
    std::fs::remove_file(workspace.path().join("libs/broken")).unwrap();
    let finished = devloop.wait_event("build_finished", &[("build", json!(3))]);
    assert_eq!(finished["status"], json!("ok"), "{finished}");
    assert!(devloop.stop().success());
}
