//! A working day, compressed: devloop (release) on a workspace where a lib
//! is edited every 400 ms (a build and a promotion each), one process is
//! restarted on every promotion, another crashes in a loop, attach viewers
//! come and go, and every two minutes a build floods 50,000 lines. Sampled
//! every 15 s: devloop's RSS, open descriptors, threads, inotify watches,
//! kept generation directories, `.devloop/children` entries and zombie
//! children. Printed: the curve, and per figure whether it is flat after
//! warm-up (the last sample within 10% of the first, and no upward trend
//! over the second half).
//!
//! Run: `cargo bench --bench soak` (20 minutes; `SOAK_MINUTES=N` for
//! another length; `SOAK_WITHOUT=flood,viewers` leaves those out, to find
//! which part a growth comes with; `SOAK_BINARY=/path` soaks that devloop). Linux only: the figures come from /proc.

use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const EDIT_EVERY: Duration = Duration::from_millis(400);
const SAMPLE_EVERY: Duration = Duration::from_secs(15);
const VIEWERS_EVERY: Duration = Duration::from_secs(20);
const FLOOD_EVERY: Duration = Duration::from_secs(120);
const WARM_UP: Duration = Duration::from_secs(120);

const CONFIG: &str = r#"[watch]
paths = ["libs"]
debounce = "100ms"

[build]
command = "mkdir -p tmp/out && cp libs/a/*.ts tmp/out/ && if [ -f libs/flood ]; then seq 50000; fi"
output = "tmp/out"

[promote]
target = "dist/libs"
keep = 3

[process.server]
command = "exec sleep 100000"
after = ["build"]
on_promote = "restart"

[process.crashy]
command = "sleep 0.3; exit 1"
after = ["build"]

# What a new viewer is shown keeps this many events per pane: full after
# about 250 builds here (10,000, the default, takes 2,500: most of the run).
[ui]
scrollback = 1000
"#;

/// What devloop said, counted as it streams by (nothing kept).
#[derive(Default)]
struct Counts {
    builds: AtomicU64,
    promoted: AtomicU64,
    restarts: AtomicU64,
    crashes: AtomicU64,
    errors: AtomicU64,
    lines: AtomicU64,
}

struct Sample {
    at: Duration,
    rss_kib: u64,
    fds: u64,
    threads: u64,
    watches: u64,
    generations: u64,
    children: u64,
    zombies: u64,
}

const FIGURES: [&str; 7] = [
    "RSS KiB",
    "fds",
    "threads",
    "inotify watches",
    "generations",
    "children entries",
    "zombies",
];

impl Sample {
    fn values(&self) -> [u64; 7] {
        [
            self.rss_kib,
            self.fds,
            self.threads,
            self.watches,
            self.generations,
            self.children,
            self.zombies,
        ]
    }
}

