//! nx's own serve targets under devloop (issue 19, DRAFT): the pinned nx 23
//! workspace of `tests/fixtures/nx23-apps` (two `@nx/js:tsc` libs, an
//! Express app on `@nx/esbuild` + `@nx/js:node`, a NestJS app on
//! `@nx/webpack` + `@nx/js:node`, a Next.js app through `@nx/next/plugin`,
//! each importing both libs from `dist/libs`), with the setup that
//! docs/nx-serve.md found to work, applied by the test itself (until
//! `devloop init --apply` writes it):
//!
//! - each `@nx/js:node` app gets a `serve-devloop` target: the same executor
//!   on the app's development build, without `dependsOn` (no lib build into
//!   dist/libs), without `continuous` (nx 23 makes a second `nx run` of a
//!   running continuous task wait for the first, which deadlocks the proxy's
//!   handover), without the inspector (9229, bound by both instances of a
//!   handover and by both apps);
//! - devloop restarts both on each promotion behind its proxy; Next.js
//!   (tsconfig `paths` to dist/libs) sees each promotion by itself.
//!
//! Ten lib edits (alternately alpha and beta); each app is polled on a fresh
//! connection every 50 ms throughout. Checked: each app serves every edit,
//! never before its promotion and never one edit late; no connection
//! refused or reset; no "Cannot find module"; nothing but promotions changed
//! `dist/libs` (the test watches it itself); nothing of the run is left
//! after SIGTERM.
//!
//! Heavy (a 700 MB npm install, about 70 s cold; then several minutes on 2
//! cores), so it runs only with `NX_SERVE=1`; `NX_SERVE_EDITS=N` changes the
//! number of edits. Skips (and passes) without node and npm.

mod common;
#[path = "common/npm.rs"]
mod npm;

use common::{Devloop, Workspace, free_port, wait_until};
use serde_json::Value;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nx23-apps");
/// First build plus three servers' first compile, on 2 loaded cores.
const START_WAIT: Duration = Duration::from_secs(300);
/// A cold nx build (6-10 s here) and a restart of `nx run` (10-15 s).
const EDIT_WAIT: Duration = Duration::from_secs(120);

/// One app of the fixture and how devloop runs it.
struct App {
    name: &'static str,
    port: u16,
    path: &'static str,
}

