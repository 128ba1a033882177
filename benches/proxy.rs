//! The cost of `proxy = true`, on the real binary: one node HTTP server
//! behind devloop's proxy and the same server reached directly, in the same
//! run, taking turns. Latency at a paced 1,000 requests/s (a new connection
//! per request, and one kept-alive connection), and the most requests/s a few
//! kept-alive clients get through each. Run with `cargo bench --bench proxy`.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Devloop, Workspace, config_with_processes, free_port};
use serde_json::json;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Requests per paced round, one every millisecond.
const PACED: usize = 1_000;
const ROUNDS: usize = 4;
/// Concurrent clients and length of a throughput round.
const CLIENTS: usize = 4;
const BURST: Duration = Duration::from_secs(2);

const SERVER: &str = r#"
require("http").createServer((req, res) => res.end("ok"))
  .listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening"));
"#;

fn main() {
    let proxied = free_port();
    let processes =
        format!("[process.web]\ncommand = \"node server.js\"\nport = {proxied}\nproxy = true\n");
    let workspace = Workspace::new(&config_with_processes("true", &processes));
    workspace.write("server.js", SERVER);
    let mut devloop = Devloop::start(&workspace);
    devloop.wait_event("process_ready", &[("process", json!("web"))]);
    let (direct, mut server) = direct_server(&workspace);

    let targets = [("direct", direct), ("proxy", proxied)];
    for (mode, keep_alive) in [
        ("new connection per request", false),
        ("kept-alive connection", true),
    ] {
        let mut samples = [Vec::new(), Vec::new()];
        for _ in 0..ROUNDS {
            for (slot, (_, port)) in targets.iter().enumerate() {
                samples[slot].extend(paced(*port, keep_alive));
            }
        }
        println!(
            "latency at 1,000 requests/s, {mode} ({} requests each):",
            PACED * ROUNDS
        );
        for (slot, (name, _)) in targets.iter().enumerate() {
            println!("  {name:>6}: {}", summary(&mut samples[slot]));
        }
        let added = median(&mut samples[1]) - median(&mut samples[0]);
        println!("  added median latency: {:.3} ms", added * 1e3);
    }

    let mut rates = [0.0, 0.0];
    for _ in 0..ROUNDS / 2 {
        for (slot, (_, port)) in targets.iter().enumerate() {
            rates[slot] += throughput(*port);
        }
    }
    println!("throughput, {CLIENTS} kept-alive clients as fast as they go:");
    for (slot, (name, _)) in targets.iter().enumerate() {
        println!(
            "  {name:>6}: {:.0} requests/s",
            rates[slot] / (ROUNDS / 2) as f64
        );
    }
    println!(
        "  through the proxy: {:.1}% of direct",
        rates[1] / rates[0] * 100.0
    );

    let _ = server.kill();
    let _ = server.wait();
    assert!(devloop.stop().success());
}

/// The same server, started by the bench on a port of its own.
fn direct_server(workspace: &Workspace) -> (u16, Child) {
    let port = free_port();
    let mut child = Command::new("node")
        .arg("server.js")
        .env("PORT", port.to_string())
        .current_dir(workspace.path())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "listening");
    (port, child)
}

/// PACED requests, one every millisecond (at once when behind); each one's
/// seconds from connect or write to the whole answer.
fn paced(port: u16, keep_alive: bool) -> Vec<f64> {
    let mut kept = keep_alive.then(|| connect(port));
    let start = Instant::now();
    let limit = start + Duration::from_secs(10);
    let mut times = Vec::with_capacity(PACED);
    for i in 0..PACED {
        let due = start + Duration::from_millis(i as u64);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if Instant::now() > limit {
            break;
        }
        let began = Instant::now();
        match &mut kept {
            Some(stream) => request(stream, true),
            None => request(&mut connect(port), false),
        }
        times.push(began.elapsed().as_secs_f64());
    }
    times
}

/// Requests per second that CLIENTS kept-alive clients complete in BURST.
fn throughput(port: u16) -> f64 {
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            std::thread::spawn(move || {
                let mut stream = connect(port);
                let end = Instant::now() + BURST;
                let mut done = 0u64;
                while Instant::now() < end {
                    request(&mut stream, true);
                    done += 1;
                }
                done
            })
        })
        .collect();
    let total: u64 = clients.into_iter().map(|c| c.join().unwrap()).sum();
    total as f64 / BURST.as_secs_f64()
}

fn connect(port: u16) -> TcpStream {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_nodelay(true).unwrap();
    stream
}

/// One GET and its whole answer (by Content-Length when kept alive).
fn request(stream: &mut TcpStream, keep_alive: bool) {
    let connection = if keep_alive { "keep-alive" } else { "close" };
    let head = format!("GET / HTTP/1.1\r\nHost: b\r\nConnection: {connection}\r\n\r\n");
    stream.write_all(head.as_bytes()).expect("write");
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = stream.read(&mut buffer).expect("read");
        answer.extend_from_slice(&buffer[..read]);
        if read == 0 || (keep_alive && complete(&answer)) {
            break;
        }
    }
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
}

fn complete(answer: &[u8]) -> bool {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    answer.len() >= end + 4 + length
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn summary(samples: &mut [f64]) -> String {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize] * 1e3;
    format!(
        "median {:.3} ms, p90 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    )
}
