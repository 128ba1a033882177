//! Health and ports, end to end: http and tcp probes gate `process_ready`,
//! `after` waits for readiness, failing probes restart a process, and a port
//! held by another program blocks the start until it is free.

use crate::common::{Devloop, Workspace, config_with_processes, free_port};
use serde_json::{Value, json};

fn process(name: &str) -> (&'static str, Value) {
    ("process", json!(name))
}

/// An HTTP server on $PORT answering 200, then 500 after $FAIL_AFTER requests.
const HTTP_SERVER: &str = r#"
const limit = Number(process.env.FAIL_AFTER || Infinity);
let served = 0;
require("http")
  .createServer((req, res) => {
    served += 1;
    res.statusCode = served > limit ? 500 : 200;
    res.end("ok");
  })
  .listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening"));
"#;

#[test]
fn http_and_tcp_health_gate_ready_and_after_and_a_failing_probe_restarts() {
    let (web, tcp, sick) = (free_port(), free_port(), free_port());
    let processes = format!(
        r#"
[process.web]
command = "node server.js"
env = {{ PORT = "{web}" }}
port = {web}
health = {{ http = "http://127.0.0.1:{web}/health", interval = "200ms" }}

[process.tcp]
command = '''node -e 'require("net").createServer().listen({tcp}, "127.0.0.1")' '''
after = ["web"]
health = {{ tcp = {tcp}, interval = "200ms" }}

[process.sick]
command = "node server.js"
env = {{ PORT = "{sick}", FAIL_AFTER = "2" }}
health = {{ http = "http://localhost:{sick}/", interval = "200ms", retries = 2 }}
"#
    );
    let workspace = Workspace::new(&config_with_processes("true", &processes));
    workspace.write("server.js", HTTP_SERVER);
    let mut devloop = Devloop::start(&workspace);

    devloop.seen_or_wait("process_ready", &[process("web")]);
    devloop.seen_or_wait("process_ready", &[process("tcp")]);
    let web_ready = devloop.position(|e| e["event"] == "process_ready" && e["process"] == "web");
    let tcp_started =
        devloop.position(|e| e["event"] == "process_started" && e["process"] == "tcp");
    assert!(tcp_started > web_ready, "tcp waited for web to be ready");
    let web = devloop.of("process_ready", "web");
    assert!(web[0]["ms"].as_u64().unwrap() > 0, "ready once it answers");

    // sick answers twice, then fails twice in a row: restarted. (It may
    // have got there while web was still starting: look at all events.)
    devloop.seen_or_wait(
        "process_started",
        &[process("sick"), ("restarts", json!(1))],
    );
    let sick = |event: &str| devloop.position(|e| e["event"] == event && e["process"] == "sick");
    let (ready, restarting, exited) = (
        sick("process_ready"),
        sick("process_restarting"),
        sick("process_exited"),
    );
    assert!(ready.is_some() && ready < restarting && restarting < exited);
    let restarting = &devloop.of("process_restarting", "sick")[0];
    assert_eq!(restarting["reason"], "unhealthy", "{restarting}");
    assert_eq!(restarting["in_ms"], 500);
    let restarted = devloop
        .position(|e| {
            e["event"] == "process_started" && e["restarts"] == 1 && e["process"] == "sick"
        })
        .unwrap_or(0);
    let ready_again = devloop.seen[restarted..]
        .iter()
        .any(|e| e["event"] == "process_ready" && e["process"] == "sick");
    if !ready_again {
        devloop.wait_event("process_ready", &[process("sick")]);
    }

    assert!(devloop.stop().success());
    let stopped =
        |name: &str| devloop.position(|e| e["event"] == "process_stopped" && e["process"] == name);
    assert!(stopped("tcp") < stopped("web"), "dependents stop first");
    assert!(stopped("tcp").is_some());
}

#[test]
fn a_port_held_by_another_program_blocks_until_it_is_free() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let processes = format!("[process.api]\ncommand = \"sleep 1000\"\nport = {port}\n");
    let workspace = Workspace::new(&config_with_processes("true", &processes));
    let mut devloop = Devloop::start(&workspace);
    let blocked = devloop.wait_event("process_blocked", &[process("api")]);
    let reason = blocked["reason"].as_str().unwrap();
    let me = std::process::id().to_string();
    assert!(reason.contains(&format!("pid {me}")), "{reason}");
    assert!(reason.contains(&port.to_string()), "{reason}");
    // A barrier: a whole build runs while it is blocked, and it stays so.
    devloop.send("b");
    devloop.wait_event("build_finished", &[("build", json!(2))]);
    assert!(devloop.of("process_started", "api").is_empty());

    drop(listener);
    devloop.wait_event("process_started", &[process("api")]);
    assert_eq!(
        devloop.of("process_blocked", "api").len(),
        1,
        "one report, no storm"
    );
    assert!(devloop.stop().success());
}
