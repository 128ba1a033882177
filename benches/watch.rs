//! Watcher benchmark (issues 2 and 11): a generated tree of 240 lib
//! directories of 10 files plus a node_modules of 5,500 directories of 10
//! files inside the watched path. Prints directories watched, time to
//! `watching`, idle RSS, whether reading every source file causes events, and
//! edit-to-`build_started` latency at a 500 ms debounce (median of 8).
//!
//! Run: `cargo bench --bench watch`. With `DEVLOOP_BASELINE=/path/to/devloop`
//! (another build, say of the commit before notify) it measures that binary
//! too, in the same run, on the same trees.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const LIBS: usize = 240;
const PACKAGES: usize = 5_500;
const FILES_PER_DIR: usize = 10;
const EDITS: usize = 8;
const DEBOUNCE_MS: u64 = 500;
static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1000);

fn main() {
    for gitignore in [false, true] {
        let tree = generate(gitignore);
        let label = if gitignore {
            "with a .gitignore"
        } else {
            "without a .gitignore"
        };
        println!("== {LIBS} lib dirs + node_modules of {PACKAGES} dirs ({label})");
        println!("-- this build");
        measure(Path::new(env!("CARGO_BIN_EXE_devloop")), tree.path());
        if let Some(baseline) = std::env::var_os("DEVLOOP_BASELINE") {
            println!("-- baseline {}", Path::new(&baseline).display());
            measure(Path::new(&baseline), tree.path());
        }
    }
}

fn generate(gitignore: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    for lib in 0..LIBS {
        write_files(&root.join(format!("libs/lib{lib:03}")), "ts");
    }
    for package in 0..PACKAGES {
        write_files(
            &root.join(format!("libs/node_modules/pkg{package:04}")),
            "js",
        );
    }
    if gitignore {
        std::fs::write(root.join(".gitignore"), "node_modules\ndist\ntmp\n").unwrap();
    }
    let config = format!(
        "[watch]\npaths = [\"libs\"]\ndebounce = \"{DEBOUNCE_MS}ms\"\n\n[build]\ncommand = \"true\"\noutput = \"tmp/out\"\n"
    );
    std::fs::write(root.join("watch.toml"), config).unwrap();
    // Write the tree back now, not during the first measurement.
    unsafe { libc::sync() };
    dir
}

fn write_files(dir: &Path, extension: &str) {
    std::fs::create_dir_all(dir).unwrap();
    for file in 0..FILES_PER_DIR {
        std::fs::write(
            dir.join(format!("f{file}.{extension}")),
            format!("export const v = {file};\n"),
        )
        .unwrap();
    }
}

struct Running {
    child: Child,
    events: mpsc::Receiver<(Instant, Value)>,
}

impl Running {
    fn wait(&self, event: &str) -> (Instant, Value) {
        loop {
            let (at, value) = self
                .events
                .recv_timeout(Duration::from_secs(30))
                .expect("devloop went quiet");

            if value["event"] == event {
                return (at, value);
            }
        }
    }
}

fn measure(program: &Path, root: &Path) {
    let spawned = Instant::now();
    let mut child = Command::new(program)
        .args(["--headless", "--json", "-c"])
        .arg(root.join("watch.toml"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start devloop");
    let stdout = child.stdout.take().unwrap();
    let (tx, events) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let value: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if tx.send((Instant::now(), value)).is_err() {
                return;
            }
        }
    });
    let running = Running { child, events };
    let (at, watching) = running.wait("watching");
    running.wait("build_finished");
    let pid = running.child.id();
    println!(
        "directories watched      {} (kernel watches held: {})",
        watching["dirs"],
        inotify_watches(pid)
    );
    println!("setup (watching.ms)      {} ms", watching["ms"]);
    println!(
        "spawn to `watching`      {:.1} ms",
        (at - spawned).as_secs_f64() * 1e3
    );
    std::thread::sleep(Duration::from_secs(1));
    println!(
        "idle RSS                 {:.1} MB",
        rss_kib(pid) as f64 / 1024.0
    );

    // Tools read the sources all the time (tsc, eslint, editors): no events.
    let mut read = 0;
    for _ in 0..5 {
        for lib in 0..LIBS {
            for file in 0..FILES_PER_DIR {
                let path = root.join(format!("libs/lib{lib:03}/f{file}.ts"));
                read += std::fs::read(path).map_or(0, |b| b.len());
            }
        }
    }
    // A marker edit: paths the reads reported share its batch.
    let value = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::fs::write(
        root.join("libs/lib000/f9.ts"),
        format!("export const v = {value};\n"),
    )
    .unwrap();
    let (_, change) = running.wait("change");
    running.wait("build_finished");
    println!(
        "reads of all sources x5  {} paths in the next batch besides the edited one ({read} bytes read)",
        change["count"].as_u64().unwrap_or(0).saturating_sub(1)
    );

    let mut latencies = Vec::new();
    for edit in 0..EDITS {
        let file = root.join(format!("libs/lib{:03}/f0.ts", edit * 7));
        // New content on every run, or a second binary's build is skipped.
        let value = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::fs::write(&file, format!("export const v = {value};\n")).unwrap();
        let written = Instant::now();
        let (started, _) = running.wait("build_started");
        running.wait("build_finished");
        latencies.push((started - written).as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(100));
    }
    latencies.sort_by(f64::total_cmp);
    let median = (latencies[EDITS / 2 - 1] + latencies[EDITS / 2]) / 2.0;
    println!(
        "edit to build_started    median {median:.1} ms (debounce {DEBOUNCE_MS} ms; overhead {:.1} ms; min {:.1}, max {:.1})",
        median - DEBOUNCE_MS as f64,
        latencies[0],
        latencies[EDITS - 1]
    );
    let Running { mut child, .. } = running;
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let _ = child.wait();
}

fn inotify_watches(pid: u32) -> usize {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return 0;
    };
    fds.flatten()
        .filter_map(|fd| std::fs::read_to_string(fd.path()).ok())
        .map(|info| {
            info.lines()
                .filter(|l| l.starts_with("inotify wd:"))
                .count()
        })
        .sum()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}
