//! A start that never becomes ready is a failure: it is restarted with
//! backoff after `start_timeout`, ends in `failed` with the reason, and what
//! waits for it in `after` is not left waiting in silence.

use crate::common::{Devloop, Workspace, config_with_processes};
use serde_json::{Value, json};

fn process(name: &str) -> (&'static str, Value) {
    ("process", json!(name))
}

#[test]
fn a_server_never_ready_is_restarted_and_ends_failed() {
    let processes = r#"
[process.stuck]
command = "sleep 1000"
start_timeout = "300ms"
health = { exec = "false", interval = "100ms" }

[process.web]
command = "sleep 1000"
after = ["stuck"]
"#;
    let workspace = Workspace::new(&config_with_processes("true", processes));
    let mut devloop = Devloop::start(&workspace);
    let failed = devloop.wait_event("process_failed", &[process("stuck")]);
    let reason = failed["reason"].as_str().unwrap();
    assert!(
        reason.contains("was not ready within start_timeout (300ms)"),
        "{failed}"
    );
    let restarts = devloop.of("process_restarting", "stuck");
    let delays: Vec<&Value> = restarts.iter().map(|e| &e["in_ms"]).collect();
    assert_eq!(delays, [&json!(500), &json!(1000), &json!(2000)]);
    assert!(
        restarts.iter().all(|e| e["reason"] == "unhealthy"),
        "{restarts:?}"
    );
    assert!(devloop.of("process_ready", "stuck").is_empty());
    assert!(devloop.of("process_started", "web").is_empty());
    assert!(devloop.stop().success());
}
