//! devloop's own part of a warm cycle, per preset, against the real tools:
//! from the cycle's last write into the build output (its done line, or the
//! package.json nx writes after it) to `promoted`, and from the done line to
//! `promoted`. The bench watches the build output itself (notify) and reads
//! devloop's --json events (their `ts`); 20 edits per tool.
//! Run: `cargo bench --bench warm_end` (node and npm needed; the tools are
//! the tests' pinned installs, in their caches under target/tmp).
//! `DEVLOOP_BIN=path` measures another build of devloop (an older commit's).

#[path = "../tests/common/npm.rs"]
mod npm;
#[path = "../tests/common/nx.rs"]
mod nx;

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecursiveMode, Watcher};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const EDITS: u32 = 20;
const TOOLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/warm-tools");

/// One tool: where its workspace comes from, how it is built, what an edit is.
struct Tool {
    preset: &'static str,
    fixture: &'static str,
    cache: &'static str,
    bin: &'static str,
    command: &'static str,
    output: &'static str,
    /// The file an edit rewrites, and its text for edit `n`.
    edit: (&'static str, fn(u32) -> String),
    env: &'static [(&'static str, &'static str)],
}

fn main() {
    let ts = |n: u32| format!("export const value: number = {n};\n");
    let tools = [
        Tool {
            preset: "nx @nx/js:tsc --watch",
            fixture: nx::FIXTURE,
            cache: "e2e-nx-cache",
            bin: "nx",
            command: "nx run-many --target=build --projects=alpha,beta --configuration=devloop --watch --output-style=stream",
            output: "tmp/libs-out",
            edit: ("libs/alpha/src/value.ts", |n| {
                format!("export const ALPHA: number = {n};\n")
            }),
            env: &nx::NX_ENV,
        },
        Tool {
            preset: "tsc --watch",
            fixture: concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/warm-tsc"),
            cache: "warm-tsc-cache",
            bin: "tsc",
            command: "tsc -b -w --preserveWatchOutput",
            output: "tmp/libs-out",
            edit: ("libs/a/src/index.ts", ts),
            env: &[],
        },
        Tool {
            preset: "tsup --watch",
            fixture: TOOLS,
            cache: "warm-tools-cache",
            bin: "vite",
            command: "tsup libs/a/src/index.ts --format cjs,esm --out-dir tmp/out/a --watch libs",
            output: "tmp/out",
            edit: ("libs/a/src/index.ts", ts),
            env: &[],
        },
        Tool {
            preset: "esbuild --watch",
            fixture: TOOLS,
            cache: "warm-tools-cache",
            bin: "vite",
            command: "esbuild libs/a/src/index.ts --bundle --platform=node --format=cjs --outfile=tmp/out/a/index.js --watch",
            output: "tmp/out",
            edit: ("libs/a/src/index.ts", ts),
            env: &[],
        },
        Tool {
            preset: "vite build --watch",
            fixture: TOOLS,
            cache: "warm-tools-cache",
            bin: "vite",
            command: "vite build --watch",
            output: "tmp/out",
            edit: ("libs/a/src/index.ts", ts),
            env: &[],
        },
    ];
    let mut rows = Vec::new();
    for tool in &tools {
        let fixture = Path::new(tool.fixture);
        let Some(node_modules) = npm::installed(fixture, tool.cache, tool.bin) else {
            return;
        };
        rows.push((tool.preset, measure(tool, fixture, &node_modules)));
    }
    println!("\n{EDITS} edits per tool; ms, median / max");
    println!(
        "| preset | last write -> promoted (devloop's own) | done line -> promoted | cycles measured |"
    );
    println!("|---|---|---|---|");
    for (preset, (own, after_done)) in rows {
        println!(
            "| {preset} | {} | {} | {} |",
            figure(&own),
            figure(&after_done),
            own.len()
        );
    }
}

fn figure(ms: &[i64]) -> String {
    if ms.is_empty() {
        return "-".into();
    }
    let mut ms = ms.to_vec();
    ms.sort();
    format!("{} / {}", ms[ms.len() / 2], ms[ms.len() - 1])
}

/// (last write -> promoted, done -> promoted) of each edit, in ms.
fn measure(tool: &Tool, fixture: &Path, node_modules: &Path) -> (Vec<i64>, Vec<i64>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let ws = dir.path();
    npm::workspace_from(fixture, ws, node_modules);
    std::fs::create_dir_all(ws.join("libs")).unwrap();
    std::fs::write(
        ws.join("watch.toml"),
        format!(
            "[watch]\npaths = [\"libs\"]\ndebounce = \"100ms\"\n\n[build]\ncommand = {:?}\noutput = {:?}\npersistent = true\ntimeout = \"2m\"\n\n[promote]\ntarget = \"dist/libs\"\n",
            tool.command, tool.output
        ),
    )
    .unwrap();
    let output = ws.join(tool.output);
    std::fs::create_dir_all(&output).unwrap();
    let writes = watch_writes(&output);
    eprintln!("warm_end: {} in {}", tool.preset, ws.display());
    let binary =
        std::env::var_os("DEVLOOP_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_devloop").into());
    let mut devloop = Command::new(binary)
        .args(["--headless", "--json"])
        .current_dir(ws)
        .envs(tool.env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start devloop");
    let events = read_events(devloop.stdout.take().unwrap());
    let mut seen: Vec<Value> = Vec::new();
    let next = |seen: &mut Vec<Value>, limit: Duration| -> Option<Value> {
        let event = events.recv_timeout(limit).ok()?;
        seen.push(event.clone());
        Some(event)
    };
    // The first cycle, then a moment for the tool's watcher to be ready.
    while next(&mut seen, Duration::from_secs(300)).is_some_and(|e| e["event"] != "promoted") {}
    std::thread::sleep(Duration::from_secs(2));

    let (file, text) = tool.edit;
    let (mut own, mut after_done) = (Vec::new(), Vec::new());
    let mut edit = 0;
    while own.len() < EDITS as usize && edit < EDITS * 2 {
        edit += 1;
        let from = seen.len();
        writes.lock().unwrap().clear();
        std::fs::write(ws.join(file), text(1000 + edit)).unwrap();
        let promoted = loop {
            match next(&mut seen, Duration::from_secs(20)) {
                Some(e) if e["event"] == "promoted" => break Some(e),
                Some(_) => {}
                None => break None,
            }
        };
        let Some(promoted) = promoted else {
            eprintln!("warm_end: {}: edit {edit} was not promoted", tool.preset);
            continue;
        };
        let build = &promoted["build"];
        let promoted_at = stamp(&promoted);
        let done_at = seen[from..]
            .iter()
            .filter(|e| e["event"] == "build_output" && e["build"] == *build)
            .map(stamp)
            .max();
        let last_write = writes
            .lock()
            .unwrap()
            .iter()
            .copied()
            .filter(|at| *at <= promoted_at)
            .max();
        if let Some(done_at) = done_at {
            let end = last_write.map_or(done_at, |w| w.max(done_at));
            own.push(ms_between(end, promoted_at));
            after_done.push(ms_between(done_at, promoted_at));
        }
        std::thread::sleep(Duration::from_millis(400));
    }
    unsafe { libc::kill(devloop.id() as i32, libc::SIGTERM) };
    let _ = devloop.wait();
    (own, after_done)
}

fn ms_between(from: SystemTime, to: SystemTime) -> i64 {
    match to.duration_since(from) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    }
}

