//! Restarts, end to end: the crash-loop backoff and `failed`, revival and
//! `on_promote` after a promotion, and the `r`/`s` commands on stdin.

use crate::common::{Devloop, Workspace, config_with_processes};
use serde_json::{Value, json};
use std::time::Duration;

fn process(name: &str) -> (&'static str, Value) {
    ("process", json!(name))
}

#[test]
fn a_crash_loop_backs_off_fails_stays_down_and_is_revived_by_a_promotion() {
    // Both the build and the process fail until libs/fixed exists.
    let workspace = Workspace::new(&config_with_processes(
        "test -f libs/fixed",
        "[process.crash]\ncommand = '''test -f libs/fixed && exec sleep 1000; echo crashing; exit 3'''\n",
    ));
    let mut devloop = Devloop::start(&workspace);
    let failed = devloop.wait_event("process_failed", &[process("crash")]);
    assert!(
        failed["reason"].as_str().unwrap().contains("3 restarts"),
        "{failed}"
    );
    let delays: Vec<Value> = devloop
        .of("process_restarting", "crash")
        .iter()
        .map(|e| {
            assert_eq!(e["reason"], "exited", "{e}");
            e["in_ms"].clone()
        })
        .collect();
    assert_eq!(delays, [json!(500), json!(1000), json!(2000)]);
    let exits = devloop.of("process_exited", "crash");
    assert_eq!(exits.len(), 4, "one start and three restarts: {exits:?}");
    assert!(exits.iter().all(|e| e["code"] == 3), "{exits:?}");

    // Stays down: longer than the next delay would have been (4 s), and a
    // failed build is no promotion.
    let failed_at = devloop.seen.len();
    std::thread::sleep(Duration::from_millis(4500));
    devloop.send("b");
    devloop.wait_event(
        "build_finished",
        &[("build", json!(2)), ("status", json!("failed"))],
    );
    let since: Vec<&Value> = devloop.seen[failed_at..]
        .iter()
        .filter(|e| e["process"] == "crash")
        .collect();
    assert!(since.is_empty(), "a failed process moved: {since:?}");

    // The fix arrives: the build passes, and the promotion revives it.
    workspace.write("libs/fixed", "yes");
    devloop.wait_event("build_finished", &[("status", json!("ok"))]);
    devloop.wait_event(
        "process_restarting",
        &[process("crash"), ("reason", json!("promoted"))],
    );
    let started = devloop.wait_event("process_started", &[process("crash")]);
    assert_eq!(started["restarts"], 4);
    assert!(devloop.stop().success());
    let last_exit = devloop.of("process_exited", "crash").pop().unwrap();
    assert_eq!(last_exit["signal"], "SIGTERM", "it ran until shutdown");
}

#[test]
fn on_promote_restarts_or_signals_running_processes() {
    let workspace = Workspace::new(&config_with_processes(
        "true",
        "[process.app]\ncommand = \"sleep 1000\"\nafter = [\"build\"]\non_promote = \"restart\"\n\n\
         [process.sig]\ncommand = '''trap 'echo got-hup' HUP; echo trap-set; while :; do sleep 0.1; done'''\n\
         after = [\"build\"]\non_promote = \"signal:SIGHUP\"\n",
    ));
    let mut devloop = Devloop::start(&workspace);
    let first = devloop.wait_event("process_started", &[process("app")]);
    assert_eq!(first["restarts"], 0, "the first promotion starts it, once");
    devloop.seen_or_wait(
        "process_output",
        &[process("sig"), ("line", json!("trap-set"))],
    );
    workspace.write("libs/a.ts", "export const a = 2;");
    devloop.wait_event("build_finished", &[("build", json!(2))]);
    devloop.wait_event(
        "process_restarting",
        &[process("app"), ("reason", json!("promoted"))],
    );
    let again = devloop.wait_event("process_started", &[process("app")]);
    assert_eq!(again["restarts"], 1);
    assert_ne!(again["pid"], first["pid"]);
    devloop.seen_or_wait(
        "process_output",
        &[process("sig"), ("line", json!("got-hup"))],
    );
    assert_eq!(
        devloop.of("process_started", "sig").len(),
        1,
        "signalled, not restarted"
    );
    assert!(devloop.stop().success());
}

/// A warm lib recompiled because its dependency changed writes what was
/// already in place: that promotion tells no process, so an app restarted
/// on promotion serves each edit once.
#[test]
fn a_promotion_identical_to_the_generation_in_place_restarts_nothing() {
    let config = config_with_processes(
        "mkdir -p tmp/out && cp libs/v tmp/out/v",
        "[promote]\ntarget = \"dist/libs\"\n\n\
         [process.app]\ncommand = \"sleep 1000\"\nafter = [\"build\"]\non_promote = \"restart\"\n",
    );
    let workspace = Workspace::new(&config);
    workspace.write("libs/v", "1");
    let mut devloop = Devloop::start(&workspace);
    let first = devloop.wait_event("promoted", &[("generation", json!(1))]);
    assert_eq!(
        first["changed"], 1,
        "the first generation is all new: {first}"
    );
    devloop.wait_event("process_started", &[process("app")]);

    workspace.write("libs/notes.md", "not copied by the build");
    let same = devloop.wait_event("promoted", &[("generation", json!(2))]);
    assert_eq!(same["changed"], 0, "{same}");
    workspace.write("libs/v", "2");
    let new = devloop.wait_event("promoted", &[("generation", json!(3))]);
    assert_eq!(new["changed"], 1, "{new}");
    devloop.wait_event("process_restarting", &[process("app")]);
    assert!(devloop.stop().success());
    let restarts = devloop.of("process_restarting", "app");
    assert_eq!(
        restarts.len(),
        1,
        "restarted for generation 3 only: {restarts:?}"
    );
}

#[test]
fn stdin_r_restarts_and_s_stops_and_starts() {
    let workspace = Workspace::new(&config_with_processes(
        "true",
        "[process.web]\ncommand = \"sleep 1000\"\n",
    ));
    let mut devloop = Devloop::start(&workspace);
    let first = devloop.wait_event("process_started", &[process("web")]);
    devloop.send("r web");
    devloop.wait_event(
        "process_restarting",
        &[
            process("web"),
            ("reason", json!("manual")),
            ("in_ms", json!(0)),
        ],
    );
    let exited = devloop.wait_event("process_exited", &[process("web")]);
    assert_eq!(exited["pid"], first["pid"]);
    let second = devloop.wait_event("process_started", &[process("web")]);
    assert_eq!(second["restarts"], 1);

    devloop.send("s web");
    devloop.wait_event("process_exited", &[process("web")]);
    devloop.wait_event("process_stopped", &[process("web")]);
    // Stopped by hand stays stopped until asked; a barrier shows time passed.
    devloop.send("b");
    devloop.wait_event("build_finished", &[("build", json!(2))]);
    assert_eq!(devloop.of("process_started", "web").len(), 2);

    devloop.send("s web");
    let third = devloop.wait_event("process_started", &[process("web")]);
    assert_eq!(third["restarts"], 2);
    devloop.send("r nope");
    let error = devloop.wait_event("error", &[]);
    assert!(
        error["message"].as_str().unwrap().contains("`nope`"),
        "{error}"
    );
    devloop.send("q");
    assert!(devloop.wait_exit().success());
    let shutdown = devloop.all("shutdown");
    assert_eq!(shutdown.len(), 1);
    assert_eq!(shutdown[0]["reason"], "quit");
}
