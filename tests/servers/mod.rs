//! The real-server harness: pinned dev servers from npm, a temporary
//! workspace whose apps import `@demo/shared` (a symlink in
//! `node_modules/@demo` to `dist/libs/shared`, as npm and pnpm workspaces
//! make it), devloop promoting the lib, and each server polled over HTTP.
//! `run_case` runs one server and returns its figures, so other suites can
//! add cases (say, a proxied Next.js).
#![allow(dead_code)]

pub mod http;
mod install;
mod poller;

pub use install::installed;

use crate::common::{Devloop, Workspace, free_port};
use http::Got;
use poller::{Met, Poller};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/real-servers");
/// Lib edits per server.
pub const EDITS: u32 = 10;
/// Edits of the server's own file, for its own reload time.
pub const OWN_EDITS: u32 = 3;
/// How long an edit may take to be served before it counts as missed: a
/// restarted Next.js compiles afresh (about 11 s here, on 2 shared cores).
const SERVE_WAIT: Duration = Duration::from_secs(45);
/// First start: Next.js compiles on the first request, slowly on 2 cores.
const START_WAIT: Duration = Duration::from_secs(240);

/// One server to run.
pub struct Case {
    pub name: &'static str,
    /// Folder under the fixture's `apps/`.
    pub app: &'static str,
    /// The process command; `{port}` and `{bin}` (the cache's
    /// node_modules) are filled in.
    pub command: &'static str,
    /// Extra lines of the `[process.server]` table; `{port}` is filled in.
    pub extra: &'static str,
    /// URL path serving the lib's value; `{ws}` is the workspace's path.
    pub lib_url: &'static str,
    /// URL path serving the app's own value.
    pub own_url: &'static str,
    /// The app's own file, edited for the reference reload time.
    pub own_file: &'static str,
    /// Restarted on each promotion behind devloop's proxy: each edit waits
    /// for the new instance (and the old one's exit), and a poller counts
    /// refusals all through the edits.
    pub proxied: bool,
}

/// What one case measured.
#[derive(Debug, Default)]
pub struct Figures {
    pub name: String,
    pub served: u32,
    /// `promoted` to served, per edit picked up.
    pub delays_ms: Vec<u64>,
    /// Own-file write to served.
    pub own_ms: Vec<u64>,
    /// "Cannot find module", "Module not found" and ENOENT lines.
    pub errors: Vec<String>,
    /// Refused or reset connections while polling after edits.
    pub refused: u32,
    /// Answers other than 2xx while polling after edits.
    pub failed: u32,
    /// A proxied case's poller, all through the edits.
    pub poller: Option<Met>,
    /// Times devloop started the server (1 + restarts).
    pub starts: usize,
}

impl Figures {
    pub const HEADER: &str = "| server | edits picked up | promoted to served, median | max | own file reload, median (served) | errors | refused |\n|---|---|---|---|---|---|---|";

    pub fn row(&self) -> String {
        format!(
            "| {} | {}/{EDITS} | {} ms | {} ms | {} ms ({}/{OWN_EDITS}) | {} | {} |",
            self.name,
            self.served,
            median(&self.delays_ms),
            self.delays_ms.iter().max().copied().unwrap_or(0),
            median(&self.own_ms),
            self.own_ms.len(),
            self.errors.len(),
            self.refused + self.poller.map_or(0, |m| m.refused)
        )
    }
}

