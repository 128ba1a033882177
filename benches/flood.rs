//! Output flood benchmark (issue 5): a child printing 200,000 lines as fast as
//! it can, shown in devloop's TUI and in mprocs's, each in a real terminal
//! (tmux). Prints CPU seconds, peak RSS and key-press-to-redraw delay during
//! the flood for both. mprocs is looked up on PATH and in ~/.cargo/bin
//! (`cargo install mprocs`); without it only devloop is measured.
//!
//! Run: `cargo bench --bench flood`

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

    viewers(root);

    match mprocs() {
        Some(mprocs) => {
            let yaml = format!(
                "procs:\n  flood:\n    shell: '{}'\n  idle:\n    shell: 'echo IDLE-MARKER; sleep 600'\n",
                // YAML single quotes: a quote is written twice.
                flood_command().replace('\'', "''")
            );
            std::fs::write(root.join("mprocs.yaml"), yaml).unwrap();
            let command = format!(
                "cd {} && exec {} --config mprocs.yaml",
                root.display(),
                mprocs.display()
            );
            let done = format!("flood line {LINES}:");
            let figures = measure("mprocs", &command, &done, "j", "IDLE-MARKER", "k");
            print_figures("mprocs", &figures);
        }
        None => println!("mprocs: not found (cargo install mprocs), not measured"),
    }
}

/// The same flood with viewers attached (issue 12): the host's CPU and peak
/// RSS with none and with three (one stopped with SIGSTOP), and how long
/// after the host each live viewer shows the flood's end.
fn viewers(root: &Path) {
    let config = format!(
        "[watch]\npaths = [\"libs\"]\ndebounce = \"50ms\"\n\n[build]\ncommand = \"if [ -f libs/go ]; then {}; fi; echo flood-done-$(ls libs | wc -l)\"\noutput = \"tmp/out\"\n",
        flood_command()
    );
    std::fs::write(root.join("viewers.toml"), config).unwrap();
    println!("== the same flood with attached viewers (one of three stopped with SIGSTOP)");
    let mut base = None;
    for count in [0usize, 3] {
        let _ = std::fs::remove_file(root.join("libs/go"));
        let socket = format!("flood-viewers-{count}-{}", std::process::id());
        let tmux = |args: &[&str]| -> String {
            let out = Command::new("tmux")
                .arg("-L")
                .arg(&socket)
                .args(args)
                .output()
                .expect("tmux");
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let devloop = env!("CARGO_BIN_EXE_devloop");
        let config = root.join("viewers.toml");
        let run = |args: &str| format!("exec {devloop} {args} -c {}", config.display());
        tmux(&[
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "40",
            "-n",
            "host",
            &run("run"),
        ]);
        let wait = |window: &str, text: &str| {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !tmux(&["capture-pane", "-p", "-t", window]).contains(text)
                && Instant::now() < deadline
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            Instant::now()
        };
        wait("host", "flood-done-0");
        let names: Vec<String> = (0..count).map(|i| format!("v{i}")).collect();
        for name in &names {
            tmux(&["new-window", "-d", "-n", name, &run("attach")]);
            wait(name, "flood-done-0");
        }
        if let Some(stopped) = names.last() {
            let pid = tmux(&["display-message", "-p", "-t", stopped, "#{pane_pid}"]);
            unsafe { libc::kill(pid.trim().parse().unwrap_or(0), libc::SIGSTOP) };
        }
        let host_pid: u32 = tmux(&["display-message", "-p", "-t", "host", "#{pane_pid}"])
            .trim()
            .parse()
            .unwrap();
        let (cpu_before, _) = usage(host_pid);
        std::fs::write(root.join("libs/go"), "go").unwrap();
        let host_done = wait("host", "flood-done-1");
        let lags: Vec<f64> = names[..count.saturating_sub(1)]
            .iter()
            .map(|name| {
                wait(name, "flood-done-1")
                    .duration_since(host_done)
                    .as_secs_f64()
                    * 1e3
            })
            .collect();
        let (cpu_after, rss) = usage(host_pid);
        let cpu = cpu_after - cpu_before;
        let ratio = base.map_or(String::new(), |b: f64| {
            format!(" ({:.2}x of none)", cpu / b)
        });
        base.get_or_insert(cpu);
        let lag = if lags.is_empty() {
            String::new()
        } else {
            let max = lags.iter().copied().fold(0.0, f64::max);
            format!(" · live viewers show the end {max:.0} ms after the host (slowest)")
        };
        println!(
            "{count} viewers: host CPU during the flood {cpu:.2} s{ratio} · host peak RSS {rss:.1} MB{lag}"
        );
        if let Some(stopped) = names.last() {
            let pid = tmux(&["display-message", "-p", "-t", stopped, "#{pane_pid}"]);
            unsafe { libc::kill(pid.trim().parse().unwrap_or(0), libc::SIGCONT) };
        }
        tmux(&["kill-server"]);
        // The next run needs the workspace lock: wait for this devloop to go.
        let deadline = Instant::now() + Duration::from_secs(10);
        while root.join(".devloop/attach.sock").exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

struct Figures {
    cpu_secs: f64,
    peak_rss_mb: f64,
    key_delays_ms: Vec<f64>,
    flood_secs: f64,
}

fn print_figures(name: &str, f: &Figures) {
    let mut delays = f.key_delays_ms.clone();
    delays.sort_by(f64::total_cmp);
    let median = delays.get(delays.len() / 2).copied().unwrap_or(f64::NAN);
    let max = delays.last().copied().unwrap_or(f64::NAN);
    println!(
        "{name:<8} CPU {:.2} s · peak RSS {:.1} MB · key to redraw during the flood: median {median:.0} ms, max {max:.0} ms ({} probes) · flood shown in {:.1} s",
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
    let tmux = |args: &[&str]| -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&socket)
            .args(args)
            .output()
            .expect("tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
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

/// CPU seconds (user + system) and peak RSS of a live process.
fn usage(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()
    });
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm_kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    (ticks / hz, hwm_kib / 1024.0)
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