#[test]
fn nx_serve_apps_get_every_lib_edit_once_after_its_promotion() {
    if std::env::var_os("NX_SERVE").is_none() {
        eprintln!("SKIPPED nx_serve: set NX_SERVE=1 to run it (a 700 MB npm install, minutes)");
        return;
    }
    let started = Instant::now();
    let Some(node_modules) = npm::installed(Path::new(FIXTURE), "nx23-apps-cache", "nx") else {
        return;
    };
    eprintln!(
        "nx_serve: packages ready in {:.1?} at {}",
        started.elapsed(),
        node_modules.display()
    );
    let edits: u32 = std::env::var("NX_SERVE_EDITS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);

    let apps = [
        App {
            name: "api",
            port: free_port(),
            path: "/api/libs",
        },
        App {
            name: "nest",
            port: free_port(),
            path: "/api/libs",
        },
        App {
            name: "web",
            port: free_port(),
            path: "/api/libs",
        },
    ];
    let ws = workspace(&node_modules, &apps);
    let root = ws.path().to_path_buf();

    let mut command = Command::new(env!("CARGO_BIN_EXE_devloop"));
    command
        .args(["--headless", "--json", "-c"])
        .arg(ws.config())
        .envs([
            ("NX_NO_CLOUD", "true"),
            ("NX_TUI", "false"),
            ("NX_INTERACTIVE", "false"),
            ("NEXT_TELEMETRY_DISABLED", "1"),
        ]);
    let mut devloop = Devloop::spawn(command, &ws);

    let stop = Arc::new(AtomicBool::new(false));
    let pollers: Vec<Arc<Mutex<Polled>>> = apps
        .iter()
        .map(|app| poll(app.port, app.path, stop.clone()))
        .collect();
    let foreign = watch_target(root.join("dist/libs"), stop.clone());

    // Every app serves the fixture's values.
    let first = expected(0);
    devloop.wait_for_within(START_WAIT, "the first promotion", |e| {
        e["event"] == "promoted"
    });
    let all_serve = |want: &str| {
        pollers
            .iter()
            .all(|p| p.lock().unwrap().last.as_deref() == Some(want))
    };
    assert!(
        wait_until(START_WAIT, || all_serve(&first)),
        "not every app served {first:?}: {:?}; events:\n{}",
        pollers
            .iter()
            .map(|p| p.lock().unwrap().last.clone())
            .collect::<Vec<_>>(),
        devloop.dump()
    );
    // From here on, every refusal counts.
    for p in &pollers {
        let mut p = p.lock().unwrap();
        p.refused = 0;
        p.reset = 0;
        p.troubles.clear();
        p.failed = 0;
    }
    let foreign_at_start = foreign.lock().unwrap().len();

    let mut rows = Vec::new();
    for n in 1..=edits {
        let saved = Instant::now();
        apply_edit(&root, n);
        let want = expected(n);
        devloop.wait_for_within(EDIT_WAIT, &format!("edit {n}'s promotion"), |e| {
            e["event"] == "promoted"
        });
        let promoted = Instant::now();
        let served = wait_until(EDIT_WAIT, || all_serve(&want));
        let mut row = vec![n.to_string()];
        for (app, p) in apps.iter().zip(&pollers) {
            let p = p.lock().unwrap();
            let at = p
                .changes
                .iter()
                .find(|(_, body)| body == &want)
                .map(|(at, _)| *at);
            let cell = match at {
                Some(at) if at < promoted => {
                    format!("{}: before its promotion", app.name)
                }
                Some(at) => format!("{} ms", (at - saved).as_millis()),
                None => "MISSED".to_string(),
            };
            row.push(cell);
        }
        eprintln!("nx_serve: edit {n}: {}", row.join(" | "));
        assert!(
            served,
            "edit {n} ({want:?}) not served by every app within {EDIT_WAIT:?}: {row:?}; events:\n{}",
            devloop.dump()
        );
        rows.push(row);
    }

    // The pollers stop before devloop does: its shutdown closes the ports.
    stop.store(true, Ordering::SeqCst);
    assert!(wait_until(Duration::from_secs(90), || {
        pollers.iter().all(|p| p.lock().unwrap().done)
    }));
    let status = devloop.stop();
    assert!(status.success(), "devloop exited with {status:?}");

    eprintln!(
        "nx_serve: save -> served per edit | {}",
        apps.iter().map(|a| a.name).collect::<Vec<_>>().join(" | ")
    );
    for row in &rows {
        eprintln!("nx_serve:   {}", row.join(" | "));
    }
    for (app, p) in apps.iter().zip(&pollers) {
        let p = p.lock().unwrap();
        eprintln!(
            "nx_serve: {}: {} answers, {} refused, {} reset, {} failed, values seen {:?}",
            app.name,
            p.answered,
            p.refused,
            p.reset,
            p.failed,
            p.changes
                .iter()
                .map(|(_, b)| b.as_str())
                .collect::<Vec<_>>()
        );
    }
    for (app, p) in apps.iter().zip(&pollers) {
        let p = p.lock().unwrap();
        if !p.troubles.is_empty() {
            // Beside devloop's events of the app, to see which instance it was.
            eprintln!(
                "nx_serve: {} refused/reset at (epoch ms): {:?}",
                app.name, p.troubles
            );
            for e in devloop.seen.iter().filter(|e| {
                e["process"] == app.name && e["event"] != "process_output"
                    || e["event"] == "promoted"
            }) {
                eprintln!("nx_serve:   {e}");
            }
        }
    }
    for (app, p) in apps.iter().zip(&pollers) {
        let p = p.lock().unwrap();
        assert_eq!(p.refused, 0, "{}: connections refused", app.name);
        assert_eq!(p.reset, 0, "{}: connections reset", app.name);
        assert_eq!(p.failed, 0, "{}: failed answers: {:?}", app.name, p.samples);
        // Every edit's value, each once, in order: never one edit late.
        let values: Vec<&str> = p.changes.iter().map(|(_, b)| b.as_str()).collect();
        let wanted: Vec<String> = (0..=edits).map(expected).collect();
        assert_eq!(
            values, wanted,
            "{}: the values it served, in order",
            app.name
        );
    }
    let lines: Vec<String> = devloop
        .seen
        .iter()
        .filter(|e| e["event"] == "process_output" || e["event"] == "build_output")
        .filter_map(|e| e["line"].as_str().map(str::to_string))
        .collect();
    let missing: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("Cannot find module"))
        .collect();
    assert!(missing.is_empty(), "Cannot find module: {missing:?}");
    let lib_builds: Vec<&Value> = devloop
        .seen
        .iter()
        .filter(|e| e["event"] == "process_output")
        .filter(|e| {
            let line = e["line"].as_str().unwrap_or("");
            line.contains("nx run alpha:build") || line.contains("nx run beta:build")
        })
        .collect();
    assert!(
        lib_builds.is_empty(),
        "a process built a lib: {lib_builds:?}"
    );
    let foreign = foreign.lock().unwrap();
    assert!(
        foreign.is_empty(),
        "writes into dist/libs that were not promotions ({foreign_at_start} before the edits): {foreign:?}"
    );
    let left = processes_in(&root);
    assert!(left.is_empty(), "left after SIGTERM: {left:?}");
    for app in &apps {
        assert!(
            common::port_closed(app.port),
            "{}: port {} still open",
            app.name,
            app.port
        );
    }
    eprintln!("nx_serve: total {:.1?}", started.elapsed());
}

