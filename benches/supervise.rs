//! Supervisor figures, on the real binary: how much later than its backoff
//! delay a crashed process is running again, and devloop's own CPU use while
//! three processes idle. Run with `cargo bench --bench supervise`.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Devloop, Workspace, config_with_processes, free_port};
use serde_json::json;
use std::time::{Duration, SystemTime};

/// Crash-loop cycles: each gives restarts at 500, 1000 and 2000 ms.
const CYCLES: usize = 8;
const IDLE: Duration = Duration::from_secs(30);

fn main() {
    restart_latency();
    idle_cpu();
}

/// The child prints the time as it starts and exits right after, so the gap
/// between two lines is: exit, the backoff delay, spawn, `sh` and `date`.
fn restart_latency() {
    let workspace = Workspace::new(&config_with_processes(
        "true",
        "[process.crash]\ncommand = \"date +%s%N; exit 1\"\n",
    ));
    let mut devloop = Devloop::start(&workspace);
    let mut samples: Vec<(u64, f64)> = Vec::new();
    let mut last: Option<u64> = None;
    let mut delay: Option<u64> = None;
    let mut cycles = 0;
    while cycles < CYCLES {
        let event = devloop.wait_for("crash events", |e| e["process"] == "crash");
        match event["event"].as_str() {
            Some("process_output") => {
                let at: u64 = event["line"].as_str().and_then(|l| l.parse().ok()).unwrap();
                if let (Some(before), Some(ms)) = (last, delay.take()) {
                    let overhead = (at - before) as f64 / 1e6 - ms as f64;
                    samples.push((ms, overhead));
                }
                last = Some(at);
            }
            Some("process_restarting") => delay = event["in_ms"].as_u64(),
            Some("process_failed") => {
                // Started by hand: not a backoff restart, so no sample.
                cycles += 1;
                last = None;
                devloop.send("s crash");
            }
            _ => {}
        }
    }
    assert!(devloop.stop().success());
    let baseline = shell_baseline();
    println!("exit-to-restart latency over the backoff delay ({CYCLES} crash loops):");
    for ms in [500, 1000, 2000] {
        let of: Vec<f64> = samples.iter().filter(|s| s.0 == ms).map(|s| s.1).collect();
        println!("  delay {ms:>4} ms: {}", summary(&of));
    }
    let all: Vec<f64> = samples.iter().map(|s| s.1).collect();
    println!("  all          : {}", summary(&all));
    println!("  of which sh + date start-up (measured without devloop): {baseline:.2} ms median");
}

/// The same gap with no supervisor in between: one `sh -c 'date; exit 1'`
/// right after another.
fn shell_baseline() -> f64 {
    let stamp = || {
        let out = std::process::Command::new("sh")
            .args(["-c", "date +%s%N; exit 1"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u64>()
            .unwrap()
    };
    let mut gaps: Vec<f64> = (0..20)
        .map(|_| {
            let first = stamp();
            (stamp() - first) as f64 / 1e6
        })
        .collect();
    gaps.sort_by(f64::total_cmp);
    gaps[gaps.len() / 2]
}

fn summary(values: &[f64]) -> String {
    if values.is_empty() {
        return "no samples".into();
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
    format!(
        "n={:<3} median {:.2} ms, mean {:.2} ms, max {:.2} ms",
        sorted.len(),
        sorted[sorted.len() / 2],
        mean,
        sorted[sorted.len() - 1]
    )
}

/// devloop's CPU time over 30 s with three idle processes: an http server
/// and a tcp server, each probed every second, and a plain `sleep`.
fn idle_cpu() {
    let (web, api) = (free_port(), free_port());
    let processes = format!(
        r#"
[process.web]
command = '''node -e 'require("http").createServer((q, r) => r.end("ok")).listen({web}, "127.0.0.1")' '''
health = {{ http = "http://127.0.0.1:{web}/", interval = "1s" }}

[process.api]
command = '''node -e 'require("net").createServer(s => s.end()).listen({api}, "127.0.0.1")' '''
health = {{ tcp = {api}, interval = "1s" }}

[process.worker]
command = "sleep 100000"
"#
    );
    let workspace = Workspace::new(&config_with_processes("true", &processes));
    let mut devloop = Devloop::start(&workspace);
    for name in ["web", "api", "worker"] {
        devloop.seen_or_wait("process_ready", &[("process", json!(name))]);
    }
    let before = cpu_ticks(devloop.pid());
    let started = SystemTime::now();
    std::thread::sleep(IDLE);
    let ticks = cpu_ticks(devloop.pid()) - before;
    let wall = SystemTime::now().duration_since(started).unwrap_or(IDLE);
    assert!(devloop.stop().success());
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let cpu = ticks as f64 / hz;
    println!(
        "devloop CPU over {:.0} s idle with 3 processes (2 probed every 1 s): {:.3} s = {:.3} % of one core",
        wall.as_secs_f64(),
        cpu,
        100.0 * cpu / wall.as_secs_f64()
    );
}

/// utime + stime of `pid`, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    // Fields 14 and 15; the first after the name is field 3.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}
