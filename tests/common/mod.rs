//! Test support: a temporary workspace, the real devloop binary running on it,
//! and its JSON events read line by line.
#![allow(dead_code)]

pub mod noise;
pub mod reader;
pub mod tiny_queue;
pub mod tmux;

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a test waits for an event before it fails and shows what it saw.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    /// A workspace with `libs/` and the given watch.toml.
    pub fn new(config: &str) -> Workspace {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("libs")).unwrap();
        std::fs::write(dir.path().join("watch.toml"), config).unwrap();
        Workspace { dir }
    }

    /// Like `new`, in a folder of `parent` (for node's lookup by walking up).
    pub fn new_in(parent: &Path, config: &str) -> Workspace {
        std::fs::create_dir_all(parent).unwrap();
        let dir = tempfile::Builder::new()
            .prefix("ws-")
            .tempdir_in(parent)
            .expect("temp dir");
        std::fs::create_dir_all(dir.path().join("libs")).unwrap();
        std::fs::write(dir.path().join("watch.toml"), config).unwrap();
        Workspace { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> PathBuf {
        self.path().join("watch.toml")
    }

    /// Writes a file, creating its directories.
    pub fn write(&self, relative: &str, contents: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.path().join(relative)).unwrap_or_default()
    }

    /// `devloop check`, which must pass; what it printed.
    pub fn check_ok(&self) -> String {
        let out = self.run(&["check"]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
        stdout
    }

    /// `devloop ARGS -c watch.toml`, run to its end.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_devloop"))
            .args(args)
            .arg("-c")
            .arg(self.config())
            .stdin(Stdio::null())
            .output()
            .expect("run devloop")
    }
}

/// A running `devloop --headless --json` and the events it printed.
pub struct Devloop {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    pub seen: Vec<Value>,
}

impl Devloop {
    pub fn start(workspace: &Workspace) -> Devloop {
        Devloop::start_with(workspace, &[])
    }

    pub fn start_with(workspace: &Workspace, extra: &[&str]) -> Devloop {
        let mut command = Command::new(env!("CARGO_BIN_EXE_devloop"));
        command
            .args(["--headless", "--json", "-c"])
            .arg(workspace.config())
            .args(extra);
        Devloop::spawn(command, workspace)
    }

