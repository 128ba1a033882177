//! Output flood benchmark (issue 5): a child printing 200,000 lines as fast as
//! it can, shown in devloop's TUI and in mprocs's, each in a real terminal
//! (tmux). Prints CPU seconds, peak RSS and key-press-to-redraw delay during
//! the flood for both. mprocs is looked up on PATH and in ~/.cargo/bin
//! (`cargo install mprocs`); without it only devloop is measured.
//!
//! Run: `cargo bench --bench flood` (`FLOOD_ONLY=viewers` for the viewers part
//! only, `FLOOD_ONLY=attack` for the key to redraw under hostile attach
//! clients, `FLOOD_ONLY=devloop` for devloop alone, `FLOOD_ONLY=terminal` for
//! the flood from a process on a terminal, devloop and mprocs taking turns
//! `FLOOD_RUNS` times (3 by default); `DEVLOOP_BASELINE=/path` also
//! measures that binary)

#[path = "flood/attack.rs"]
mod attack;
#[path = "../tests/common/noise.rs"]
mod noise;
#[path = "flood/viewers.rs"]
mod viewers;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const LINES: u32 = 200_000;
const KEY_PROBES: usize = 5;

fn flood_command() -> String {
    format!("seq -f 'flood line %g: the quick brown fox jumps over the lazy dog' 1 {LINES}")
}

fn main() {
    if Command::new("tmux").arg("-V").output().is_err() {
        println!("tmux is not installed: nothing measured");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("libs")).unwrap();
    let config = format!(
        "[watch]\npaths = [\"libs\"]\n\n[build]\ncommand = \"{}\"\noutput = \"tmp/out\"\n",
        flood_command()
    );
    std::fs::write(root.join("watch.toml"), config).unwrap();
    let devloop = format!(
        "exec {} -c {}",
        env!("CARGO_BIN_EXE_devloop"),
        root.join("watch.toml").display()
    );
    match std::env::var("FLOOD_ONLY").as_deref() {
        Ok("viewers") => return viewers::viewers(root),
        Ok("attack") => return attack::attack(root),
        Ok("terminal") => return terminal_turns(),
        _ => {}
    }
    println!("== {LINES} lines as fast as a child can print them, 120x40 terminal");
    let figures = measure(
        "devloop",
        &devloop,
        "build #1 ✔ ok",
        "?",
        "any key closes this help",
        "Escape",
    );
    print_figures("devloop", &figures);

    // The same flood from a process, which the TUI runs on a terminal and
    // shows through its vt100 screen, as mprocs does below.
    let devloop_binary = Path::new(env!("CARGO_BIN_EXE_devloop"));
    print_figures(
        "devloop, from a process on a terminal",
        &devloop_on_terminal(devloop_binary),
    );

    // Another devloop binary in the same run (the npm package's static musl
    // build, say): `DEVLOOP_BASELINE=/path/to/devloop`.
    if let Some(baseline) = std::env::var_os("DEVLOOP_BASELINE") {
        // A workspace of its own: the first devloop may still hold the lock
        // of the one above for a moment after its terminal is gone.
        let other = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(other.path().join("libs")).unwrap();
        std::fs::copy(root.join("watch.toml"), other.path().join("watch.toml")).unwrap();
        let command = format!(
            "exec {} -c {}",
            Path::new(&baseline).display(),
            other.path().join("watch.toml").display()
        );
        let figures = measure(
            "baseline",
            &command,
            "build #1 ✔ ok",
            "?",
            "any key closes this help",
            "Escape",
        );
        print_figures("baseline", &figures);
    }
    if std::env::var("FLOOD_ONLY").as_deref() == Ok("devloop") {
        return;
    }

    viewers::viewers(root);
    attack::attack(root);

    match mprocs() {
        Some(mprocs) => print_figures("mprocs", &measure_mprocs(&mprocs)),
        None => println!("mprocs: not found (cargo install mprocs), not measured"),
    }
}

/// The flood from a process, in devloop's TUI (on a terminal, drawn
/// through its vt100 screen).
fn devloop_on_terminal(binary: &Path) -> Figures {
    let on_terminal = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(on_terminal.path().join("libs")).unwrap();
    let config = format!(
        "[watch]\npaths = [\"libs\"]\n\n[build]\ncommand = \"true\"\n\n[process.flood]\ncommand = \"{}; sleep 600\"\n\n[process.idle]\ncommand = \"echo IDLE-MARKER; sleep 600\"\n",
        flood_command()
    );
    std::fs::write(on_terminal.path().join("watch.toml"), config).unwrap();
    let command = format!(
        "exec {} -c {}",
        binary.display(),
        on_terminal.path().join("watch.toml").display()
    );
    let done = format!("flood line {LINES}:");
    measure(
        "pty",
        &command,
        &done,
        "?",
        "any key closes this help",
        "Escape",
    )
}

/// The same flood and the same idle process in mprocs.
fn measure_mprocs(mprocs: &Path) -> Figures {
    let dir = tempfile::tempdir().expect("temp dir");
    let yaml = format!(
        "procs:\n  flood:\n    shell: '{}'\n  idle:\n    shell: 'echo IDLE-MARKER; sleep 600'\n",
        // YAML single quotes: a quote is written twice.
        flood_command().replace('\'', "''")
    );
    std::fs::write(dir.path().join("mprocs.yaml"), yaml).unwrap();
    let command = format!(
        "cd {} && exec {} --config mprocs.yaml",
        dir.path().display(),
        mprocs.display()
    );
    let done = format!("flood line {LINES}:");
    measure("mprocs", &command, &done, "j", "IDLE-MARKER", "k")
}

