//! The watch-and-build loop, end to end: the real binary on a temp workspace,
//! observed through its JSON events.

use crate::common::{Devloop, Workspace, alive, config_with_build};
use serde_json::{Value, json};
use std::time::Duration;

fn finished_ok(devloop: &mut Devloop, build: u64) {
    devloop.wait_event(
        "build_finished",
        &[("build", json!(build)), ("status", json!("ok"))],
    );
}

/// Edits a sentinel file and checks that the next change batch is that file
/// alone and builds as number `expected`: so nothing else built in between.
fn sentinel_builds_next(devloop: &mut Devloop, workspace: &Workspace, expected: u64) {
    workspace.write("libs/sentinel.ts", &format!("export const n = {expected};"));
    let change = devloop.wait_event("change", &[]);
    assert_eq!(
        change["paths"],
        json!(["libs/sentinel.ts"]),
        "unexpected change batch: {change}"
    );
    let started = devloop.wait_event("build_started", &[]);
    assert_eq!(
        started["build"],
        json!(expected),
        "an extra build ran: {started}"
    );
}

#[test]
fn startup_build_streams_output_and_finishes() {
    let workspace = Workspace::new(&config_with_build("echo out-line; echo err-line >&2"));
    let mut devloop = Devloop::start(&workspace);
    let watching = devloop.wait_event("watching", &[]);
    assert_eq!(watching["paths"], json!(["libs"]));
    assert!(watching["dirs"].as_u64().unwrap() >= 1);
    devloop.wait_event(
        "build_started",
        &[("build", json!(1)), ("reason", json!("startup"))],
    );
    devloop.wait_event(
        "build_output",
        &[("stream", json!("stdout")), ("line", json!("out-line"))],
    );
    finished_ok(&mut devloop, 1);
    let errs: Vec<&Value> = devloop
        .all("build_output")
        .into_iter()
        .filter(|e| e["stream"] == "stderr")
        .collect();
    assert_eq!(errs.len(), 1, "stderr line missing: {errs:?}");
    let finished = devloop.all("build_finished")[0].clone();
    assert_eq!(finished["exit_code"], json!(0));
    assert!(finished["ms"].is_u64());
    assert!(devloop.stop().success());
}

#[test]
fn one_edit_gives_exactly_one_build() {
    let workspace = Workspace::new(&config_with_build("true"));
    workspace.write("libs/a/index.ts", "export const a = 1;");
    let mut devloop = Devloop::start(&workspace);
    finished_ok(&mut devloop, 1);
    workspace.write("libs/a/index.ts", "export const a = 2;");
    let change = devloop.wait_event("change", &[]);
    assert_eq!(change["paths"], json!(["libs/a/index.ts"]));
    assert_eq!(change["count"], json!(1));
    devloop.wait_event(
        "build_started",
        &[("build", json!(2)), ("reason", json!("change"))],
    );
    finished_ok(&mut devloop, 2);
    sentinel_builds_next(&mut devloop, &workspace, 3);
}

#[test]
fn a_burst_of_sixty_files_is_one_build() {
    let workspace = Workspace::new(&config_with_build("true"));
    let mut devloop = Devloop::start(&workspace);
    finished_ok(&mut devloop, 1);
    // 60 files over about 200 ms, like a checkout.
    for i in 0..60 {
        workspace.write(
            &format!("libs/burst/f{i:02}.ts"),
            &format!("export const v = {i};"),
        );
        std::thread::sleep(Duration::from_millis(3));
    }
    let change = devloop.wait_event("change", &[]);
    assert_eq!(change["count"], json!(60), "the burst was split: {change}");
    devloop.wait_event("build_started", &[("build", json!(2))]);
    finished_ok(&mut devloop, 2);
    sentinel_builds_next(&mut devloop, &workspace, 3);
}

#[test]
fn an_editor_rename_over_save_is_one_change() {
    let workspace = Workspace::new(&config_with_build("true"));
    workspace.write("libs/a.ts", "one");
    let mut devloop = Devloop::start(&workspace);
    finished_ok(&mut devloop, 1);
    workspace.write("libs/.a.ts.swp", "two");
    std::fs::rename(
        workspace.path().join("libs/.a.ts.swp"),
        workspace.path().join("libs/a.ts"),
    )
    .unwrap();
    let change = devloop.wait_event("change", &[]);
    assert!(
        change["paths"]
            .as_array()
            .unwrap()
            .contains(&json!("libs/a.ts")),
        "{change}"
    );
    devloop.wait_event("build_started", &[("build", json!(2))]);
    finished_ok(&mut devloop, 2);
    sentinel_builds_next(&mut devloop, &workspace, 3);
}

