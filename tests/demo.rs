//! The demo workspace in assets/demo, run as a newcomer would: devloop builds,
//! promotes, starts both servers, and an edit under libs changes what they
//! answer. Skipped (with a message) where node is not installed.

mod common;

use common::{Devloop, Workspace, free_port};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name();
        // Left over from running the demo by hand.
        if ["dist", "tmp", ".devloop"].contains(&name.to_string_lossy().as_ref()) {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

fn get(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(stream, "GET / HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn the_demo_builds_serves_and_answers_an_edit() {
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: node is not installed (the demo's build and servers are node scripts)");
        return;
    }
    let workspace = Workspace::new("");
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo"),
        workspace.path(),
    );
    let (web, api) = (free_port(), free_port());
    let config = common::demo_config_on(&workspace.read("watch.toml"), web, api);
    workspace.write("watch.toml", &config);

    let mut devloop = Devloop::start(&workspace);
    devloop.wait_event("promoted", &[("build", json!(1))]);
    devloop.wait_event("process_ready", &[("process", json!("web"))]);
    devloop.seen_or_wait("process_ready", &[("process", json!("api"))]);
    assert!(
        get(web).contains("Hello, web! The answer is 42."),
        "{}",
        get(web)
    );
    assert!(
        get(api).contains(r#"{"greeting":"Hello, api!","answer":42}"#),
        "{}",
        get(api)
    );

    let source = workspace.read("libs/numbers/index.js").replace("42", "43");
    workspace.write("libs/numbers/index.js", &source);
    devloop.wait_event("promoted", &[("build", json!(2))]);
    devloop.wait_event(
        "process_restarting",
        &[("process", json!("api")), ("reason", json!("promoted"))],
    );
    devloop.wait_event("process_ready", &[("process", json!("api"))]);
    assert!(
        get(web).contains("The answer is 43."),
        "web did not see the new build: {}",
        get(web)
    );
    assert!(
        get(api).contains(r#""answer":43"#),
        "api did not restart on the new build: {}",
        get(api)
    );
    assert!(devloop.stop().success());
    assert!(
        devloop
            .all("process_output")
            .iter()
            .all(|e| !e["line"].as_str().unwrap_or("").contains("cannot load"))
    );
}
