//! Promotion benchmark: 10,000 files / 100 MB, devloop's promote beside the
//! original design measured in the same run. Run: `cargo bench --bench promote`
//! (`PROMOTE_BENCH=one-file,rebuild-all` for some situations only).
//!
//! The original design is timed as: real `cp -r` of the output to a temp
//! staging dir, real `cp -r` of that beside the target, rename the target
//! away, rename staging in (both renames with std::fs::rename, so its swap
//! gap is not inflated by process start-up), real `rm -rf` of the backup.
//!
//! Four situations, each a "build" writing the output before the round:
//! - first: no target yet, nothing to recycle;
//! - one-file: one file rewritten with new bytes, the rest left alone (an
//!   incremental build);
//! - rebuild-1%: every file rewritten (new mtime), 1% with new bytes;
//! - rebuild-all: every file rewritten with new bytes.
//!
//! devloop's time includes the nudge of the servers' watchers (touching the
//! changed paths in every kept tree).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use devloop::promote::{PromoteSpec, StrategyPref, promote};

const DIRS: usize = 100;
const FILES_PER_DIR: usize = 100;
const FILE_BYTES: usize = 10_000;
const ROUNDS: usize = 3;

fn main() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path();
    let out = root.join("out");
    write_output(&out, 0, 1, false);
    println!(
        "promote bench: {} files, {} MB, in {}",
        DIRS * FILES_PER_DIR,
        DIRS * FILES_PER_DIR * FILE_BYTES / 1_000_000,
        root.display()
    );
    let situations: [(&str, u64, bool); 4] = [
        ("first", 0, false),
        ("one-file", u64::MAX, true),
        ("rebuild-1%", 100, false),
        ("rebuild-all", 1, false),
    ];
    // `PROMOTE_BENCH=one-file,rebuild-all` runs only those situations.
    let only = std::env::var("PROMOTE_BENCH").unwrap_or_default();
    for (name, every, only_new) in situations {
        if !only.is_empty() && !only.split(',').any(|o| o.trim() == name) {
            continue;
        }
        let mut ours = Vec::new();
        let mut swaps = Vec::new();
        let mut theirs = Vec::new();
        let mut their_swaps = Vec::new();
        let mut floors = Vec::new();
        let (mut our_cpu, mut their_cpu) = (Vec::new(), Vec::new());
        let ws = root.join(format!("ws-{name}"));
        let (mine, orig) = (ws.join("mine/dist/libs"), ws.join("orig/dist/libs"));
        if every > 0 {
            // Steady state: both targets exist and devloop keeps 3
            // generations, the oldest of which each promotion recycles.
            for _ in 0..5 {
                promote_once(&out, &mine);
            }
            original(&out, &orig, root);
        }
        for round in 0..ROUNDS {
            if every > 0 {
                write_output(&out, round as u64 + 1, every, only_new); // the "build"
            } else {
                let _ = fs::remove_dir_all(&ws);
            }
            sync();
            let (started, cpu) = (Instant::now(), cpu_time(libc::RUSAGE_SELF));
            let p = promote_once(&out, &mine);
            ours.push(started.elapsed());
            our_cpu.push(cpu_time(libc::RUSAGE_SELF) - cpu);
            swaps.push(Duration::from_micros(p.swap_us));
            sync();
            let cpu = cpu_time(libc::RUSAGE_SELF) + cpu_time(libc::RUSAGE_CHILDREN);
            let (total, gap) = original(&out, &orig, root);
            their_cpu.push(cpu_time(libc::RUSAGE_SELF) + cpu_time(libc::RUSAGE_CHILDREN) - cpu);
            theirs.push(total);
            their_swaps.push(gap);
            if name == "rebuild-all" {
                floors.push(one_copy(&out, root));
            }
        }
        let _ = fs::remove_dir_all(&ws);
        let (o, t) = (median(&mut ours), median(&mut theirs));
        println!(
            "{name:<12} devloop {:>8.1} ms (swap {:>4} us) | original {:>8.1} ms (gap {:>4} us) | {:>5.1}x faster",
            ms(o),
            median(&mut swaps).as_micros(),
            ms(t),
            median(&mut their_swaps).as_micros(),
            t.as_secs_f64() / o.as_secs_f64().max(1e-9)
        );
        // CPU time (user + system, all threads and children): the work done,
        // which a busy machine distorts less than the wall clock.
        let (oc, tc) = (median(&mut our_cpu), median(&mut their_cpu));
        println!(
            "{:<12} cpu: devloop {:>8.1} ms | original {:>8.1} ms | {:>5.1}x less",
            "",
            ms(oc),
            ms(tc),
            tc.as_secs_f64() / oc.as_secs_f64().max(1e-9)
        );
        if !floors.is_empty() {
            // Every byte new means every file a new inode: no copy that
            // creates the files once (no reflink here) can beat one `cp -r`.
            let f = median(&mut floors);
            println!(
                "{:<12} one cp -r of the output alone {:>8.1} ms: the script is {:.1}x that, devloop {:.2}x",
                "",
                ms(f),
                t.as_secs_f64() / f.as_secs_f64().max(1e-9),
                o.as_secs_f64() / f.as_secs_f64().max(1e-9)
            );
        }
    }
}