#[test]
fn writes_in_excluded_places_never_build() {
    // The build writes into its output, which sits inside the watched path.
    let config = "[watch]\npaths = [\"libs\"]\ndebounce = \"200ms\"\n\n[build]\ncommand = \"mkdir -p libs/out && date +%N > libs/out/stamp\"\noutput = \"libs/out\"\n\n[promote]\ntarget = \"libs/dist\"\n";
    let workspace = Workspace::new(config);
    for dir in [
        "libs/node_modules/pkg",
        "libs/.git/objects",
        "libs/out",
        "libs/dist",
        "libs/.dist.stage-1",
    ] {
        std::fs::create_dir_all(workspace.path().join(dir)).unwrap();
    }
    let mut devloop = Devloop::start(&workspace);
    finished_ok(&mut devloop, 1);
    for file in [
        "libs/node_modules/pkg/index.js",
        "libs/.git/objects/x",
        "libs/out/extra.js",
        "libs/dist/a.js",
        "libs/.dist.stage-1/a.js",
    ] {
        workspace.write(file, "changed");
    }
    std::fs::create_dir_all(workspace.path().join("libs/node_modules/new-pkg/lib")).unwrap();
    workspace.write("libs/node_modules/new-pkg/lib/x.js", "x");
    sentinel_builds_next(&mut devloop, &workspace, 2);
    finished_ok(&mut devloop, 2);
}

#[test]
fn a_directory_created_after_start_is_watched() {
    let workspace = Workspace::new(&config_with_build("true"));
    let mut devloop = Devloop::start(&workspace);
    finished_ok(&mut devloop, 1);
    workspace.write("libs/new/deep/first.ts", "1");
    let change = devloop.wait_event("change", &[]);
    assert_eq!(change["paths"], json!(["libs/new/deep/first.ts"]));
    finished_ok(&mut devloop, 2);
    // Now the new directory has a watch of its own.
    workspace.write("libs/new/deep/second.ts", "2");
    let change = devloop.wait_event("change", &[]);
    assert_eq!(change["paths"], json!(["libs/new/deep/second.ts"]));
    finished_ok(&mut devloop, 3);
}

#[test]
fn a_save_without_edits_skips_the_build() {
    let workspace = Workspace::new(&config_with_build("true"));
    workspace.write("libs/a.ts", "same");
    let mut devloop = Devloop::start(&workspace);
    finished_ok(&mut devloop, 1);
    workspace.write("libs/a.ts", "same");
    devloop.wait_event("change", &[]);
    devloop.wait_event(
        "build_finished",
        &[("build", json!(2)), ("status", json!("skipped"))],
    );
    workspace.write("libs/a.ts", "different");
    devloop.wait_event("build_started", &[("build", json!(3))]);
    finished_ok(&mut devloop, 3);
    assert!(
        devloop.all("build_started").iter().all(|e| e["build"] != 2),
        "a skipped build must not start"
    );
}

#[test]
fn failing_and_timed_out_builds_are_reported() {
    let workspace = Workspace::new(&config_with_build("exit 3"));
    let mut devloop = Devloop::start(&workspace);
    let finished = devloop.wait_event("build_finished", &[("build", json!(1))]);
    assert_eq!(finished["status"], json!("failed"));
    assert_eq!(finished["exit_code"], json!(3));
    drop(devloop);

    let config =
        config_with_build("sleep 30").replace("[build]\n", "[build]\ntimeout = \"300ms\"\n");
    let workspace = Workspace::new(&config);
    let mut devloop = Devloop::start(&workspace);
    let finished = devloop.wait_event("build_finished", &[("build", json!(1))]);
    assert_eq!(finished["status"], json!("timeout"));
    assert_eq!(finished["exit_code"], Value::Null);
    assert!(devloop.stop().success());
}

