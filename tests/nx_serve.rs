//! nx's own serve targets under devloop (issue 19), set up by `devloop
//! init --apply` and run with the watch.toml it writes, as a new user would:
//! the pinned nx 23 workspace of `tests/fixtures/nx23-apps` (two
//! `@nx/js:tsc` libs, an Express app on `@nx/esbuild` + `@nx/js:node`, a
//! NestJS app on `@nx/webpack` + `@nx/js:node`, a Next.js app through
//! `@nx/next/plugin`, each importing both libs from `dist/libs`), and the
//! same workspace as nx generates it, with the apps on the libs' source
//! (`tests/fixtures/nx23-apps-on-source`).
//!
//! Each app is polled on a fresh connection every 50 ms throughout.
//! Checked: each app serves every edit, never before its promotion and
//! never one edit late; no connection refused or reset; no "Cannot find
//! module"; nothing but promotions changed `dist/libs` (the test watches it
//! itself); a lib edit that fails the build reaches no app; nothing of the
//! run is left after SIGTERM.
//!
//! Heavy: a 700 MB npm install (about 70 s cold, once per machine), then
//! minutes on 2 cores. `NX_SERVE_EDITS=N` changes the number of edits (10).
//! Skips (and passes) without node and npm.

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
const ON_SOURCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/nx23-apps-on-source/apps"
);
/// First build plus three servers' first compile, on 2 loaded cores.
const START_WAIT: Duration = Duration::from_secs(300);
/// A cold nx build (6-10 s here) and a restart of `nx run` (10-15 s).
const EDIT_WAIT: Duration = Duration::from_secs(120);
/// The two runs share the cores and Next.js's port: one at a time.
static ALONE: Mutex<()> = Mutex::new(());

/// One app of the fixture, on the port watch.toml gives it.
struct App {
    name: &'static str,
    port: u16,
    path: &'static str,
}

/// A lib edit: a new value, or a type error that fails devloop's build.
#[derive(Clone, Copy)]
enum Step {
    Good(u32),
    TypeError,
}

#[test]
fn nx_apps_set_up_by_init_get_every_lib_edit_once_after_its_promotion() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let Some(node_modules) = installed() else {
        return;
    };
    let ws = workspace(&node_modules, false);
    let said = devloop_in(&ws, &["init", "--apply"]);
    assert!(
        !said.contains("SOURCE"),
        "every app is on dist/libs:\n{said}"
    );
    assert!(said.contains("changed (devloop init --apply)"), "{said}");
    let checked = devloop_in(&ws, &["check"]);
    assert!(!checked.contains("warning"), "{checked}");
    let edits: u32 = std::env::var("NX_SERVE_EDITS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let steps: Vec<Step> = (1..=edits).map(Step::Good).collect();
    serve_and_edit(&ws, &steps);
}

#[test]
fn nx_apps_on_the_libs_source_are_named_and_once_moved_a_failed_build_reaches_none() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let Some(node_modules) = installed() else {
        return;
    };
    let ws = workspace(&node_modules, true);
    let said = devloop_in(&ws, &["init"]);
    for app in ["api", "nest", "web"] {
        assert!(
            said.contains(&format!("  {app}: from their SOURCE (")),
            "init names {app} as on the libs' source:\n{said}"
        );
    }
    let said = devloop_in(&ws, &["init", "--apply"]);
    assert!(said.contains("changed (devloop init --apply)"), "{said}");
    let checked = devloop_in(&ws, &["check"]);
    assert!(!checked.contains("from their source"), "{checked}");
    serve_and_edit(&ws, &[Step::TypeError, Step::Good(1)]);
}

#[test]
fn nx_apps_set_up_by_init_get_every_lib_edit_from_the_warm_build_it_offers() {
    let _alone = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let Some(node_modules) = installed() else {
        return;
    };
    let ws = workspace(&node_modules, false);
    devloop_in(&ws, &["init", "--apply"]);
    // Taking the offer as the comment says: its lines over the cold command.
    let file = ws.read("watch.toml");
    let taken: Vec<&str> = file
        .lines()
        .filter(|l| !l.starts_with("command = \"npx nx run-many"))
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest.starts_with("command = \"npx nx run ")
                    || rest.starts_with("persistent")
                    || rest.starts_with("timeout") =>
            {
                rest
            }
            _ => l,
        })
        .collect();
    ws.write("watch.toml", &taken.join("\n"));
    let checked = devloop_in(&ws, &["check"]);
    assert!(
        checked.contains("preset  nx @nx/js:tsc --watch"),
        "{checked}"
    );
    assert!(!checked.contains("warning"), "{checked}");
    let edits: u32 = std::env::var("NX_SERVE_EDITS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    let steps: Vec<Step> = (1..=edits).map(Step::Good).collect();
    serve_and_edit(&ws, &steps);
}

