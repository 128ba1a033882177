//! Why devloop does not put `notify-debouncer-full` in front of its own
//! trailing window: the latency it adds. One file in a watched directory is
//! rewritten 8 times; prints write-to-event times for plain notify and for
//! the debouncer at a 50 ms and a 500 ms timeout (its default tick).
//!
//! Run: `cargo bench --bench debouncer`

use notify::{RecursiveMode, Watcher};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const WRITES: usize = 8;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("a.ts");
    std::fs::write(&file, "0").unwrap();

    let (tx, rx) = mpsc::channel();
    let mut plain = notify::recommended_watcher(tx).unwrap();
    plain
        .watch(dir.path(), RecursiveMode::NonRecursive)
        .unwrap();
    report(
        "plain notify",
        measure(&file, &rx, Duration::from_millis(100)),
    );
    drop(plain);

    for timeout_ms in [50, 500] {
        let timeout = Duration::from_millis(timeout_ms);
        let (tx, rx) = mpsc::channel();
        let mut debouncer = notify_debouncer_full::new_debouncer(timeout, None, tx).unwrap();
        debouncer
            .watch(dir.path(), RecursiveMode::NonRecursive)
            .unwrap();
        let label = format!("debouncer-full, timeout {timeout_ms} ms");
        report(&label, measure(&file, &rx, timeout * 2));
    }
}

/// Write-to-first-event times in ms, sorted.
fn measure<T>(file: &std::path::Path, events: &mpsc::Receiver<T>, quiet: Duration) -> Vec<f64> {
    let mut times = Vec::new();
    for i in 0..WRITES {
        std::thread::sleep(quiet);
        while events.try_recv().is_ok() {}
        let written = Instant::now();
        std::fs::write(file, i.to_string()).unwrap();
        events
            .recv_timeout(Duration::from_secs(10))
            .expect("no event");
        times.push(written.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    times
}

fn report(label: &str, times: Vec<f64>) {
    let median = (times[WRITES / 2 - 1] + times[WRITES / 2]) / 2.0;
    println!(
        "{label:<34} median {median:6.1} ms (min {:.1}, max {:.1})",
        times[0],
        times[WRITES - 1]
    );
}
