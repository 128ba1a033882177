//! Save -> served per app on the real nx 23 workspace (`tests/fixtures/
//! nx23-apps`, as nx generates it: the apps on the libs' source), in one run:
//!
//! - nx alone: `nx run-many -t serve dev` (the apps' own serve targets);
//! - devloop after `devloop init --apply`, with the watch.toml as written
//!   (the cold nx build), and with the warm build it offers.
//!
//! Each setup gets the same lib edits, then a type error in a lib and its
//! fix. Per app: median and max from save to served, edits not served within
//! 40 s, refused / reset / failed requests during the edits (each app polled
//! on a fresh connection every 50 ms), and whether it ever served the code
//! with the type error. Run: `cargo bench --bench nx_serve` (node and npm
//! needed; `BENCH_EDITS=N`, default 5).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/common/npm.rs"]
mod npm;
#[path = "../tests/common/nx23.rs"]
mod nx23;

use common::{Workspace, wait_until};
use nx23::{
    App, Polled, apply_edit, break_lib, expected, installed, poll, take_warm_offer, workspace,
};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const START_WAIT: Duration = Duration::from_secs(300);
const EDIT_WAIT: Duration = Duration::from_secs(40);
/// How long a type error is given to reach an app (devloop's build fails in
/// a few seconds; the apps on source compile it in 3-6 s).
const BAD_WAIT: Duration = Duration::from_secs(20);
/// Next.js's default port, where `nx dev web` listens without PORT.
const NEXT_PORT: u16 = 3000;

#[derive(Clone, Copy, PartialEq)]
enum Setup {
    NxAlone,
    DevloopCold,
    DevloopWarm,
}

impl Setup {
    fn name(self) -> &'static str {
        match self {
            Setup::NxAlone => "nx run-many -t serve dev",
            Setup::DevloopCold => "devloop, init's setup, cold build",
            Setup::DevloopWarm => "devloop, init's setup, warm build",
        }
    }
}

/// What one app did in one setup.
struct Row {
    app: &'static str,
    served_ms: Vec<u128>,
    missed: usize,
    refused: usize,
    reset: usize,
    failed: usize,
    bad_served: bool,
}

