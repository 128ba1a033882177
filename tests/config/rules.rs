//! Configuration that makes no sense is rejected at `check` with file, line
//! and column; a watch path that is a symlink to a directory is followed.

use crate::common::{Devloop, Workspace, config_with_build};
use serde_json::json;

const BASE: &str = r#"[watch]
paths = ["libs"]
debounce = "300ms"

[build]
command = "true"
output = "tmp/out"
timeout = "2m"

[promote]
target = "dist/libs"

[process.api]
command = "true"
health = { tcp = 3000, interval = "500ms", timeout = "1s" }
stop_timeout = "5s"
"#;

/// `check` on BASE with `from` replaced by `to`: exit 2, located at `at`.
fn rejects(setup: impl Fn(&Workspace), from: &str, to: &str, at: &str, words: &str) {
    assert!(BASE.contains(from), "test setup: {from:?}");
    let text = BASE.replacen(from, to, 1);
    let offset = text.find(at).expect("test setup: at");
    let line = text[..offset].matches('\n').count() + 1;
    let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
    let workspace = Workspace::new(&text);
    setup(&workspace);
    let out = workspace.run(&["check"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{to:?} was accepted:\n{stderr}");
    let located = format!("watch.toml:{line}:{column}: ");
    assert!(
        stderr.contains(&located),
        "expected {located} in:\n{stderr}"
    );
    assert!(stderr.contains(words), "expected {words:?} in:\n{stderr}");
}

fn nothing(_: &Workspace) {}

#[test]
fn the_base_configuration_checks() {
    Workspace::new(BASE).check_ok();
}

#[test]
fn durations_that_make_no_sense_are_rejected() {
    let cases = [
        (
            "interval = \"500ms\"",
            "interval = \"0ms\"",
            "\"0ms\"",
            "health.interval = \"0ms\" is too short",
        ),
        (
            "timeout = \"1s\"",
            "timeout = \"0s\"",
            "\"0s\"",
            "health.timeout",
        ),
        (
            "stop_timeout = \"5s\"",
            "stop_timeout = \"0ms\"",
            "\"0ms\"",
            "SIGKILL",
        ),
        (
            "timeout = \"2m\"",
            "timeout = \"0ms\"",
            "\"0ms\"",
            "build.timeout",
        ),
        (
            "debounce = \"300ms\"",
            "debounce = \"2h\"",
            "\"2h\"",
            "watch.debounce = \"120m\" is too long",
        ),
    ];
    for (from, to, at, words) in cases {
        rejects(nothing, from, to, at, words);
    }
}

#[test]
fn a_watch_path_must_be_a_directory_that_is_watched() {
    let file = |w: &Workspace| w.write("libs/index.ts", "");
    rejects(
        file,
        "paths = [\"libs\"]",
        "paths = [\"libs/index.ts\"]",
        "\"libs/index.ts",
        "is a file",
    );
    rejects(
        |w: &Workspace| w.write("tmp/out/x.js", ""),
        "paths = [\"libs\"]",
        "paths = [\"libs\", \"tmp/out\"]",
        "\"tmp/out",
        "is excluded",
    );
    let dangling = |w: &Workspace| {
        std::os::unix::fs::symlink("gone", w.path().join("libs/link")).unwrap();
    };
    rejects(
        dangling,
        "paths = [\"libs\"]",
        "paths = [\"libs/link\"]",
        "\"libs/link",
        "does not exist",
    );
}

#[test]
fn a_symlinked_watch_path_is_followed() {
    // pnpm-style: the watched path is a link to the package elsewhere.
    let config = config_with_build("true").replace("[\"libs\"]", "[\"libs/shared\"]");
    let workspace = Workspace::new(&config);
    workspace.write("packages/shared/src/index.ts", "one");
    std::os::unix::fs::symlink("../packages/shared", workspace.path().join("libs/shared")).unwrap();
    let out = workspace.run(&["check"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut devloop = Devloop::start(&workspace);
    let watching = devloop.wait_event("watching", &[]);
    assert_eq!(watching["dirs"], json!(2), "{watching}");
    devloop.wait_event(
        "build_finished",
        &[("build", json!(1)), ("status", json!("ok"))],
    );
    workspace.write("packages/shared/src/index.ts", "two");
    let change = devloop.wait_event("change", &[]);
    assert_eq!(change["paths"], json!(["libs/shared/src/index.ts"]));
    devloop.wait_event(
        "build_finished",
        &[("build", json!(2)), ("status", json!("ok"))],
    );
    assert!(devloop.stop().success());
}
