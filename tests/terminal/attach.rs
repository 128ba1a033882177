//! `devloop attach --json` and `devloop status` against a real devloop, and
//! viewers that misbehave: read-only commands, garbage, disconnects.

use crate::common::{Devloop, Workspace, config_with_build};
use devloop::share::frame::Reader;
use devloop::share::protocol::Message;
use serde_json::{Value, json};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::process::Command;

fn devloop(workspace: &Workspace, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_devloop"));
    command.args(args).arg("-c").arg(workspace.config());
    command
}

fn socket(workspace: &Workspace) -> std::path::PathBuf {
    workspace.path().join(".devloop/attach.sock")
}

/// A raw viewer: says `first`, then reads frames.
struct Raw {
    frames: Reader<UnixStream>,
    stream: UnixStream,
}

impl Raw {
    fn connect(workspace: &Workspace, first: &str) -> Raw {
        let mut stream = UnixStream::connect(socket(workspace)).expect("connect");
        stream.write_all(first.as_bytes()).unwrap();
        let frames = Reader::new(stream.try_clone().unwrap());
        Raw { frames, stream }
    }

    /// The next message as JSON: an event as `--json` prints it, or a line
    /// of the protocol's own; Null for a frame that reads as neither. None
    /// at the end.
    fn next(&mut self) -> Option<Value> {
        let message = self.frames.read().ok()?;
        if let Message::Hello(hello) = &message {
            self.frames.set_processes(&hello.processes);
        }
        let text = match (self.frames.last_json(), &message) {
            (Some(text), _) => text.to_owned(),
            (None, Message::Event(event)) => event.to_json(),
            _ => return Some(Value::Null),
        };
        Some(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The next message that `matches`.
    fn wait(&mut self, matches: impl Fn(&Value) -> bool) -> Value {
        loop {
            let value = self.next().expect("closed");
            if matches(&value) {
                return value;
            }
        }
    }
}

#[test]
fn attach_and_status_with_nothing_running_say_so() {
    let workspace = Workspace::new(&config_with_build("true"));
    let out = devloop(&workspace, &["attach"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no devloop is running in"), "{stderr}");
    let out = devloop(&workspace, &["status"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn attach_json_begins_with_the_history_then_streams_live() {
    let processes = "[process.web]\ncommand = \"echo web-up; sleep 600\"\n";
    let workspace = Workspace::new(&format!(
        "{}\n{processes}",
        config_with_build("echo compiled; mkdir -p tmp/out")
    ));
    let mut host = Devloop::start(&workspace);
    host.wait_event("build_finished", &[("build", json!(1))]);
    for build in 2..=5 {
        host.send("b");
        host.wait_event("build_finished", &[("build", json!(build))]);
    }
    host.seen_or_wait("process_output", &[("line", json!("web-up"))]);

    let mut viewer = Devloop::spawn(devloop(&workspace, &["attach", "--json"]), &workspace);
    viewer.wait_event("build_finished", &[("build", json!(5))]);
    let started: Vec<&Value> = viewer.all("build_started");
    let numbers: Vec<u64> = started
        .iter()
        .map(|e| e["build"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, vec![1, 2, 3, 4, 5], "the history, in order");
    assert!(
        viewer.seen.iter().all(|e| e["ts"].is_string()),
        "only events"
    );
    for line in ["web-up", "compiled"] {
        let seen = viewer.position(|e| e["line"] == line).expect(line);
        let host_saw = host.position(|e| e["line"] == line).unwrap();
        assert_eq!(
            viewer.seen[seen], host.seen[host_saw],
            "attach --json prints what --json does"
        );
    }

    host.send("b");
    viewer.wait_event(
        "build_started",
        &[("build", json!(6)), ("reason", json!("manual"))],
    );
    viewer.wait_event("build_finished", &[("build", json!(6))]);

    let out = devloop(&workspace, &["status", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["build"]["number"], 6);
    assert_eq!(status["build"]["state"], "ok");
    assert_eq!(status["processes"][0]["name"], "web");
    assert_eq!(status["processes"][0]["state"], "ready");
    assert!(status["processes"][0]["pid"].is_u64());
    assert_eq!(status["viewers"], 1, "the attach --json viewer");

    host.stop();
    viewer.wait_event("shutdown", &[]);
    assert!(viewer.wait_exit().success());
    assert!(
        !socket(&workspace).exists(),
        "the socket is removed on exit"
    );
}

#[test]
fn viewers_that_misbehave_change_nothing_and_only_control_acts() {
    let workspace = Workspace::new(&config_with_build("mkdir -p tmp/out"));
    let mut host = Devloop::start(&workspace);
    host.wait_event("build_finished", &[("build", json!(1))]);
    let mode = std::fs::metadata(socket(&workspace)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.permissions().mode() & 0o777, 0o600);

    let mut watcher = Raw::connect(&workspace, "view\n");
    watcher.wait(|v| v["attach"] == "live");

    // Garbage before and instead of a hello, and a line far too long.
    for junk in [
        &b"\xff\xfe\x00garbage\n"[..],
        &[b'x'; 20_000][..],
        b"control\n\xff\n",
    ] {
        let mut stream = UnixStream::connect(socket(&workspace)).unwrap();
        let _ = stream.write_all(junk);
        drop(stream);
    }
    // A read-only viewer asking to build and to quit: both ignored.
    let mut read_only = Raw::connect(&workspace, "view\n");
    read_only.wait(|v| v["attach"] == "live");
    read_only.stream.write_all(b"b\nq\n").unwrap();
    drop(read_only);
    // Its lines were read before it counted as gone.
    watcher.wait(|v| v["attach"] == "viewers" && v["count"] == 1);

    let mut control = Raw::connect(&workspace, "control\n");
    control.wait(|v| v["attach"] == "live");
    control.stream.write_all(b"b\n").unwrap();
    let started = host.wait_event("build_started", &[("reason", json!("manual"))]);
    assert_eq!(started["build"], 2, "the read-only viewer built nothing");
    host.wait_event("build_finished", &[("build", json!(2))]);
    assert!(
        host.all("shutdown").is_empty(),
        "the read-only q was ignored"
    );
    assert!(host.all("error").is_empty(), "garbage is not even reported");

    control.stream.write_all(b"q\n").unwrap();
    host.wait_event(
        "shutdown",
        &[("reason", json!("quit from an attached viewer"))],
    );
    assert!(host.wait_exit().success());
}

/// A host with a viewer that stops reading once live, then a build that
/// prints `lines` flood lines, finished.
fn a_flood_behind_a_viewer(lines: usize) -> (Workspace, Devloop, Raw) {
    let build = format!("mkdir -p tmp/out; if [ -f go ]; then seq -f '{FLOOD_LINE}' 1 {lines}; fi");
    let workspace = Workspace::new(&config_with_build(&build));
    let mut host = Devloop::start(&workspace);
    host.wait_event("build_finished", &[("build", json!(1))]);
    let mut viewer = Raw::connect(&workspace, "view\n");
    viewer.wait(|v| v["attach"] == "live");
    workspace.write("go", "");
    host.send("b");
    host.wait_event("build_finished", &[("build", json!(2))]);
    (workspace, host, viewer)
}

const FLOOD_LINE: &str = "flood line %g: the quick brown fox jumps over the lazy dog";

#[test]
fn a_viewer_behind_when_the_host_quits_still_gets_everything_and_the_shutdown_last() {
    // More than a socket holds (so the host's writer is waiting on the
    // viewer when it quits), less than a viewer's queue.
    let (_workspace, mut host, mut late) = a_flood_behind_a_viewer(30_000);
    host.send("q");
    let mut lines = 0;
    let mut last = Value::Null;
    while let Some(value) = late.next() {
        if value["line"] == FLOOD_LINE.replace("%g", "30000") {
            lines += 1;
        }
        last = value;
    }
    assert_eq!(lines, 1, "the flood's last line came");
    assert_eq!(
        last["event"], "shutdown",
        "the stream ends with the shutdown"
    );
    assert!(host.wait_exit().success());
}

#[test]
fn a_viewer_too_far_behind_is_dropped_on_a_whole_frame_and_may_attach_again() {
    // More than a viewer's queue (4 MiB) and its socket hold.
    let (workspace, mut host, mut slow) = a_flood_behind_a_viewer(100_000);
    let mut read = Vec::new();
    while let Some(value) = slow.next() {
        read.push(value);
    }
    assert_eq!(
        read.last(),
        Some(&json!({"attach": "dropped"})),
        "the last frame says why"
    );
    assert!(read.iter().all(|v| !v.is_null()), "every frame came whole");
    let lines = read.iter().filter(|v| v["event"] == "build_output").count();
    assert!(lines < 100_000, "it was dropped before the end: {lines}");

    // The host goes on, and takes the viewer back (for a build without a
    // flood: this reader would fall behind another).
    std::fs::remove_file(workspace.path().join("go")).unwrap();
    let mut again = Raw::connect(&workspace, "view\n");
    again.wait(|v| v["attach"] == "live");
    host.send("b");
    again.wait(|v| v["event"] == "build_finished" && v["build"] == 3);
    host.stop();
}

#[test]
fn a_socket_left_by_a_killed_devloop_is_taken_over_by_the_next() {
    let workspace = Workspace::new(&config_with_build("mkdir -p tmp/out"));
    let mut first = Devloop::start(&workspace);
    first.wait_event("build_finished", &[("build", json!(1))]);
    unsafe { libc::kill(first.pid() as i32, libc::SIGKILL) };
    first.wait_exit();
    assert!(socket(&workspace).exists(), "SIGKILL left the socket");
    let out = devloop(&workspace, &["attach"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "nothing answers on it");

    let mut second = Devloop::start(&workspace);
    second.wait_event("build_finished", &[("build", json!(1))]);
    let mut viewer = Raw::connect(&workspace, "view\n");
    let hello = viewer.wait(|v| v["attach"] == "hello");
    let host = hello["host"].as_str().unwrap();
    assert!(
        host.ends_with(&format!("pid {}", second.pid())),
        "the new devloop answers: {host}"
    );
    second.stop();
}
