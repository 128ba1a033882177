//! The content snapshot is "unknown" after a failed startup build and after
//! a rollback: the next change batch must build, never report `skipped`.

use crate::common::{Devloop, Workspace, config_with_build};
use serde_json::json;

fn finished(devloop: &mut Devloop, build: u64) -> String {
    let event = devloop.wait_event("build_finished", &[("build", json!(build))]);
    event["status"].as_str().unwrap_or_default().to_string()
}

#[test]
fn deleting_the_file_that_broke_the_startup_build_builds() {
    let workspace = Workspace::new(&config_with_build("test ! -e libs/broken.ts"));
    workspace.write("libs/broken.ts", "syntax error");
    workspace.write("libs/ok.ts", "export {}");
    let mut devloop = Devloop::start(&workspace);
    assert_eq!(finished(&mut devloop, 1), "failed");
    std::fs::remove_file(workspace.path().join("libs/broken.ts")).unwrap();
    assert_eq!(
        finished(&mut devloop, 2),
        "ok",
        "absent before (never read) and absent now is no proof of no change"
    );
    assert!(devloop.stop().success());
}

#[test]
fn a_deletion_after_a_rollback_builds() {
    let config = format!(
        "{}\n[promote]\ntarget = \"dist/libs\"\n",
        config_with_build("rm -rf tmp/out && mkdir -p tmp/out && cp -r libs/. tmp/out/")
    );
    let workspace = Workspace::new(&config);
    workspace.write("libs/a.ts", "a");
    let mut devloop = Devloop::start(&workspace);
    assert_eq!(finished(&mut devloop, 1), "ok");
    workspace.write("libs/b.ts", "b");
    assert_eq!(finished(&mut devloop, 2), "ok");
    workspace.write("libs/c.ts", "c");
    assert_eq!(finished(&mut devloop, 3), "ok");
    devloop.send("u");
    devloop.wait_event("rolled_back", &[("generation", json!(2))]);
    assert_eq!(workspace.read("dist/libs/b.ts"), "b");
    // Sources a, c against a target of a, b: this must build.
    std::fs::remove_file(workspace.path().join("libs/b.ts")).unwrap();
    assert_eq!(finished(&mut devloop, 4), "ok");
    devloop.wait_event("promoted", &[("build", json!(4))]);
    assert!(!workspace.path().join("dist/libs/b.ts").exists());
    assert_eq!(workspace.read("dist/libs/c.ts"), "c");
    assert!(devloop.stop().success());
}