fn main() {
    let Some(node_modules) = installed() else {
        println!("nx_serve bench: SKIPPED (node and npm are needed)");
        return;
    };
    let edits: u32 = std::env::var("BENCH_EDITS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    let mut all = Vec::new();
    for setup in [Setup::NxAlone, Setup::DevloopCold, Setup::DevloopWarm] {
        eprintln!("nx_serve bench: {} ...", setup.name());
        all.push((setup, run(&node_modules, setup, edits)));
    }
    println!(
        "\nsave -> served, {edits} lib edits then a type error and its fix, per app (nx 23.2.1, Next.js 16, release devloop)"
    );
    println!(
        "{:<36} {:<5} {:>9} {:>9} {:>10} {:>8} {:>6} {:>7} {:>11}",
        "setup", "app", "median", "max", "not served", "refused", "reset", "failed", "type error"
    );
    for (setup, rows) in &all {
        for row in rows {
            let mut sorted = row.served_ms.clone();
            sorted.sort_unstable();
            let ms = |v: Option<&u128>| {
                v.map_or("-".to_string(), |v| format!("{:.1} s", *v as f64 / 1000.0))
            };
            println!(
                "{:<36} {:<5} {:>9} {:>9} {:>10} {:>8} {:>6} {:>7} {:>11}",
                setup.name(),
                row.app,
                ms(sorted.get(sorted.len().saturating_sub(1) / 2)),
                ms(sorted.last()),
                format!("{}/{}", row.missed, edits + 1),
                row.refused,
                row.reset,
                row.failed,
                if row.bad_served { "SERVED" } else { "never" }
            );
        }
    }
}

/// One setup from a fresh copy of the workspace.
fn run(node_modules: &std::path::Path, setup: Setup, edits: u32) -> Vec<Row> {
    let ws = workspace(node_modules, true);
    let mut apps = vec![app_at(&ws, "api"), app_at(&ws, "nest")];
    let mut child = match setup {
        Setup::NxAlone => {
            assert!(
                std::net::TcpListener::bind(("127.0.0.1", NEXT_PORT)).is_ok(),
                "port {NEXT_PORT} (Next.js's default) is taken: free it for the bench"
            );
            apps.push(App {
                name: "web",
                port: NEXT_PORT,
                path: "/api/libs",
            });
            spawn(&ws, "npx", &["nx", "run-many", "-t", "serve", "dev"])
        }
        Setup::DevloopCold | Setup::DevloopWarm => {
            devloop(&ws, &["init", "--apply"]);
            if setup == Setup::DevloopWarm {
                take_warm_offer(&ws);
            }
            apps.push(App {
                name: "web",
                port: port_in_config(&ws, "web"),
                path: "/api/libs",
            });
            let bin = env!("CARGO_BIN_EXE_devloop");
            spawn(&ws, bin, &["--headless", "--json"])
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let pollers: Vec<Arc<Mutex<Polled>>> = apps
        .iter()
        .map(|app| poll(app.port, app.path, stop.clone()))
        .collect();
    let serving = |want: &str| {
        pollers
            .iter()
            .all(|p| p.lock().unwrap().last.as_deref() == Some(want))
    };
    // Every app up (answering, even with an error), then serving the first
    // values; nx alone's web never does (docs/nx-serve.md).
    wait_until(START_WAIT, || {
        pollers.iter().all(|p| {
            let p = p.lock().unwrap();
            p.answered > 0
        })
    });
    let started = wait_until(EDIT_WAIT, || serving(&expected(0)));
    eprintln!("nx_serve bench:   all apps serving the first values: {started}");
    for p in &pollers {
        let mut p = p.lock().unwrap();
        (p.refused, p.reset, p.failed) = (0, 0, 0);
    }
    let mut saved_at = Vec::new();
    for n in 1..=edits {
        let saved = Instant::now();
        apply_edit(ws.path(), n);
        wait_until(EDIT_WAIT, || serving(&expected(n)));
        saved_at.push((n, saved));
    }
    let fix = edits + 1;
    break_lib(ws.path(), fix);
    let bad_seen = |p: &Polled| p.changes.iter().any(|(_, v)| v.contains("typo"));
    wait_until(BAD_WAIT, || {
        pollers.iter().any(|p| bad_seen(&p.lock().unwrap()))
    });
    let saved = Instant::now();
    apply_edit(ws.path(), fix);
    wait_until(EDIT_WAIT, || serving(&expected(fix)));
    saved_at.push((fix, saved));

    stop.store(true, Ordering::SeqCst);
    wait_until(Duration::from_secs(90), || {
        pollers.iter().all(|p| p.lock().unwrap().done)
    });
    stop_group(&mut child);
    apps.iter()
        .zip(&pollers)
        .map(|(app, p)| {
            let p = p.lock().unwrap();
            let mut served_ms = Vec::new();
            let mut missed = 0;
            for (n, saved) in &saved_at {
                let want = expected(*n);
                match p.changes.iter().find(|(at, v)| *v == want && at >= saved) {
                    Some((at, _)) => served_ms.push((*at - *saved).as_millis()),
                    None => missed += 1,
                }
            }
            Row {
                app: app.name,
                served_ms,
                missed,
                refused: p.refused,
                reset: p.reset,
                failed: p.failed,
                bad_served: bad_seen(&p),
            }
        })
        .collect()
}

fn app_at(ws: &Workspace, name: &'static str) -> App {
    let main = ws.read(&format!("apps/{name}/src/main.ts"));
    let port = main
        .lines()
        .find(|l| l.contains("process.env.PORT"))
        .and_then(|l| {
            let digits: String = l
                .rsplit(|c: char| !c.is_ascii_digit())
                .find(|d| !d.is_empty())?
                .to_string();
            digits.parse().ok()
        })
        .expect("a default port in main.ts");
    App {
        name,
        port,
        path: "/api/libs",
    }
}

fn port_in_config(ws: &Workspace, name: &str) -> u16 {
    let config: toml::Table = toml::from_str(&ws.read("watch.toml")).expect("watch.toml");
    let port = config["process"][name]["port"].as_integer().expect("port");
    u16::try_from(port).expect("a port")
}

fn devloop(ws: &Workspace, args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_devloop"))
        .args(args)
        .current_dir(ws.path())
        .output()
        .expect("run devloop");
    assert!(out.status.success(), "devloop {args:?}: {out:?}");
}

/// The setup's command in its own process group, its output to a file.
fn spawn(ws: &Workspace, program: &str, args: &[&str]) -> Child {
    let log = std::fs::File::create(ws.path().join("bench.log")).expect("log");
    Command::new(program)
        .args(args)
        .current_dir(ws.path())
        .envs([
            ("NX_DAEMON", "false"),
            ("NX_TUI", "false"),
            ("NX_NO_CLOUD", "true"),
            ("NX_INTERACTIVE", "false"),
            ("NEXT_TELEMETRY_DISABLED", "1"),
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .process_group(0)
        .spawn()
        .expect("spawn the setup")
}

/// SIGTERM to the group (devloop stops its processes), then SIGKILL.
fn stop_group(child: &mut Child) {
    let group = child.id() as i32;
    // SAFETY: kill(2) with a negative pid signals a group this bench made.
    unsafe { libc::kill(-group, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: as above; whatever is left of the group.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    let _ = child.wait();
}