/// Time of one plain `cp -r` of the output: creating every file once.
fn one_copy(out: &Path, root: &Path) -> Duration {
    let copy = root.join("floor-copy");
    sync();
    let started = Instant::now();
    run("cp", &["-r".as_ref(), out.as_os_str(), copy.as_os_str()]);
    let took = started.elapsed();
    let _ = fs::remove_dir_all(&copy);
    took
}

fn promote_once(out: &Path, target: &Path) -> devloop::promote::Promotion {
    let spec = PromoteSpec {
        output: out.to_path_buf(),
        target: target.to_path_buf(),
        keep: 3,
        require: vec![PathBuf::from("d0/f0.js")],
        strategy: StrategyPref::Auto,
    };
    promote(&spec).expect("promote")
}

/// The original script; returns its total time and the target-missing gap.
fn original(out: &Path, target: &Path, root: &Path) -> (Duration, Duration) {
    let parent = target.parent().expect("parent");
    fs::create_dir_all(parent).expect("parent dir");
    let temp = root.join("orig-temp");
    let staging = parent.join(".libs.staging");
    let backup = parent.join(".libs.old");
    let started = Instant::now();
    run("cp", &["-r".as_ref(), out.as_os_str(), temp.as_os_str()]);
    run(
        "cp",
        &["-r".as_ref(), temp.as_os_str(), staging.as_os_str()],
    );
    let swap = Instant::now();
    let had = fs::rename(target, &backup).is_ok();
    fs::rename(&staging, target).expect("rename staging in");
    let gap = swap.elapsed();
    if had {
        run("rm", &["-rf".as_ref(), backup.as_os_str()]);
    }
    let total = started.elapsed();
    let _ = fs::remove_dir_all(&temp);
    (total, gap)
}

fn run(program: &str, args: &[&std::ffi::OsStr]) {
    let status = Command::new(program).args(args).status().expect(program);
    assert!(status.success(), "{program} failed");
}

/// Writes the output as a build would; files with `index % every == 0` get
/// bytes that depend on `version` (every = 0: version 0 bytes everywhere);
/// `only_new`: the other files are not written at all.
fn write_output(out: &Path, version: u64, every: u64, only_new: bool) {
    let mut buf = vec![0u8; FILE_BYTES];
    for d in 0..DIRS {
        let dir = out.join(format!("d{d}"));
        fs::create_dir_all(&dir).expect("output dir");
        for f in 0..FILES_PER_DIR {
            let index = (d * FILES_PER_DIR + f) as u64;
            let v = if every > 0 && index.is_multiple_of(every) {
                version
            } else if only_new {
                continue;
            } else {
                0
            };
            fill(
                &mut buf,
                index.wrapping_mul(1_000_003) ^ v.wrapping_mul(0x9e37_79b9),
            );
            fs::write(dir.join(format!("f{f}.js")), &buf).expect("write output");
        }
    }
}

fn fill(buf: &mut [u8], seed: u64) {
    let mut x = seed | 1;
    for chunk in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let bytes = x.to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

/// User plus system time of this process (`RUSAGE_SELF`) or of its waited-for
/// children (`RUSAGE_CHILDREN`).
fn cpu_time(who: libc::c_int) -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut usage) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn sync() {
    let _ = Command::new("sync").status();
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
