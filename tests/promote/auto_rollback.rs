//! `promote.auto_rollback`: a process that was ready before a promotion and
//! crashes on the new generation puts the previous one back, once, and is
//! restarted on it; the next good build promotes as usual.

use crate::common::{Devloop, Workspace, config_with_processes};
use serde_json::json;

const APP: &str = r#"[process.app]
command = '''v=$(cat dist/libs/v); echo "serving $v"; [ "$v" = bad ] && exit 1; exec sleep 300'''
after = ["build"]
on_promote = "restart"
"#;

fn workspace() -> Workspace {
    let build = "rm -rf tmp/out && mkdir -p tmp/out && cp libs/v tmp/out/v";
    let config = config_with_processes(build, APP).replace(
        "[process.app]",
        "[promote]\ntarget = \"dist/libs\"\nauto_rollback = \"20s\"\n\n[process.app]",
    );
    let workspace = Workspace::new(&config);
    workspace.write("libs/v", "good");
    workspace
}

fn serving(devloop: &mut Devloop, version: &str) {
    devloop.wait_event(
        "process_output",
        &[
            ("process", json!("app")),
            ("line", json!(format!("serving {version}"))),
        ],
    );
}

#[test]
fn a_crash_on_the_new_generation_rolls_back_once_and_restarts_it() {
    let workspace = workspace();
    let mut devloop = Devloop::start(&workspace);
    devloop.wait_event("promoted", &[("generation", json!(1))]);
    serving(&mut devloop, "good");
    devloop.seen_or_wait("process_ready", &[("process", json!("app"))]);

    workspace.write("libs/v", "bad");
    devloop.wait_event("promoted", &[("generation", json!(2))]);
    let rolled = devloop.wait_event("rolled_back", &[]);
    assert_eq!(rolled["generation"], json!(1), "{rolled}");
    assert_eq!(rolled["reason"], json!("auto"), "{rolled}");
    assert_eq!(rolled["process"], json!("app"), "{rolled}");
    assert_eq!(workspace.read("dist/libs/v"), "good");
    serving(&mut devloop, "good");

    // The fix arrives: promoted as usual, no second rollback.
    workspace.write("libs/v", "fixed");
    devloop.wait_event("promoted", &[("generation", json!(3))]);
    serving(&mut devloop, "fixed");
    assert_eq!(workspace.read("dist/libs/v"), "fixed");
    assert_eq!(devloop.all("rolled_back").len(), 1);
    assert!(devloop.stop().success());
}

#[test]
fn auto_rollback_needs_a_sensible_window() {
    let workspace = workspace();
    let out = workspace.run(&["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("ready process fails within 20s"),
        "{stdout}"
    );
    let text = workspace.read("watch.toml").replace("\"20s\"", "\"0s\"");
    workspace.write("watch.toml", &text);
    let out = workspace.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("promote.auto_rollback"), "{stderr}");
    assert!(stderr.contains("watch.toml:11:17"), "{stderr}");
}

#[test]
fn turning_unhealthy_on_the_new_generation_rolls_back_too() {
    let build = "rm -rf tmp/out && mkdir -p tmp/out && cp libs/v tmp/out/v";
    let app = r#"[process.app]
command = "exec sleep 300"
after = ["build"]
health = { exec = "test \"$(cat dist/libs/v)\" != bad", interval = "100ms", retries = 2 }
"#;
    let config = config_with_processes(build, app).replace(
        "[process.app]",
        "[promote]\ntarget = \"dist/libs\"\nauto_rollback = \"20s\"\n\n[process.app]",
    );
    let workspace = Workspace::new(&config);
    workspace.write("libs/v", "good");
    let mut devloop = Devloop::start(&workspace);
    devloop.wait_event("process_ready", &[("process", json!("app"))]);
    workspace.write("libs/v", "bad");
    devloop.wait_event("promoted", &[("generation", json!(2))]);
    devloop.wait_event(
        "process_restarting",
        &[("process", json!("app")), ("reason", json!("unhealthy"))],
    );
    let rolled = devloop.wait_event("rolled_back", &[]);
    assert_eq!(rolled["reason"], json!("auto"), "{rolled}");
    assert_eq!(rolled["process"], json!("app"), "{rolled}");
    assert_eq!(workspace.read("dist/libs/v"), "good");
    devloop.wait_event("process_ready", &[("process", json!("app"))]);
    assert!(devloop.stop().success());
}