/// devloop and mprocs (and `DEVLOOP_BASELINE`, if set) take turns with the
/// flood from a process on a terminal, `FLOOD_RUNS` times each: single runs
/// differ by a few hundred KB of peak RSS.
fn terminal_turns() {
    let runs: usize = std::env::var("FLOOD_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let mprocs = mprocs();
    if mprocs.is_none() {
        println!("mprocs: not found (cargo install mprocs), devloop alone");
    }
    println!("== {LINES} lines from a process on a terminal, {runs} turns each");
    let baseline = std::env::var_os("DEVLOOP_BASELINE").map(PathBuf::from);
    let (mut ours, mut theirs, mut base) = (Vec::new(), Vec::new(), Vec::new());
    for turn in 1..=runs {
        let figures = devloop_on_terminal(Path::new(env!("CARGO_BIN_EXE_devloop")));
        print_figures(&format!("devloop #{turn}"), &figures);
        ours.push(figures);
        if let Some(baseline) = &baseline {
            let figures = devloop_on_terminal(baseline);
            print_figures(&format!("baseline #{turn}"), &figures);
            base.push(figures);
        }
        if let Some(mprocs) = &mprocs {
            let figures = measure_mprocs(mprocs);
            print_figures(&format!("mprocs #{turn}"), &figures);
            theirs.push(figures);
        }
    }
    print_medians("devloop", &ours);
    if !base.is_empty() {
        print_medians("baseline", &base);
    }
    if !theirs.is_empty() {
        print_medians("mprocs", &theirs);
    }
}

/// The median of `values` (the upper one of an even count); NaN for none.
fn median(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().collect();
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn print_medians(name: &str, runs: &[Figures]) {
    let of = |f: fn(&Figures) -> f64| median(runs.iter().map(f));
    let rss: Vec<String> = runs
        .iter()
        .map(|f| format!("{:.1}", f.peak_rss_mb))
        .collect();
    println!(
        "{name:<8} median of {}: CPU {:.2} s · peak RSS {:.1} MB (runs: {}) · key to redraw median {:.0} ms",
        runs.len(),
        of(|f| f.cpu_secs),
        of(|f| f.peak_rss_mb),
        rss.join(", "),
        of(|f| median(f.key_delays_ms.iter().copied())),
    );
}

struct Figures {
    cpu_secs: f64,
    peak_rss_mb: f64,
    key_delays_ms: Vec<f64>,
    flood_secs: f64,
}

fn print_figures(name: &str, f: &Figures) {
    let delays = &f.key_delays_ms;
    let median = median(delays.iter().copied());
    let max = delays.iter().copied().fold(f64::NAN, f64::max);
    println!(
        "{name:<8}\n         CPU {:.2} s · peak RSS {:.1} MB · key to redraw during the flood: median {median:.0} ms, max {max:.0} ms ({} probes) · flood shown in {:.1} s",
        f.cpu_secs,
        f.peak_rss_mb,
        delays.len(),
        f.flood_secs
    );
}

fn measure(
    name: &str,
    command: &str,
    done: &str,
    key: &str,
    key_shows: &str,
    key_undo: &str,
) -> Figures {
    let socket = format!("flood-{name}-{}", std::process::id());
    let tmux = tmux_on(&socket);
    let started = Instant::now();
    tmux(&["new-session", "-d", "-x", "120", "-y", "40", command]);
    let pid: u32 = tmux(&["display-message", "-p", "#{pane_pid}"])
        .trim()
        .parse()
        .expect("pane pid");
    let mut key_delays_ms = Vec::new();
    let deadline = started + Duration::from_secs(120);
    loop {
        let screen = tmux(&["capture-pane", "-p"]);
        if screen.contains(done) || Instant::now() > deadline {
            break;
        }
        if key_delays_ms.len() < KEY_PROBES && screen.contains("flood line") {
            let pressed = Instant::now();
            tmux(&["send-keys", key]);
            while !tmux(&["capture-pane", "-p"]).contains(key_shows)
                && pressed.elapsed() < Duration::from_secs(10)
            {}
            key_delays_ms.push(pressed.elapsed().as_secs_f64() * 1e3);
            tmux(&["send-keys", key_undo]);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let flood_secs = started.elapsed().as_secs_f64();
    let (cpu_secs, peak_rss_mb) = usage(pid);
    tmux(&["kill-server"]);
    Figures {
        cpu_secs,
        peak_rss_mb,
        key_delays_ms,
        flood_secs,
    }
}

/// Runs tmux commands on a server of its own (`-L socket`); their stdout.
fn tmux_on(socket: &str) -> impl Fn(&[&str]) -> String + '_ {
    move |args| {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(socket)
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// CPU seconds and peak RSS of a live process. The CPU is the scheduler's
/// own count in nanoseconds over all its threads (schedstat), where
/// /proc/PID/stat's user and system times are sampled in 10 ms ticks.
fn usage(pid: u32) -> (f64, f64) {
    let mut nanos = 0u64;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            nanos += stat
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm_kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    (nanos as f64 / 1e9, hwm_kib / 1024.0)
}

fn mprocs() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let candidates = [PathBuf::from("mprocs"), home.join(".cargo/bin/mprocs")];
    candidates.into_iter().find(|path| {
        Command::new(path)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
            || Path::new(path).is_file()
    })
}