/// The value every app serves after edit `n` (0: the fixture's).
fn expected(n: u32) -> String {
    // Odd edits change alpha, even ones beta, to 100 + n.
    let alpha = (1..=n).rev().find(|k| k % 2 == 1).map_or(1, |k| 100 + k);
    let beta = (1..=n).rev().find(|k| k % 2 == 0).map_or(1, |k| 100 + k);
    format!("alpha={alpha} alpha={alpha} beta={beta}")
}

fn apply_edit(root: &Path, n: u32) {
    let (lib, constant) = if n % 2 == 1 {
        ("alpha", "ALPHA")
    } else {
        ("beta", "BETA")
    };
    std::fs::write(
        root.join(format!("libs/{lib}/src/value.ts")),
        format!(
            "// tests/nx_serve.rs rewrites this line.\nexport const {constant}: number = {};\n",
            100 + n
        ),
    )
    .expect("edit the lib");
}

/// The workspace: the fixture (with its libs' and apps' package files),
/// inside the package cache so that Next.js's Turbopack, whose root is the
/// folder of the nearest lockfile, finds node_modules within its root;
/// `node_modules` linked for `npx` and nx. The setup of docs/nx-serve.md is
/// applied to the project files, and watch.toml written.
fn workspace(node_modules: &Path, apps: &[App]) -> Workspace {
    let cache = node_modules.parent().expect("cache dir");
    let ws = Workspace::new_in(cache, &config(apps));
    copy_fixture(Path::new(FIXTURE), ws.path());
    std::os::unix::fs::symlink(node_modules, ws.path().join("node_modules"))
        .expect("link node_modules");
    for (app, watch) in [("api", true), ("nest", false)] {
        let file = ws.path().join(format!("apps/{app}/project.json"));
        let mut project: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        project["targets"]["serve-devloop"] = serde_json::json!({
            "executor": "@nx/js:node",
            "options": {
                "buildTarget": format!("{app}:build:development"),
                "runBuildTargetDependencies": false,
                "inspect": false,
                "watch": watch,
            }
        });
        std::fs::write(&file, serde_json::to_string_pretty(&project).unwrap()).unwrap();
    }
    ws
}

fn config(apps: &[App]) -> String {
    let port = |name: &str| apps.iter().find(|a| a.name == name).unwrap().port;
    format!(
        r#"[watch]
paths = ["libs"]
include = ["**/*.{{ts,tsx,mts,cts,js,jsx,mjs,cjs,json}}"]
debounce = "50ms"

[build]
command = "NX_DAEMON=false npx nx run-many --target=build --projects=alpha,beta --configuration=devloop"
output = "tmp/libs-out"
timeout = "5m"

[promote]
target = "dist/libs"
require = ["alpha/src/index.js", "beta/src/index.js"]

# Express on @nx/esbuild: the libs are external, required once through NX_MAPPINGS.
[process.api]
command = "npx nx run api:serve-devloop"
after = ["build"]
env = {{ NX_DAEMON = "false" }}
on_promote = "restart"
proxy = true
port = {api}
health = {{ http = "http://127.0.0.1:{api}/api", timeout = "2s" }}
start_timeout = "3m"

# NestJS on @nx/webpack (buildLibsFromSource: false): webpack bundles dist/libs.
[process.nest]
command = "npx nx run nest:serve-devloop"
after = ["build"]
env = {{ NX_DAEMON = "false" }}
on_promote = "restart"
proxy = true
port = {nest}
health = {{ http = "http://127.0.0.1:{nest}/api", timeout = "2s" }}
start_timeout = "3m"

# Next.js (Turbopack) through @nx/next/plugin: tsconfig paths to dist/libs.
[process.web]
command = "npx nx dev web"
after = ["build"]
env = {{ PORT = "{web}", NX_DAEMON = "false" }}
port = {web}
health = {{ http = "http://127.0.0.1:{web}/api/libs", timeout = "60s" }}
start_timeout = "5m"
"#,
        api = port("api"),
        nest = port("nest"),
        web = port("web"),
    )
}