/// When each file write under `dir` finished (its close, where reported).
fn watch_writes(dir: &Path) -> Arc<Mutex<Vec<SystemTime>>> {
    let writes = Arc::new(Mutex::new(Vec::new()));
    let sink = writes.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        let wrote = matches!(
            event.kind,
            EventKind::Access(AccessKind::Close(AccessMode::Write))
                | EventKind::Create(_)
                | EventKind::Modify(_)
                | EventKind::Remove(_)
        );
        if wrote {
            sink.lock().unwrap().push(SystemTime::now());
        }
    })
    .expect("watch the build output");
    watcher
        .watch(dir, RecursiveMode::Recursive)
        .expect("watch the build output");
    // Kept for the bench's life.
    std::mem::forget(watcher);
    writes
}

fn read_events(stdout: std::process::ChildStdout) -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(event) = serde_json::from_str::<Value>(&line)
                && tx.send(event).is_err()
            {
                return;
            }
        }
    });
    rx
}

/// An event's `ts` (`2026-12-06T03:08:19.534Z`) as a time.
fn stamp(event: &Value) -> SystemTime {
    let ts = event["ts"].as_str().unwrap_or_default();
    let num = |range: std::ops::Range<usize>| -> i64 {
        ts.get(range).and_then(|s| s.parse().ok()).unwrap_or(0)
    };
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    let (h, min, s, ms) = (num(11..13), num(14..16), num(17..19), num(20..23));
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let millis = ((days * 24 + h) * 60 + min) * 60_000 + s * 1000 + ms;
    UNIX_EPOCH + Duration::from_millis(millis as u64)
}
