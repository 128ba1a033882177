//! `proxy = true`, end to end with a real node HTTP server: restarts by
//! promotion refuse no connection (and without the proxy they do), a crash
//! restart makes requests wait instead of fail, a new instance that cannot
//! start leaves the old one serving, and stopping devloop closes the port.

use crate::common::{Devloop, Workspace, config_with_processes, free_port};
use serde_json::{Value, json};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

fn process(name: &str) -> (&'static str, Value) {
    ("process", json!(name))
}

/// Answers its pid; stops gracefully on SIGTERM, as servers do, so requests
/// in flight finish. Exits at once when libs/broken exists (a bad build).
pub(crate) const SERVER: &str = r#"
if (require("fs").existsSync("libs/broken")) { console.error("cannot load libs"); process.exit(1); }
console.log(`slot ${process.env.DEVLOOP_INSTANCE}`);
const server = require("http")
  .createServer((req, res) => res.end(String(process.pid)))
  .listen(Number(process.env.PORT), "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
"#;

fn workspace(port: u16, proxy: bool) -> Workspace {
    let env = match proxy {
        true => String::new(),
        false => format!("env = {{ PORT = \"{port}\" }}\n"),
    };
    let processes = format!(
        "[process.web]\ncommand = \"node server.js\"\nafter = [\"build\"]\nport = {port}\nproxy = {proxy}\n\
         on_promote = \"restart\"\n{env}"
    );
    let workspace = Workspace::new(&config_with_processes("true", &processes));
    workspace.write("server.js", SERVER);
    workspace
}

/// One request on a new connection: the body, or how it failed.
pub(crate) fn get(port: u16) -> Result<String, Outcome> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| match e.kind() {
        ErrorKind::ConnectionRefused => Outcome::Refused,
        _ => Outcome::Failed(e.to_string()),
    })?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let sent = stream.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    let read = sent.and_then(|_| stream.read_to_string(&mut answer));
    match read {
        Err(e) if e.kind() == ErrorKind::ConnectionReset => Err(Outcome::Reset),
        Err(e) => Err(Outcome::Failed(e.to_string())),
        Ok(_) if answer.starts_with("HTTP/1.1 200") => {
            Ok(answer.rsplit("\r\n").next().unwrap_or("").to_string())
        }
        Ok(_) => Err(Outcome::Failed(format!("answer {answer:?}"))),
    }
}

#[derive(Debug, PartialEq)]
pub(crate) enum Outcome {
    Refused,
    Reset,
    Failed(String),
}

/// A new connection every 20 ms until stopped; the failures it met.
pub(crate) struct Poller {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<(usize, Vec<Outcome>)>,
}

impl Poller {
    pub(crate) fn start(port: u16) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let (mut ok, mut failed) = (0, Vec::new());
            while !flag.load(Ordering::Relaxed) {
                match get(port) {
                    Ok(_) => ok += 1,
                    Err(outcome) => failed.push(outcome),
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            (ok, failed)
        });
        Poller { stop, thread }
    }

    pub(crate) fn finish(self) -> (usize, Vec<Outcome>) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

/// Ten promotions with `on_promote = "restart"` under a poller; each waits
/// for the old instance to be gone. Returns what the poller met.
fn ten_restarts(proxy: bool) -> (usize, Vec<Outcome>, Devloop) {
    let port = free_port();
    let workspace = workspace(port, proxy);
    let mut devloop = Devloop::start(&workspace);
    devloop.wait_event("process_ready", &[process("web")]);
    let poller = Poller::start(port);
    for edit in 1..=10 {
        let started = devloop.seen.len();
        workspace.write("libs/a.ts", &format!("export const a = {edit};"));
        devloop.wait_event(
            "process_restarting",
            &[process("web"), ("reason", json!("promoted"))],
        );
        let ready = devloop.wait_event("process_ready", &[process("web")]);
        let exited = |e: &Value| e["event"] == "process_exited" && e["process"] == "web";
        if !devloop.seen[started..].iter().any(exited) {
            devloop.wait_for("the old instance's exit", exited);
        }
        if proxy {
            // It serves before the old one goes.
            assert!(ready["port"].is_u64() && ready["pid"].is_u64(), "{ready}");
        } else {
            // Give the restarted server the moment it takes to listen.
            let _ = crate::common::wait_until(Duration::from_secs(10), || get(port).is_ok());
        }
    }
    let (ok, failed) = poller.finish();
    (ok, failed, devloop)
}

