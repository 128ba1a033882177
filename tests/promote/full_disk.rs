//! A full disk, for real (issue 23): the workspace on a 4 MiB tmpfs, mounted
//! by the test where it runs as root (skipped with a message elsewhere). An
//! output larger than the free space is refused with the figures, the
//! target and the kept generation stay whole and no staging is left; once
//! there is room the next build promotes. With the disk full, devloop's own
//! record of the build's group cannot be written: an `error` event says so,
//! devloop runs on (a process restarts), and what was promoted stays.

use crate::common::{Devloop, Workspace};
use crate::promote_common::mount_tmpfs;
use serde_json::json;
use std::io::Write;
use std::path::Path;

const KIB: usize = 1024;

const CONFIG: &str = r#"[watch]
paths = ["libs"]
debounce = "200ms"

[build]
command = "mkdir -p tmp/out && head -c $(cat libs/size) /dev/zero > tmp/out/blob"
output = "tmp/out"

[promote]
target = "dist/libs"
keep = 2

[process.app]
command = "sleep 1000"
after = ["build"]
"#;

fn blob_len(workspace: &Workspace) -> u64 {
    std::fs::metadata(workspace.path().join("dist/libs/blob"))
        .map(|m| m.len())
        .unwrap_or(0)
}

/// Siblings of the target devloop stages in (`.libs.stage-N`).
fn stages(workspace: &Workspace) -> Vec<String> {
    std::fs::read_dir(workspace.path().join("dist"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("stage"))
        .collect()
}

/// Writes zeros into `path` until the filesystem is full.
fn fill(path: &Path) {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * KIB];
    while file.write_all(&chunk).is_ok() {}
    let small = [0u8; 512];
    while file.write_all(&small).is_ok() {}
}

#[test]
fn a_full_disk_refuses_with_figures_keeps_what_was_promoted_and_recovers() {
    let scratch = tempfile::tempdir().unwrap();
    let mountpoint = scratch.path().join("small");
    let Some(_mount) = mount_tmpfs(&mountpoint, "4m") else {
        eprintln!("SKIPPED: mounting a 4 MiB tmpfs needs root; the full disk is not tested here");
        return;
    };
    let workspace = Workspace::new_in(&mountpoint, CONFIG);
    workspace.write("libs/size", &(512 * KIB).to_string());
    let mut devloop = Devloop::start(&workspace);
    devloop.wait_event("promoted", &[("generation", json!(1))]);
    devloop.seen_or_wait("process_started", &[("process", json!("app"))]);
    assert_eq!(blob_len(&workspace), 512 * KIB as u64);

    // 1.8 MiB more than fits beside the 512 KiB in place and the output.
    workspace.write("libs/size", &(1_843 * KIB).to_string());
    let failed = devloop.wait_event("promote_failed", &[]);
    let reason = failed["reason"].as_str().unwrap();
    assert!(
        reason.contains("not enough space")
            && reason.contains("needed")
            && reason.contains("available"),
        "{failed}"
    );
    assert_eq!(
        blob_len(&workspace),
        512 * KIB as u64,
        "the target is whole"
    );
    assert!(
        stages(&workspace).is_empty(),
        "staging left: {:?}",
        stages(&workspace)
    );

    // Room again: the next build promotes.
    workspace.write("libs/size", &(64 * KIB).to_string());
    devloop.wait_event("promoted", &[("generation", json!(2))]);
    assert_eq!(blob_len(&workspace), 64 * KIB as u64);

    // The disk full: a build cannot record its group (a page for the
    // record), then cannot write its output; what was promoted stays.
    let filler = workspace.path().join("filler");
    fill(&filler);
    workspace.write("libs/size", &(128 * KIB).to_string());
    let error = devloop.wait_event("error", &[]);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains(".devloop/build-group") && message.contains("cannot write"),
        "{error}"
    );
    let finished = devloop.wait_event("build_finished", &[]);
    assert_eq!(finished["status"], "failed", "{finished}");
    assert_eq!(blob_len(&workspace), 64 * KIB as u64, "generation 2 stays");
    devloop.send("r app");
    devloop.wait_event(
        "process_started",
        &[("process", json!("app")), ("restarts", json!(1))],
    );

    // Room again: devloop ran on, and promotes.
    std::fs::remove_file(&filler).unwrap();
    devloop.send("b");
    devloop.wait_event("promoted", &[("generation", json!(3))]);
    assert_eq!(blob_len(&workspace), 128 * KIB as u64);
    assert!(devloop.stop().success());
    assert!(stages(&workspace).is_empty());
}