/// Copies the fixture without its lockfile (whose folder Turbopack would
/// take as its root) or node_modules.
fn copy_fixture(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name();
        if name == "package-lock.json" || name == "node_modules" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_fixture(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

/// What one app answered.
#[derive(Default)]
struct Polled {
    answered: usize,
    /// Connections refused, and connections reset or closed before a whole
    /// answer, each with the wall-clock time (ms since the epoch) it happened.
    refused: usize,
    reset: usize,
    troubles: Vec<(u128, &'static str)>,
    failed: usize,
    /// The poller saw `stop` and polls no more.
    done: bool,
    samples: Vec<String>,
    /// The last good body's value, and each change of it with its time.
    last: Option<String>,
    changes: Vec<(Instant, String)>,
}

/// Polls `port` on a fresh connection every 50 ms until `stop`.
fn poll(port: u16, path: &'static str, stop: Arc<AtomicBool>) -> Arc<Mutex<Polled>> {
    let polled = Arc::new(Mutex::new(Polled::default()));
    let shared = polled.clone();
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            let got = get(port, path);
            let mut p = shared.lock().unwrap();
            match got {
                Got::Refused => {
                    p.refused += 1;
                    p.troubles.push((epoch_ms(), "refused"));
                }
                Got::Reset => {
                    p.reset += 1;
                    p.troubles.push((epoch_ms(), "reset"));
                }
                Got::Body(raw) => {
                    p.answered += 1;
                    let ok = raw.starts_with("HTTP/1.1 200") || raw.starts_with("HTTP/1.0 200");
                    let value = raw
                        .split("\r\n\r\n")
                        .nth(1)
                        .and_then(|body| body.lines().find(|l| l.starts_with("alpha=")))
                        .map(str::trim)
                        .map(str::to_string);
                    match (ok, value) {
                        (true, Some(value)) => {
                            if p.last.as_ref() != Some(&value) {
                                p.changes.push((Instant::now(), value.clone()));
                                p.last = Some(value);
                            }
                        }
                        _ => {
                            p.failed += 1;
                            if p.samples.len() < 5 {
                                p.samples.push(raw.chars().take(300).collect());
                            }
                        }
                    }
                }
            }
            drop(p);
            std::thread::sleep(Duration::from_millis(50));
        }
        shared.lock().unwrap().done = true;
    });
    polled
}

enum Got {
    Body(String),
    Refused,
    /// Reset, or closed before any byte of an answer.
    Reset,
}

/// One GET on a fresh connection.
fn get(port: u16, path: &str) -> Got {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return Got::Refused;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return Got::Reset;
    }
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw) {
        Ok(_) if !raw.is_empty() => Got::Body(String::from_utf8_lossy(&raw).into_owned()),
        _ => Got::Reset,
    }
}

fn epoch_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// Watches `target` every 20 ms: a file or directory under it whose inode,
/// size or mtime changed while `target` itself is the same directory (no
/// swap happened) is a write that is not a promotion. (A promotion swaps
/// `target` whole; the nudge after it rewrites times to the values they
/// had, so mtimes do not change.)
fn watch_target(target: PathBuf, stop: Arc<AtomicBool>) -> Arc<Mutex<Vec<String>>> {
    let found = Arc::new(Mutex::new(Vec::new()));
    let shared = found.clone();
    std::thread::spawn(move || {
        let mut before: Option<Tree> = None;
        while !stop.load(Ordering::SeqCst) {
            if let Some(now) = snapshot(&target) {
                if let Some((ino, files)) = &before
                    && *ino == now.0
                    && *files != now.1
                {
                    let changed: Vec<String> = now
                        .1
                        .keys()
                        .chain(files.keys())
                        .filter(|k| now.1.get(*k) != files.get(*k))
                        .take(5)
                        .map(|k| k.display().to_string())
                        .collect();
                    shared.lock().unwrap().push(changed.join(" "));
                }
                before = Some(now);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    found
}

type Tree = (u64, BTreeMap<PathBuf, (u64, i64, i64, u64)>);

/// `target`'s inode and (inode, mtime, mtime ns, size) of everything under
/// it; None when a swap happened while it was read, or it is missing.
fn snapshot(target: &Path) -> Option<Tree> {
    let top = std::fs::metadata(target).ok()?.ino();
    let mut files = BTreeMap::new();
    let mut dirs = vec![target.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).ok()?;
            if meta.is_dir() {
                dirs.push(path.clone());
            }
            let relative = path.strip_prefix(target).unwrap().to_path_buf();
            files.insert(
                relative,
                (meta.ino(), meta.mtime(), meta.mtime_nsec(), meta.size()),
            );
        }
    }
    (std::fs::metadata(target).ok()?.ino() == top).then_some((top, files))
}

/// Processes whose working directory is in `root` (nx, node, next...).
fn processes_in(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !common::alive(pid) {
            continue;
        }
        if let Ok(cwd) = std::fs::read_link(format!("/proc/{pid}/cwd"))
            && cwd.starts_with(root)
        {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            found.push(format!(
                "{pid} {}",
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            ));
        }
    }
    found
}
