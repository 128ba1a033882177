//! watch.toml edited while devloop runs: checked first (a bad edit is an
//! error with its place, and nothing changes), then applied: changed
//! processes restart (through the proxy without a refused connection), added
//! ones start, removed ones stop, the rest are untouched; `[watch]` walks
//! again, `[build]` applies from the next build and restarts a warm compiler.

use crate::common::{Devloop, Workspace, config_with_processes, free_port};
use crate::proxy::{Poller, SERVER, get};
use serde_json::{Value, json};

fn process(name: &str) -> (&'static str, Value) {
    ("process", json!(name))
}

/// A process that prints `says` and then waits.
fn idle(name: &str, says: &str) -> String {
    format!(
        "[process.{name}]\ncommand = \"node -e 'console.log(process.env.SAYS); setInterval(() => {{}}, 1000)'\"\nenv = {{ SAYS = \"{says}\" }}\n"
    )
}

/// Rewrites watch.toml and waits until devloop has read it.
fn edit(workspace: &Workspace, devloop: &mut Devloop, text: &str) -> Value {
    std::fs::write(workspace.config(), text).unwrap();
    devloop.wait_event("config_reloaded", &[])
}

fn started(workspace: &str) -> (Workspace, Devloop) {
    let workspace = Workspace::new(workspace);
    let mut devloop = Devloop::start(&workspace);
    // The build's end: watch.toml is watched by then.
    devloop.wait_event("build_finished", &[("build", json!(1))]);
    (workspace, devloop)
}

#[test]
fn changed_processes_restart_added_start_removed_stop_and_the_rest_run_on() {
    let before = [idle("api", "v1"), idle("web", "web"), idle("keep", "keep")].concat();
    let (workspace, mut devloop) = started(&config_with_processes("true", &before));
    for name in ["api", "web", "keep"] {
        devloop.seen_or_wait("process_ready", &[process(name)]);
    }
    let kept = devloop.of("process_started", "keep")[0]["pid"].clone();

    let after = [
        idle("api", "v2"),
        idle("keep", "keep"),
        idle("docs", "docs"),
    ]
    .concat();
    let reloaded = edit(
        &workspace,
        &mut devloop,
        &config_with_processes("true", &after),
    );
    assert_eq!(reloaded["sections"], json!([]), "{reloaded}");
    assert_eq!(reloaded["added"], json!(["docs"]), "{reloaded}");
    assert_eq!(reloaded["removed"], json!(["web"]), "{reloaded}");
    assert_eq!(reloaded["changed"], json!(["api"]), "{reloaded}");

    devloop.wait_event(
        "process_restarting",
        &[process("api"), ("reason", json!("config"))],
    );
    devloop.wait_event("process_output", &[process("api"), ("line", json!("v2"))]);
    devloop.seen_or_wait(
        "process_output",
        &[process("docs"), ("line", json!("docs"))],
    );
    devloop.seen_or_wait("process_stopped", &[process("web")]);

    let keep = devloop.of("process_started", "keep");
    assert_eq!(keep.len(), 1, "keep was started again: {keep:?}");
    assert_eq!(keep[0]["pid"], kept);
    assert!(devloop.of("process_exited", "keep").is_empty());
    devloop.stop();
}

#[test]
fn a_bad_edit_is_an_error_with_its_place_and_the_running_configuration_stays() {
    let (workspace, mut devloop) = started(&config_with_processes("true", &idle("api", "v1")));
    devloop.seen_or_wait("process_ready", &[process("api")]);

    let bad = config_with_processes("true", &idle("api", "v2").replace("env", "evn"));
    std::fs::write(workspace.config(), bad).unwrap();
    let error = devloop.wait_event("error", &[]);
    let message = error["message"].as_str().unwrap();
    let place = format!("{}:", workspace.config().display());
    assert!(message.starts_with(&place), "{message}");
    assert!(message.contains("evn"), "{message}");
    assert!(
        message.contains("the running configuration stays"),
        "{message}"
    );

    // The next good edit is judged against what runs: only the build changed.
    let good = config_with_processes("echo two", &idle("api", "v1"));
    let reloaded = edit(&workspace, &mut devloop, &good);
    assert_eq!(reloaded["sections"], json!(["build"]), "{reloaded}");
    assert_eq!(reloaded["changed"], json!([]), "{reloaded}");
    assert_eq!(devloop.of("process_started", "api").len(), 1);
    devloop.stop();
}