fn main() {
    if !Path::new("/proc/self/status").exists() {
        println!("soak: needs /proc (Linux): not run");
        return;
    }
    let minutes: u64 = std::env::var("SOAK_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(20);
    let length = Duration::from_secs(minutes * 60);
    let without = std::env::var("SOAK_WITHOUT").unwrap_or_default();
    let (floods, with_viewers) = (!without.contains("flood"), !without.contains("viewers"));
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("libs/a")).unwrap();
    for i in 0..10 {
        write(
            &root,
            &format!("libs/a/f{i}.ts"),
            &format!("export const v{i} = 0;\n"),
        );
    }
    std::fs::write(root.join("watch.toml"), CONFIG).unwrap();
    // SOAK_BINARY: another build, such as the npm package's static musl one.
    let binary = std::env::var("SOAK_BINARY").unwrap_or(env!("CARGO_BIN_EXE_devloop").into());
    let mut devloop = Command::new(&binary)
        .args(["--headless", "--json", "-c"])
        .arg(root.join("watch.toml"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start devloop");
    let pid = devloop.id();
    let counts = Arc::new(Counts::default());
    count_events(devloop.stdout.take().unwrap(), counts.clone());
    println!(
        "soak: {minutes} min on {}, devloop pid {pid}",
        root.display()
    );

    let started = Instant::now();
    let mut samples = Vec::new();
    let (mut next_edit, mut next_sample) = (started, started);
    // The first flood comes within the warm-up: it is part of what a
    // process has seen once before its memory can be called settled.
    let (mut next_viewers, mut next_flood) = (started + VIEWERS_EVERY, started + FLOOD_EVERY / 2);
    let mut viewers: Vec<Child> = Vec::new();
    let mut edit = 0u64;
    while started.elapsed() < length {
        let now = Instant::now();
        if now >= next_edit {
            edit += 1;
            let file = format!("libs/a/f{}.ts", edit % 10);
            write(&root, &file, &format!("export const v = {edit};\n"));
            let _ = std::fs::remove_file(root.join("libs/flood"));
            next_edit += EDIT_EVERY;
        }
        if now >= next_flood {
            if floods {
                write(&root, "libs/flood", "1");
            }
            next_flood += FLOOD_EVERY;
        }
        if now >= next_viewers && !with_viewers {
            next_viewers += VIEWERS_EVERY;
        } else if now >= next_viewers {
            // Last round's viewers leave; new ones come: two `attach --json`
            // and a raw connection that hangs up at once.
            for mut viewer in viewers.drain(..) {
                let _ = viewer.kill();
                let _ = viewer.wait();
            }
            for _ in 0..2 {
                let viewer = Command::new(&binary)
                    .args(["attach", "--json", "-c"])
                    .arg(root.join("watch.toml"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn();
                viewers.extend(viewer);
            }
            drop(UnixStream::connect(root.join(".devloop/attach.sock")));
            next_viewers += VIEWERS_EVERY;
        }
        if now >= next_sample {
            let sample = sample(pid, &root, started.elapsed());
            print_sample(&sample, &counts);
            samples.push(sample);
            next_sample += SAMPLE_EVERY;
        }
        let next = [next_edit, next_sample, next_viewers, next_flood]
            .into_iter()
            .min()
            .unwrap();
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    for mut viewer in viewers {
        let _ = viewer.kill();
        let _ = viewer.wait();
    }
    rustix::process::kill_process(
        rustix::process::Pid::from_raw(pid as i32).unwrap(),
        rustix::process::Signal::TERM,
    )
    .ok();
    let status = devloop.wait().expect("devloop's status");
    println!(
        "soak: {} builds, {} promotions, {} restarts on promotion, {} crashes, {} error events, {} output lines; devloop exited with {status}",
        counts.builds.load(Ordering::Relaxed),
        counts.promoted.load(Ordering::Relaxed),
        counts.restarts.load(Ordering::Relaxed),
        counts.crashes.load(Ordering::Relaxed),
        counts.errors.load(Ordering::Relaxed),
        counts.lines.load(Ordering::Relaxed),
    );
    verdict(&samples);
}

fn write(root: &Path, rel: &str, text: &str) {
    std::fs::write(root.join(rel), text).unwrap();
}

fn count_events(stdout: std::process::ChildStdout, counts: Arc<Counts>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            let count = |counter: &AtomicU64| counter.fetch_add(1, Ordering::Relaxed);
            if line.contains(r#""event":"build_started""#) {
                count(&counts.builds);
            } else if line.contains(r#""event":"promoted""#) {
                count(&counts.promoted);
            } else if line.contains(r#""event":"process_restarting""#)
                && line.contains(r#""reason":"promoted""#)
            {
                count(&counts.restarts);
            } else if line.contains(r#""event":"process_exited""#)
                && line.contains(r#""process":"crashy""#)
            {
                count(&counts.crashes);
            } else if line.contains(r#""event":"error""#) {
                count(&counts.errors);
            } else if line.contains(r#""event":"build_output""#) {
                count(&counts.lines);
            }
        }
    });
}

fn sample(pid: u32, root: &Path, at: Duration) -> Sample {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let fd_dir = PathBuf::from(format!("/proc/{pid}/fd"));
    let fds: Vec<_> = std::fs::read_dir(&fd_dir)
        .map(|d| d.flatten().collect())
        .unwrap_or_default();
    // Each inotify descriptor lists one `inotify wd:` line per watch.
    let watches = fds
        .iter()
        .filter(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy().contains("inotify"))
        })
        .map(|fd| {
            let info = format!("/proc/{pid}/fdinfo/{}", fd.file_name().to_string_lossy());
            std::fs::read_to_string(info)
                .unwrap_or_default()
                .lines()
                .filter(|l| l.starts_with("inotify wd:"))
                .count() as u64
        })
        .sum();
    let generations = std::fs::read_dir(root.join("dist"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().contains(".gen-"))
                .count() as u64
        })
        .unwrap_or(0);
    let children = std::fs::read_to_string(root.join(".devloop/children"))
        .map(|t| t.lines().count() as u64)
        .unwrap_or(0);
    Sample {
        at,
        rss_kib: field("VmRSS:"),
        fds: fds.len() as u64,
        threads: field("Threads:"),
        watches,
        generations,
        children,
        zombies: zombies_of(pid),
    }
}

/// Children of `pid` that have exited and not been waited for.
fn zombies_of(pid: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
        .filter(|stat| {
            let mut rest = stat
                .rsplit_once(')')
                .map(|(_, r)| r.split_whitespace())
                .into_iter()
                .flatten();
            let state = rest.next();
            let parent = rest.next().and_then(|p| p.parse::<u32>().ok());
            state == Some("Z") && parent == Some(pid)
        })
        .count() as u64
}

fn print_sample(sample: &Sample, counts: &Counts) {
    if sample.at.is_zero() {
        println!(
            "{:>6} {:>9} {:>5} {:>8} {:>8} {:>12} {:>9} {:>8} | {:>7} {:>9} {:>9} {:>8}",
            "min",
            "RSS KiB",
            "fds",
            "threads",
            "watches",
            "generations",
            "children",
            "zombies",
            "builds",
            "promoted",
            "restarts",
            "crashes"
        );
    }
    println!(
        "{:>6.1} {:>9} {:>5} {:>8} {:>8} {:>12} {:>9} {:>8} | {:>7} {:>9} {:>9} {:>8}",
        sample.at.as_secs_f64() / 60.0,
        sample.rss_kib,
        sample.fds,
        sample.threads,
        sample.watches,
        sample.generations,
        sample.children,
        sample.zombies,
        counts.builds.load(Ordering::Relaxed),
        counts.promoted.load(Ordering::Relaxed),
        counts.restarts.load(Ordering::Relaxed),
        counts.crashes.load(Ordering::Relaxed),
    );
}

/// Flat after warm-up: the last sample within 10% (or 2, for small counts)
/// of the first, and no rise beyond that with a least-squares slope over
/// the second half of 5% of the level per hour or more.
fn verdict(samples: &[Sample]) {
    let after: Vec<&Sample> = samples.iter().filter(|s| s.at >= WARM_UP).collect();
    if after.len() < 4 {
        println!(
            "soak: too short for a verdict (warm-up is {} s)",
            WARM_UP.as_secs()
        );
        return;
    }
    let half = &after[after.len() / 2..];
    for (i, name) in FIGURES.iter().enumerate() {
        let first = after[0].values()[i] as f64;
        let last = after[after.len() - 1].values()[i] as f64;
        let points: Vec<(f64, f64)> = half
            .iter()
            .map(|s| (s.at.as_secs_f64() / 3600.0, s.values()[i] as f64))
            .collect();
        let slope = slope(&points);
        let level = first.max(1.0);
        // Small counts (threads, entries) move by one now and then.
        let tolerance = (first * 0.1).max(2.0);
        let within = (last - first).abs() <= tolerance;
        let rising = slope > level * 0.05 && last > first + tolerance;
        println!(
            "soak: {name:<17} first {first:>9} last {last:>9}, slope {slope:>+10.1}/h over the second half: {}",
            if within && !rising { "flat" } else { "GROWS" }
        );
    }
}

fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let num: f64 = points.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    let den: f64 = points.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    if den == 0.0 { 0.0 } else { num / den }
}