#[test]
fn restarts_through_the_proxy_refuse_nothing_and_without_it_they_do() {
    let (ok, failed, mut devloop) = ten_restarts(true);
    assert!(ok > 20, "the poller ran: {ok} answered");
    assert_eq!(failed, [], "{ok} answered; failures through the proxy");
    eprintln!("through the proxy: {ok} answered, none failed");
    let starts = devloop.of("process_started", "web");
    assert_eq!(starts.len(), 11, "one start and ten restarts");
    assert!(starts.iter().all(|s| s["port"].is_u64()), "{starts:?}");
    let slots: Vec<String> = devloop
        .of("process_output", "web")
        .iter()
        .filter_map(|e| e["line"].as_str()?.strip_prefix("slot ").map(String::from))
        .collect();
    let alternating: Vec<String> = (0..11).map(|n| (n % 2).to_string()).collect();
    assert_eq!(
        slots, alternating,
        "DEVLOOP_INSTANCE differs between two at once"
    );
    assert!(devloop.stop().success());

    let (ok, failed, mut devloop) = ten_restarts(false);
    let refused = failed.iter().filter(|f| **f == Outcome::Refused).count();
    assert!(
        refused > 0,
        "{ok} answered, {failed:?}: no refusals to replace"
    );
    let other = failed.len() - refused;
    eprintln!("without the proxy: {ok} answered, {refused} refused, {other} other failures");
    assert!(devloop.stop().success());
}

#[test]
fn requests_during_a_crash_restart_wait_and_the_port_closes_with_devloop() {
    let port = free_port();
    let workspace = workspace(port, true);
    let mut devloop = Devloop::start(&workspace);
    let ready = devloop.wait_event("process_ready", &[process("web")]);
    let old = ready["pid"].as_u64().unwrap() as u32;
    assert_eq!(get(port).unwrap(), old.to_string());

    unsafe { libc::kill(old as i32, libc::SIGKILL) };
    devloop.wait_event("process_exited", &[process("web"), ("pid", json!(old))]);
    // Sent while the restart waits out its backoff: no instance serves.
    let waiting: Vec<_> = (0..5)
        .map(|_| std::thread::spawn(move || get(port)))
        .collect();
    devloop.wait_event(
        "process_restarting",
        &[process("web"), ("reason", json!("exited"))],
    );
    let ready = devloop.wait_event("process_ready", &[process("web")]);
    let new = ready["pid"].as_u64().unwrap().to_string();
    for request in waiting {
        assert_eq!(request.join().unwrap(), Ok(new.clone()));
    }

    // `r` by hand hands over too: the old instance serves until the new one does.
    devloop.send("r web");
    let ready = devloop.wait_event("process_ready", &[process("web")]);
    let by_hand = ready["pid"].as_u64().unwrap().to_string();
    assert_eq!(get(port), Ok(by_hand));
    let exited = devloop.wait_event("process_exited", &[process("web")]);
    assert_eq!(
        exited["pid"].to_string(),
        new,
        "the old one stops after the switch"
    );

    assert!(devloop.stop().success());
    assert_eq!(get(port), Err(Outcome::Refused), "the port is closed");
}

#[test]
fn a_new_instance_that_cannot_start_leaves_the_old_one_serving() {
    let port = free_port();
    let workspace = workspace(port, true);
    let mut devloop = Devloop::start(&workspace);
    let ready = devloop.wait_event("process_ready", &[process("web")]);
    let old = ready["pid"].as_u64().unwrap().to_string();

    workspace.write("libs/broken", "yes");
    let error = devloop.wait_for("the failed handover", |e| e["event"] == "error");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("exited before it was ready"), "{error}");
    assert!(
        message.contains(&format!("pid {old} still serves")),
        "{error}"
    );
    assert_eq!(get(port), Ok(old.clone()));

    // The fix arrives: the next promotion hands over.
    std::fs::remove_file(workspace.path().join("libs/broken")).unwrap();
    let ready = devloop.wait_event("process_ready", &[process("web")]);
    let new = ready["pid"].as_u64().unwrap().to_string();
    assert_ne!(new, old);
    assert_eq!(get(port), Ok(new));
    assert!(devloop.stop().success());
}

#[test]
fn a_crash_loop_ends_failed_and_the_port_refuses_again() {
    let port = free_port();
    let processes = format!("[process.web]\ncommand = \"exit 3\"\nport = {port}\nproxy = true\n");
    let workspace = Workspace::new(&config_with_processes("true", &processes));
    let mut devloop = Devloop::start(&workspace);
    devloop.wait_event("process_started", &[process("web")]);
    let waiting = std::thread::spawn(move || get(port));
    let failed = devloop.wait_event("process_failed", &[process("web")]);
    assert!(
        failed["reason"].as_str().unwrap().contains("exited"),
        "{failed}"
    );
    // It waited through the restarts, and is closed once none will come.
    assert!(waiting.join().unwrap().is_err());
    assert_eq!(get(port), Err(Outcome::Refused), "failed: the port refuses");
    assert!(devloop.stop().success());
}