#[test]
fn a_proxied_process_changed_is_restarted_without_a_refused_connection() {
    let port = free_port();
    let server = |version: &str| {
        format!(
            "[process.web]\ncommand = \"node server.js\"\nport = {port}\nproxy = true\nenv = {{ VERSION = \"{version}\" }}\n"
        )
    };
    let (workspace, mut devloop) = {
        let workspace = Workspace::new(&config_with_processes("true", &server("1")));
        workspace.write("server.js", SERVER);
        let mut devloop = Devloop::start(&workspace);
        devloop.wait_event("build_finished", &[("build", json!(1))]);
        (workspace, devloop)
    };
    devloop.seen_or_wait("process_ready", &[process("web")]);
    let first = get(port).expect("the first instance serves");
    let poller = Poller::start(port);

    edit(
        &workspace,
        &mut devloop,
        &config_with_processes("true", &server("2")),
    );
    devloop.wait_event(
        "process_restarting",
        &[process("web"), ("reason", json!("config"))],
    );
    let ready = devloop.wait_event("process_ready", &[process("web")]);
    devloop.wait_event("process_exited", &[process("web")]);

    let (ok, failed) = poller.finish();
    assert!(ok > 5, "the poller ran: {ok} answered");
    assert_eq!(failed, [], "{ok} answered; failures through the proxy");
    let now = get(port).expect("the new instance serves");
    assert_ne!(now, first);
    assert_eq!(json!(now.parse::<u64>().unwrap()), ready["pid"]);
    devloop.stop();
}

#[test]
fn a_changed_watch_walks_again_and_builds_on_the_new_path() {
    let config =
        |paths: &str| format!("[watch]\npaths = [{paths}]\n\n[build]\ncommand = \"echo built\"\n");
    let (workspace, mut devloop) = started(&config("\"libs\""));
    workspace.write("more/keep.txt", "");
    let reloaded = edit(&workspace, &mut devloop, &config("\"libs\", \"more\""));
    assert_eq!(reloaded["sections"], json!(["watch"]), "{reloaded}");
    let watching = devloop.all("watching");
    assert_eq!(watching.len(), 2, "walked again");
    assert_eq!(watching[1]["paths"], json!(["libs", "more"]));

    workspace.write("more/a.ts", "export const a = 1;");
    let change = devloop.wait_event("change", &[]);
    assert_eq!(change["paths"], json!(["more/a.ts"]), "{change}");
    devloop.wait_event("build_started", &[("reason", json!("change"))]);
    devloop.stop();
}

#[test]
fn a_changed_build_applies_from_the_next_build() {
    let (workspace, mut devloop) = started(&config_with_processes("echo one", ""));
    let reloaded = edit(
        &workspace,
        &mut devloop,
        &config_with_processes("echo two", ""),
    );
    assert_eq!(reloaded["sections"], json!(["build"]), "{reloaded}");
    assert_eq!(
        devloop.all("build_started").len(),
        1,
        "no build for the edit itself"
    );

    workspace.write("libs/a.ts", "export const a = 1;");
    devloop.wait_event("build_started", &[("reason", json!("change"))]);
    devloop.wait_event("build_output", &[("line", json!("two"))]);
    devloop.stop();
}

#[test]
fn a_changed_warm_build_starts_its_compiler_again() {
    let warm = |version: &str| {
        format!(
            "[watch]\npaths = [\"libs\"]\n\n[build]\ncommand = \"echo {version} done; exec sleep 600\"\npersistent = true\ndone = 'done'\n"
        )
    };
    let workspace = Workspace::new(&warm("v1"));
    let mut devloop = Devloop::start(&workspace);
    devloop.wait_event("build_output", &[("line", json!("v1 done"))]);
    devloop.wait_event("build_finished", &[("status", json!("ok"))]);
    let old = crate::common::run_processes(devloop.pid());
    assert!(!old.is_empty(), "the compiler runs");

    let reloaded = edit(&workspace, &mut devloop, &warm("v2"));
    assert_eq!(reloaded["sections"], json!(["build"]), "{reloaded}");
    devloop.wait_event("build_output", &[("line", json!("v2 done"))]);
    devloop.wait_event("build_finished", &[("status", json!("ok"))]);
    let gone = old.iter().filter(|pid| crate::common::alive(**pid)).count();
    assert_eq!(gone, 0, "the old compiler {old:?} is gone");
    devloop.stop();
}

#[test]
fn what_is_fixed_for_a_run_waits_for_the_next_start_and_says_so() {
    let base = config_with_processes("true", "");
    let (workspace, mut devloop) = started(&base);
    let reloaded = edit(
        &workspace,
        &mut devloop,
        &format!("{base}\n[ui]\nscrollback = 50\n"),
    );
    assert_eq!(reloaded["sections"], json!(["ui"]), "{reloaded}");
    let notice = devloop.seen_or_wait("notice", &[]);
    let message = notice["message"].as_str().unwrap();
    assert!(
        message.contains("[ui]") && message.contains("starts again"),
        "{message}"
    );
    devloop.stop();
}