#[test]
fn restart_cancels_the_whole_group_of_the_running_build() {
    let build = "mkdir -p pids; sleep 300 & echo $! >> pids/sleepers; sh -c 'sleep 300 & echo $! >> pids/sleepers; wait' & echo ready; wait";
    let config =
        config_with_build(build).replace("[build]\n", "[build]\non_change = \"restart\"\n");
    let workspace = Workspace::new(&config);
    let mut devloop = Devloop::start(&workspace);
    devloop.wait_event(
        "build_output",
        &[("build", json!(1)), ("line", json!("ready"))],
    );
    let sleepers = wait_for_pids(&workspace, 2);
    assert!(sleepers.iter().all(|&pid| alive(pid)));

    workspace.write("libs/a.ts", "edit");
    devloop.wait_event(
        "build_finished",
        &[("build", json!(1)), ("status", json!("cancelled"))],
    );
    for pid in &sleepers {
        assert!(
            !alive(*pid),
            "sleep {pid} of the cancelled build is still alive"
        );
    }
    devloop.wait_event(
        "build_started",
        &[("build", json!(2)), ("reason", json!("change"))],
    );
    devloop.wait_event(
        "build_output",
        &[("build", json!(2)), ("line", json!("ready"))],
    );
    let all = wait_for_pids(&workspace, 4);
    assert!(devloop.stop().success());
    assert_eq!(devloop.all("shutdown").len(), 1);
    for pid in all {
        assert!(!alive(pid), "sleep {pid} outlived devloop");
    }
}

fn wait_for_pids(workspace: &Workspace, count: usize) -> Vec<u32> {
    for _ in 0..500 {
        let pids: Vec<u32> = workspace
            .read("pids/sleepers")
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        if pids.len() >= count {
            return pids;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the build did not record {count} pids");
}

#[test]
fn stdin_builds_and_quits() {
    let workspace = Workspace::new(&config_with_build("true"));
    let mut devloop = Devloop::start(&workspace);
    finished_ok(&mut devloop, 1);
    devloop.send("b");
    devloop.wait_event(
        "build_started",
        &[("build", json!(2)), ("reason", json!("manual"))],
    );
    finished_ok(&mut devloop, 2);
    devloop.send("nonsense");
    devloop.wait_event("error", &[]);
    devloop.send("q");
    devloop.wait_event("shutdown", &[("reason", json!("quit"))]);
    assert!(devloop.wait_exit().success());
}

#[test]
fn sigint_cancels_the_build_and_exits_zero() {
    let workspace = Workspace::new(&config_with_build("echo started; sleep 300"));
    let mut devloop = Devloop::start(&workspace);
    devloop.wait_event("build_output", &[("line", json!("started"))]);
    devloop.signal(libc::SIGINT);
    devloop.wait_event(
        "build_finished",
        &[("build", json!(1)), ("status", json!("cancelled"))],
    );
    devloop.wait_event("shutdown", &[("reason", json!("SIGINT"))]);
    assert!(devloop.wait_exit().success());
}

#[test]
fn a_second_devloop_is_refused_and_a_dead_ones_lock_is_taken_over() {
    let workspace = Workspace::new(&config_with_build("true"));
    let mut first = Devloop::start(&workspace);
    first.wait_event("watching", &[]);
    let second = workspace.run(&["--headless"]);
    assert_eq!(second.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(
        stderr.contains(&format!("pid {}", first.pid())),
        "refusal does not name the first: {stderr}"
    );

    first.signal(libc::SIGKILL);
    first.wait_exit();
    let mut third = Devloop::start(&workspace);
    third.wait_event("watching", &[]);
    assert!(third.stop().success());
}

/// What tsc, nx and progress bars print to a terminal: clear-screens, cursor
/// moves, colours, titles, carriage returns.
const NOISY_BUILD: &str = r"printf '\033c\033[2J\033[H\033[96msrc/a.ts\033[0m:1:2 - \033[91merror\033[0m\n'; printf '\033]0;nx\007 10%%\r100%%\033[1A\033[2K\n'";

#[test]
fn children_escape_sequences_never_reach_headless_output() {
    let workspace = Workspace::new(&config_with_build(NOISY_BUILD));
    let mut devloop = Devloop::start(&workspace);
    finished_ok(&mut devloop, 1);
    let lines: Vec<String> = devloop
        .all("build_output")
        .iter()
        .map(|event| event["line"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(lines, ["src/a.ts:1:2 - error", "100%"], "--json lines");
    assert!(devloop.stop().success());

    // Lines, colour off (stdout is no terminal): the same text.
    let out = workspace.run(&["build", "--headless"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("build   | src/a.ts:1:2 - error"),
        "{stdout}"
    );
    assert!(stdout.contains("build   | 100%"), "{stdout}");
    assert!(
        !stdout.contains(|c: char| c.is_control() && c != '\n'),
        "escape sequences in: {stdout:?}"
    );
}
