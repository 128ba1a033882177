//! Cancelling a build by hand (`x` on stdin): the whole build group stops,
//! `build_finished` says `cancelled`, and nothing is promoted.

use crate::common::{Devloop, Workspace, alive, config_with_build, wait_until};
use serde_json::json;
use std::time::Duration;

#[test]
fn x_stops_the_whole_build_group_and_promotes_nothing() {
    // The first build ends at once; the second starts a grandchild and never
    // ends by itself. The pid file tells the test who to look for.
    let build = "mkdir -p tmp/out && echo new > tmp/out/v; [ -e tmp/go ] && exit 0; \
                 sleep 300 >/dev/null 2>&1 & echo $! > tmp/grandchild; \
                 while true; do sleep 0.05; done";
    let config = format!(
        "{}\n[promote]\ntarget = \"dist/libs\"\n",
        config_with_build(build)
    );
    let workspace = Workspace::new(&config);
    workspace.write("tmp/go", "");
    let mut devloop = Devloop::start(&workspace);
    devloop.wait_event("promoted", &[("build", json!(1))]);
    std::fs::remove_file(workspace.path().join("tmp/go")).unwrap();

    devloop.send("b");
    devloop.wait_event("build_started", &[("build", json!(2))]);
    assert!(wait_until(Duration::from_secs(10), || !workspace
        .read("tmp/grandchild")
        .trim()
        .is_empty()));
    let grandchild: u32 = workspace.read("tmp/grandchild").trim().parse().unwrap();
    assert!(alive(grandchild));
    std::fs::write(workspace.path().join("tmp/out/v"), "cancelled\n").unwrap();
    devloop.send("x");
    devloop.wait_event(
        "build_finished",
        &[("build", json!(2)), ("status", json!("cancelled"))],
    );
    assert!(
        wait_until(Duration::from_secs(5), || !alive(grandchild)),
        "the build's grandchild outlived the cancel"
    );
    // Nothing is promoted; an `x` with no build says so and changes nothing.
    devloop.send("x");
    let error = devloop.wait_event("error", &[]);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no build is running")
    );
    assert!(
        devloop.all("promoted").len() == 1,
        "{:?}",
        devloop.all("promoted")
    );
    assert_eq!(workspace.read("dist/libs/v"), "new\n");
    assert!(devloop.stop().success());
}