fn installed() -> Option<PathBuf> {
    let started = Instant::now();
    let node_modules = npm::installed(Path::new(FIXTURE), "nx23-apps-cache", "nx")?;
    eprintln!(
        "nx_serve: packages ready in {:.1?} at {}",
        started.elapsed(),
        node_modules.display()
    );
    Some(node_modules)
}

/// `devloop ARGS` in the workspace; its stdout (exit 0 asserted).
fn devloop_in(ws: &Workspace, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_devloop"))
        .args(args)
        .current_dir(ws.path())
        .env("NX_NO_CLOUD", "true")
        .output()
        .expect("run devloop");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "devloop {args:?}: {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("nx_serve: devloop {}:\n{stdout}", args.join(" "));
    stdout
}

/// The apps and their ports, from the watch.toml init wrote.
fn apps_of(ws: &Workspace) -> Vec<App> {
    let config: toml::Table = toml::from_str(&ws.read("watch.toml")).expect("watch.toml");
    ["api", "nest", "web"]
        .into_iter()
        .map(|name| {
            let port = config["process"][name]["port"]
                .as_integer()
                .unwrap_or_else(|| panic!("{name} has no port in watch.toml"));
            App {
                name,
                port: u16::try_from(port).unwrap(),
                path: "/api/libs",
            }
        })
        .collect()
}

/// Runs devloop with the workspace's watch.toml, makes the lib edits, and
/// checks what every app served.
fn serve_and_edit(ws: &Workspace, steps: &[Step]) {
    let started = Instant::now();
    let apps = apps_of(ws);
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
    let mut devloop = Devloop::spawn(command, ws);

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
    let mut served_values = vec![expected(0)];
    for step in steps {
        let n = match *step {
            Step::TypeError => {
                break_alpha(&root);
                let failed = devloop.wait_for_within(EDIT_WAIT, "the failed build", |e| {
                    e["event"] == "build_finished" && e["status"] != "skipped"
                });
                assert_eq!(failed["status"], "failed", "{failed}");
                eprintln!("nx_serve: the type error failed the build: {failed}");
                continue;
            }
            Step::Good(n) => n,
        };
        let saved = Instant::now();
        apply_edit(&root, n);
        let want = expected(n);
        served_values.push(want.clone());
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
        assert_eq!(
            values, served_values,
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
    let promotions = devloop
        .seen
        .iter()
        .filter(|e| e["event"] == "promoted")
        .count();
    eprintln!(
        "nx_serve: {promotions} promotions for {} steps; total {:.1?}",
        steps.len(),
        started.elapsed()
    );
}

/// A type error in alpha: devloop's build fails, and the apps must never
/// serve it (an app on the libs' source would: `alpha=typo7`).
fn break_alpha(root: &Path) {
    std::fs::write(
        root.join("libs/alpha/src/value.ts"),
        "// tests/nx_serve.rs rewrites this line.\nexport const ALPHA: number = \"typo\" + 7;\n",
    )
    .expect("edit the lib");
}

/// The workspace: the fixture (with its libs' and apps' package files; with
/// the apps on the libs' source when `on_source`), inside the package cache
/// so that Next.js's Turbopack, whose root is the folder of the nearest
/// lockfile, finds node_modules within its root; `node_modules` linked for
/// `npx` and nx. The apps' default ports are moved to free ones (init reads
/// them from each main.ts); no watch.toml yet.
fn workspace(node_modules: &Path, on_source: bool) -> Workspace {
    let cache = node_modules.parent().expect("cache dir");
    let ws = Workspace::new_in(cache, "");
    std::fs::remove_file(ws.config()).unwrap();
    copy_fixture(Path::new(FIXTURE), ws.path());
    if on_source {
        copy_fixture(Path::new(ON_SOURCE), &ws.path().join("apps"));
    }
    std::os::unix::fs::symlink(node_modules, ws.path().join("node_modules"))
        .expect("link node_modules");
    for (app, default) in [("api", "3333"), ("nest", "3000")] {
        let main = format!("apps/{app}/src/main.ts");
        let text = ws.read(&main);
        assert!(text.contains(default), "{main} has no {default}");
        ws.write(&main, &text.replace(default, &free_port().to_string()));
    }
    ws
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
