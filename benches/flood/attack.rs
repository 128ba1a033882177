//! The TUI's key to redraw while hostile attach clients hammer the socket
//! (issue 23, item 3), against the same load without them, in one run. The
//! load: a build printing 240,000 lines in bursts over several seconds. The
//! attack, from the flood on: 1,000 connections opened and held, a viewer
//! that never reads, and every 20 ms a client sending random bytes, one
//! announcing a 4 GiB frame and one sending half a hello.

use super::noise::noise;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const PROBES: usize = 15;
const LOAD: &str = "for i in $(seq 1 12); do seq -f 'paced line %g: the quick brown fox jumps over the lazy dog' 1 20000; sleep 0.5; done";

pub fn attack(root: &Path) {
    raise_fd_limit();
    println!("== key to redraw under hostile attach clients, 120x40 terminal, {LOAD:.40}...");
    for attacked in [false, true] {
        let dir = tempfile::tempdir_in(root).expect("temp dir");
        let ws = dir.path();
        std::fs::create_dir_all(ws.join("libs")).unwrap();
        let config = format!(
            "[watch]\npaths = [\"libs\"]\n\n[build]\ncommand = \"{LOAD}\"\noutput = \"tmp/out\"\n"
        );
        std::fs::write(ws.join("watch.toml"), config).unwrap();
        let (delays, bad) = measure(ws, attacked);
        let median = super::median(delays.iter().copied());
        let max = delays.iter().copied().fold(f64::NAN, f64::max);
        let name = if attacked { "attacked" } else { "quiet" };
        println!(
            "{name:<9} key to redraw: median {median:.0} ms, max {max:.0} ms ({} probes){}",
            delays.len(),
            match attacked {
                true => format!(" · {bad} bad connections made meanwhile, 1,000 held"),
                false => String::new(),
            }
        );
    }
}

fn measure(ws: &Path, attacked: bool) -> (Vec<f64>, usize) {
    let socket = format!("attack-{}-{attacked}", std::process::id());
    let tmux = super::tmux_on(&socket);
    let command = format!(
        "exec {} -c {}",
        env!("CARGO_BIN_EXE_devloop"),
        ws.join("watch.toml").display()
    );
    tmux(&["new-session", "-d", "-x", "120", "-y", "40", &command]);
    let stop = Arc::new(AtomicBool::new(false));
    let bad = Arc::new(AtomicUsize::new(0));
    let mut attacker = None;
    let mut delays = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    let help = "any key closes this help";
    loop {
        let screen = tmux(&["capture-pane", "-p"]);
        if screen.contains("build #1 ✔ ok") || Instant::now() > deadline {
            break;
        }
        if !screen.contains("paced line") {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        if attacked && attacker.is_none() {
            let socket = ws.join(".devloop/attach.sock");
            let (stop, bad) = (stop.clone(), bad.clone());
            attacker = Some(std::thread::spawn(move || {
                attack_until(&socket, &stop, &bad)
            }));
            // Let the held connections pile up before the first probe.
            std::thread::sleep(Duration::from_millis(300));
        }
        if delays.len() < PROBES {
            let pressed = Instant::now();
            tmux(&["send-keys", "?"]);
            while !tmux(&["capture-pane", "-p"]).contains(help)
                && pressed.elapsed() < Duration::from_secs(10)
            {}
            delays.push(pressed.elapsed().as_secs_f64() * 1e3);
            tmux(&["send-keys", "Escape"]);
            let closing = Instant::now();
            while tmux(&["capture-pane", "-p"]).contains(help)
                && closing.elapsed() < Duration::from_secs(10)
            {}
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::SeqCst);
    if let Some(attacker) = attacker {
        let _ = attacker.join();
    }
    tmux(&["kill-server"]);
    (delays, bad.load(Ordering::SeqCst))
}

/// Holds 1,000 connections and a viewer that never reads, and opens bad
/// clients every 20 ms, until `stop`.
fn attack_until(socket: &Path, stop: &AtomicBool, bad: &AtomicUsize) {
    let connect = || UnixStream::connect(socket);
    let mut held: Vec<UnixStream> = Vec::new();
    if let Ok(mut never_reads) = connect() {
        let _ = never_reads.write_all(b"view\n");
        held.push(never_reads);
    }
    held.extend((0..1_000).filter_map(|_| connect().ok()));
    let noise = noise(64 * 1024);
    while !stop.load(Ordering::SeqCst) {
        let attempts: [&[u8]; 3] = [&noise, &[0xff, 0xff, 0xff, 0xff, 0x01, 0x02], b"vie"];
        for bytes in attempts {
            if let Ok(mut client) = connect() {
                let _ = client.write_all(bytes);
                bad.fetch_add(1, Ordering::SeqCst);
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// 1,000 held connections need more descriptors than the usual soft 1,024.
fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max.min(8192);
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