pub fn median(v: &[u64]) -> u64 {
    let mut v = v.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

/// Runs `case` against the packages in `node_modules` (from `installed`).
pub fn run_case(node_modules: &Path, case: &Case) -> Figures {
    let port = free_port();
    let ws = workspace(node_modules, case, port);
    let root = ws.path().to_path_buf();
    let url = |u: &str| u.replace("{ws}", &root.display().to_string());
    let mut devloop = Devloop::start(&ws);
    devloop.wait_for_within(START_WAIT, "the first promotion", |e| {
        e["event"] == "promoted"
    });
    let mut figures = Figures {
        name: case.name.to_string(),
        ..Figures::default()
    };
    let ready = poll(port, &url(case.lib_url), "lib-0;", START_WAIT, &mut [0, 0]);
    assert!(
        ready.is_some(),
        "{}: the server never served the first build; saw:\n{}",
        case.name,
        devloop.dump()
    );
    let mut misses = [0, 0];
    let poller = case.proxied.then(|| Poller::start(port, url(case.lib_url)));
    for n in 1..=EDITS {
        write_lib(&root, n);
        devloop.wait_for_within(START_WAIT, "promoted", |e| e["event"] == "promoted");
        let at = Instant::now();
        if case.proxied {
            new_instance(&mut devloop);
        }
        let wanted = format!("lib-{n};");
        if poll(port, &url(case.lib_url), &wanted, SERVE_WAIT, &mut misses).is_some() {
            figures.served += 1;
            figures.delays_ms.push(at.elapsed().as_millis() as u64);
        }
    }
    [figures.refused, figures.failed] = misses;
    figures.poller = poller.map(Poller::finish);
    let own = root.join("apps").join(case.app).join(case.own_file);
    for n in 1..=OWN_EDITS {
        // Spaced as a person saves: chokidar drops a change event that comes
        // within a few ms of the previous one for the same file.
        std::thread::sleep(Duration::from_millis(200));
        let text = std::fs::read_to_string(&own).expect("read own file");
        let next = text.replace(&format!("own-{};", n - 1), &format!("own-{n};"));
        write_with_new_mtime(&own, &next);
        let at = Instant::now();
        let wanted = format!("own-{n};");
        if poll(port, case.own_url, &wanted, SERVE_WAIT, &mut [0, 0]).is_some() {
            figures.own_ms.push(at.elapsed().as_millis() as u64);
        } else {
            eprintln!("{}: own edit {n} not served in {SERVE_WAIT:?}", case.name);
        }
    }
    let _ = devloop.stop();
    figures.starts = devloop.of("process_started", "server").len();
    figures.errors = devloop
        .of("process_output", "server")
        .iter()
        .filter_map(|e| e["line"].as_str())
        .filter(|l| {
            l.contains("Cannot find module")
                || l.contains("Module not found")
                || l.contains("ENOENT")
        })
        .map(str::to_string)
        .collect();
    figures
}

/// Waits for the instance started by the last promotion to be ready and
/// the one it replaces to exit.
fn new_instance(devloop: &mut Devloop) {
    let server =
        |e: &serde_json::Value, event: &str| e["event"] == event && e["process"] == "server";
    let from = devloop.seen.len();
    devloop.wait_for_within(SERVE_WAIT, "the new instance ready", |e| {
        server(e, "process_ready")
    });
    if !devloop.seen[from..]
        .iter()
        .any(|e| server(e, "process_exited"))
    {
        devloop.wait_for_within(SERVE_WAIT, "the old instance's exit", |e| {
            server(e, "process_exited")
        });
    }
}

/// Polls until the answer contains `wanted`; counts refused (or reset)
/// connections and answers other than 2xx in `misses`.
fn poll(port: u16, path: &str, wanted: &str, limit: Duration, misses: &mut [u32; 2]) -> Option<()> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        match http::get(port, path) {
            Got::Body(body) if !body.starts_with("HTTP/1.1 2") => misses[1] += 1,
            Got::Body(body) if body.contains(wanted) => return Some(()),
            Got::Body(_) => {}
            Got::Refused => misses[0] += 1,
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// Writes until the file's mtime differs from before: chokidar ignores a
/// change whose mtime equals the last one (two writes in one clock tick).
fn write_with_new_mtime(path: &Path, text: &str) {
    let mtime = || std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let before = mtime();
    loop {
        std::fs::write(path, text).expect("edit own file");
        if mtime() != before {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn write_lib(root: &Path, n: u32) {
    let text = format!("export const value = \"lib-{n};\";\n");
    std::fs::write(root.join("libs/shared/index.js"), text).expect("edit the lib");
}

/// The workspace: lib, app, the `@demo/shared` link and watch.toml. It lives
/// inside the package cache so that node, webpack and Turbopack find the
/// pinned packages by walking up, as in a real repository.
fn workspace(node_modules: &Path, case: &Case, port: u16) -> Workspace {
    let cache = node_modules.parent().expect("cache dir");
    let bin = node_modules.display().to_string();
    let command = case
        .command
        .replace("{port}", &port.to_string())
        .replace("{bin}", &bin);
    let config = format!(
        r#"[watch]
paths = ["libs"]
debounce = "50ms"

[build]
command = "mkdir -p out/shared && cp libs/shared/index.js libs/shared/package.json out/shared/"
output = "out"

[promote]
target = "dist/libs"
require = ["shared/index.js"]

[process.server]
command = "{command}"
cwd = "apps/{app}"
after = ["build"]
env = {{ PORT = "{port}", DEMO_ROOT = "{root}", NEXT_TELEMETRY_DISABLED = "1", BROWSER = "none" }}
{extra}
"#,
        app = case.app,
        root = cache.display(),
        extra = case.extra.replace("{port}", &port.to_string()),
    );
    let ws = Workspace::new_in(cache, &config);
    let root = ws.path();
    copy_dir(
        &Path::new(FIXTURE).join("apps").join(case.app),
        &root.join("apps").join(case.app),
    );
    ws.write(
        "libs/shared/package.json",
        r#"{ "name": "@demo/shared", "version": "0.0.0", "type": "module", "main": "index.js" }"#,
    );
    write_lib(root, 0);
    std::fs::create_dir_all(root.join("node_modules/@demo")).expect("node_modules/@demo");
    std::os::unix::fs::symlink(
        "../../dist/libs/shared",
        root.join("node_modules/@demo/shared"),
    )
    .expect("link @demo/shared");
    ws
}

fn copy_dir(from: &Path, to: &PathBuf) {
    std::fs::create_dir_all(to).expect("create app dir");
    for entry in std::fs::read_dir(from).expect("read fixture app") {
        let entry = entry.expect("fixture entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).expect("copy fixture file");
        }
    }
}
