//! The flood with viewers attached (issue 12): the host's CPU and peak RSS
//! with none and with three, one of them stopped with SIGSTOP, and how long
//! after the host each live viewer shows the flood's end. Several runs,
//! alternating, since the machine may be shared (`FLOOD_RUNS`, default 9).
//!
//! The live viewers are `devloop attach` in tmux windows. The stopped one
//! is `devloop attach --json` run by the bench itself: tmux resumes a
//! pane's process that is stopped, so a stopped pane would not stay so.

use super::{flood_command, usage};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Run {
    cpu: f64,
    /// Of `cpu`, in the kernel (from the 10 ms ticks of /proc/PID/stat).
    system: f64,
    rss: f64,
    lag_ms: Option<f64>,
    /// Live viewers that fell behind and attached again.
    reattached: usize,
}

pub fn viewers(root: &Path) {
    let from_build = format!(
        "[watch]\npaths = [\"libs\"]\ndebounce = \"50ms\"\n\n[build]\ncommand = \"if [ -f libs/go ]; then {}; fi; echo flood-done-$(ls libs | wc -l)\"\noutput = \"tmp/out\"\n",
        flood_command()
    );
    viewers_of(root, "the build (pipes)", &from_build);
    // A process on a terminal: viewers get its screen's bytes besides its lines.
    let from_process = format!(
        "[watch]\npaths = [\"libs\"]\n\n[build]\ncommand = \"true\"\n\n[process.flood]\ncommand = \"echo flood-done-0; while [ ! -f libs/go ]; do sleep 0.01; done; {}; echo flood-done-1; sleep 600\"\n",
        flood_command()
    );
    viewers_of(root, "a process (terminal)", &from_process);
}

fn viewers_of(root: &Path, source: &str, config: &str) {
    std::fs::write(root.join("viewers.toml"), config).unwrap();
    let runs: usize = std::env::var("FLOOD_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(9);
    println!(
        "== the same flood from {source} with attached viewers (one of three stopped with SIGSTOP)"
    );
    let (mut none, mut three) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        none.push(run(root, 0));
        three.push(run(root, 3));
        let (n, t) = (none.last().unwrap(), three.last().unwrap());
        println!(
            "none: CPU {:.3} s, peak RSS {:.1} MB · three: CPU {:.3} s ({:.2}x), peak RSS {:.1} MB, live viewers show the end {:.0} ms after the host (slowest), {} of 2 fell behind and attached again",
            n.cpu,
            n.rss,
            t.cpu,
            t.cpu / n.cpu,
            t.rss,
            t.lag_ms.unwrap_or(f64::NAN),
            t.reattached
        );
    }
    let median = |runs: &[Run], f: fn(&Run) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        (v[v.len() / 2], v[0], v[v.len() - 1])
    };
    let (n_cpu, n_lo, n_hi) = median(&none, |r| r.cpu);
    let (t_cpu, t_lo, t_hi) = median(&three, |r| r.cpu);
    let (_, _, rss_hi) = median(&three, |r| r.rss);
    let (_, _, lag_hi) = median(&three, |r| r.lag_ms.unwrap_or(f64::NAN));
    let total = |runs: &[Run]| runs.iter().map(|r| r.cpu).sum::<f64>();
    let behind = three.iter().filter(|r| r.reattached > 0).count();
    let system = |runs: &[Run]| runs.iter().map(|r| r.system).sum::<f64>() / runs.len() as f64;
    println!(
        "host CPU during the flood, median (min-max) of {runs}: none {n_cpu:.3} s ({n_lo:.3}-{n_hi:.3}), three viewers {t_cpu:.3} s ({t_lo:.3}-{t_hi:.3}): {:.2}x (all runs together {:.2}x) · peak RSS with three at most {rss_hi:.1} MB · live viewers show the end at most {lag_hi:.0} ms after the host · a live viewer fell behind in {behind} of {runs} runs · in the kernel, mean: none {:.3} s, three {:.3} s",
        t_cpu / n_cpu,
        total(&three) / total(&none),
        system(&none),
        system(&three)
    );
}

fn run(root: &Path, count: usize) -> Run {
    let _ = std::fs::remove_file(root.join("libs/go"));
    let socket = format!("flood-viewers-{count}-{}", std::process::id());
    let tmux = super::tmux_on(&socket);
    let devloop = env!("CARGO_BIN_EXE_devloop");
    let config = root.join("viewers.toml");
    let run = |args: &str| format!("exec {devloop} {args} -c {}", config.display());
    let new_session = ["new-session", "-d", "-x", "120", "-y", "40", "-n", "host"];
    tmux(&[&new_session[..], &[run("run").as_str()]].concat());
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
    let live: Vec<String> = (1..count).map(|i| format!("v{i}")).collect();
    for name in &live {
        tmux(&["new-window", "-d", "-n", name, &run("attach")]);
        wait(name, "flood-done-0");
    }
    let stopped = (count > 0).then(|| stopped_viewer(root, devloop, &config));
    let host_pid: u32 = tmux(&["display-message", "-p", "-t", "host", "#{pane_pid}"])
        .trim()
        .parse()
        .unwrap();
    let (cpu_before, _) = usage(host_pid);
    let system_before = system_secs(host_pid);
    std::fs::write(root.join("libs/go"), "go").unwrap();
    let host_done = wait("host", "flood-done-1");
    let lags: Vec<f64> = live
        .iter()
        .map(|name| {
            wait(name, "flood-done-1")
                .duration_since(host_done)
                .as_secs_f64()
                * 1e3
        })
        .collect();
    let (cpu_after, rss) = usage(host_pid);
    let system = system_secs(host_pid) - system_before;
    let reattached = live
        .iter()
        .filter(|name| tmux(&["capture-pane", "-p", "-t", name]).contains("fell behind"))
        .count();
    if let Some(mut stopped) = stopped {
        let _ = stopped.kill();
        let _ = stopped.wait();
    }
    tmux(&["kill-server"]);
    // The next run needs the workspace lock: wait for this devloop to go.
    let deadline = Instant::now() + Duration::from_secs(10);
    while root.join(".devloop/attach.sock").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    Run {
        cpu: cpu_after - cpu_before,
        system,
        rss,
        lag_ms: lags.into_iter().reduce(f64::max),
        reattached,
    }
}

/// System time of the whole process so far (threads that ended included).
fn system_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command's closing parenthesis; stime is the 13th.
    let after = stat.rsplit(')').next().unwrap_or_default();
    let ticks: f64 = after
        .split_whitespace()
        .nth(12)
        .and_then(|t| t.parse().ok())
        .unwrap_or(0.0);
    ticks / 100.0
}

/// `devloop attach --json` into a file, stopped once it has the history.
fn stopped_viewer(root: &Path, devloop: &str, config: &Path) -> std::process::Child {
    let out = root.join("stopped.out");
    let child = Command::new(devloop)
        .args(["attach", "--json", "-c"])
        .arg(config)
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("devloop attach --json");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&out).is_ok_and(|s| s.contains("flood-done-0"))
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGSTOP) };
    child
}