    /// Runs `command` (devloop, or a wrapper around it) and reads its events.
    pub fn spawn(mut command: Command, workspace: &Workspace) -> Devloop {
        let mut child = command
            .current_dir(workspace.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start devloop");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take();
        Devloop {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next event (after those already seen) that `matches`, or a panic
    /// listing every event seen.
    pub fn wait_for(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        self.wait_for_within(EVENT_TIMEOUT, what, matches)
    }

    /// Waits for `event` whose fields include every pair of `fields`.
    pub fn wait_event(&mut self, event: &str, fields: &[(&str, Value)]) -> Value {
        let what = format!("{event} {fields:?}");
        self.wait_for(&what, |e| {
            e["event"] == event && fields.iter().all(|(k, v)| &e[*k] == v)
        })
    }

    /// Like `wait_event`, but an event already seen counts too (for events
    /// whose order against others does not matter).
    pub fn seen_or_wait(&mut self, event: &str, fields: &[(&str, Value)]) -> Value {
        let matches = |e: &Value| e["event"] == event && fields.iter().all(|(k, v)| &e[*k] == v);
        match self.seen.iter().find(|e| matches(e)) {
            Some(found) => found.clone(),
            None => self.wait_event(event, fields),
        }
    }

    /// Every event seen so far named `event`.
    pub fn all(&self, event: &str) -> Vec<&Value> {
        self.seen.iter().filter(|e| e["event"] == event).collect()
    }

    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Every event of `process` named `event`, in order.
    pub fn of(&self, event: &str, process: &str) -> Vec<Value> {
        self.seen
            .iter()
            .filter(|e| e["event"] == event && e["process"] == process)
            .cloned()
            .collect()
    }

    /// Where the first event matching `matches` is among those seen.
    pub fn position(&self, matches: impl Fn(&Value) -> bool) -> Option<usize> {
        self.seen.iter().position(matches)
    }

    pub fn signal(&self, signal: i32) {
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Waits for devloop to exit, reading the rest of its events.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    if let Ok(event) = serde_json::from_str(&line) {
                        self.seen.push(event);
                    }
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "devloop did not exit; saw:\n{}",
                self.dump()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then the exit status.
    pub fn stop(&mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.wait_exit()
    }

    pub fn dump(&self) -> String {
        self.seen
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Devloop {
    /// A failed test still stops devloop gracefully, so that its children
    /// do not outlive the test; SIGKILL only if that does not work.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.signal(libc::SIGTERM);
            let child = &mut self.child;
            if !wait_until(EVENT_TIMEOUT, || !matches!(child.try_wait(), Ok(None))) {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

/// Whether a process is alive (a zombie counts as gone).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z') && !state.starts_with('X')
        }
        Err(_) => false,
    }
}

/// A minimal config around `build`, watching libs with a short debounce.
pub fn config_with_build(build: &str) -> String {
    format!(
        "[watch]\npaths = [\"libs\"]\ndebounce = \"200ms\"\n\n[build]\ncommand = '''{build}'''\noutput = \"tmp/out\"\n"
    )
}

/// The demo's watch.toml with its ports (3000 web, 3001 api) replaced,
/// through markers: a web port of 43001 holds 3001, which a second replace
/// would change.
pub fn demo_config_on(config: &str, web: u16, api: u16) -> String {
    config
        .replace("3000", "@WEB@")
        .replace("3001", "@API@")
        .replace("@WEB@", &web.to_string())
        .replace("@API@", &api.to_string())
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `/proc/PID/stat`: (ppid, state), or None when the process is gone.
pub fn parent_and_state(pid: u32) -> Option<(u32, char)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut rest = stat.rsplit_once(')')?.1.split_whitespace();
    let state = rest.next()?.chars().next()?;
    Some((rest.next()?.parse().ok()?, state))
}

/// Every live descendant of `pid` (zombies included), found through /proc.
pub fn descendants(pid: u32) -> Vec<u32> {
    let all: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| Some((p, parent_and_state(p)?.0)))
        .collect();
    let mut found = vec![pid];
    let mut at = 0;
    while at < found.len() {
        let parent = found[at];
        found.extend(all.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        at += 1;
    }
    found.remove(0);
    found
}

/// The watchdog devloop `pid` started (its child running `__devloop_watchdog`).
pub fn watchdog_of(pid: u32) -> Option<u32> {
    descendants(pid).into_iter().find(|child| {
        std::fs::read(format!("/proc/{child}/cmdline"))
            .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains("__devloop_watchdog"))
    })
}

/// What devloop `pid` runs (its descendants) less its watchdog, which
/// exits a moment after devloop.
pub fn run_processes(pid: u32) -> Vec<u32> {
    let watchdog = watchdog_of(pid);
    descendants(pid)
        .into_iter()
        .filter(|&child| Some(child) != watchdog)
        .collect()
}

/// Whether nothing accepts connections on 127.0.0.1:`port`.
pub fn port_closed(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
}

/// The name libtest gives test `name` of the module at `module_path`
/// (`module_path!()`), for a test that runs itself again as a child:
/// `readers::reader_child` in the `promote` binary.
pub fn test_name(module_path: &str, name: &str) -> String {
    match module_path.split_once("::") {
        Some((_, module)) => format!("{module}::{name}"),
        None => name.to_string(),
    }
}

/// Polls `condition` every 20 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A config with `build` and the given `[process.*]` tables.
pub fn config_with_processes(build: &str, processes: &str) -> String {
    format!("{}\n{processes}", config_with_build(build))
}

impl Devloop {
    /// Like `wait_for`, with a limit of the caller's: for builds by real,
    /// slow tools (nx), where `EVENT_TIMEOUT` would be too tight on a
    /// loaded machine.
    pub fn wait_for_within(
        &mut self,
        limit: Duration,
        what: &str,
        matches: impl Fn(&Value) -> bool,
    ) -> Value {
        self.try_wait_for_within(limit, matches)
            .unwrap_or_else(|| panic!("no {what} within {limit:?}; saw:\n{}", self.dump()))
    }

    /// Like `wait_for_within`, None when nothing matched in time: for a
    /// test that acts again when a real tool did not react (yet).
    pub fn try_wait_for_within(
        &mut self,
        limit: Duration,
        matches: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).ok()?;
            let event: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            assert!(event["ts"].is_string(), "event without ts: {line}");
            self.seen.push(event.clone());
            if matches(&event) {
                return Some(event);
            }
        }
    }
}
