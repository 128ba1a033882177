//! A warm build under readers (issue 13): a compiler that never exits
//! rewrites four files per cycle, file by file, and prints a `done` line;
//! its next cycle often starts while devloop is still staging the last one,
//! which must then be dropped. Two reader processes read all four files
//! through one directory descriptor of the target in a tight loop. Over 300
//! promotions: no miss, no partial file, no mixed generation. Then devloop
//! is killed with SIGKILL mid-cycle: the next start stops the compiler it
//! left behind, and the readers still never saw the target broken.
//!
//! The readers are this test binary re-run with `READER_DIR` set.

use crate::common::{Devloop, Workspace, alive, reader, run_processes, wait_until};
use rustix::io::Errno;
use std::fs;
use std::path::PathBuf;
use std::process::Child;
use std::time::{Duration, Instant};

const PROMOTIONS: usize = 300;
const FILES: [&str; 4] = ["a.js", "b.js", "c.js", "d.js"];
/// Each cycle: a first line, the files one by one, `done`, a short pause.
const COMPILER: &str = r#"i=0; while :; do i=$((i+1)); echo "cycle $i: file change detected"; for f in a b c d; do printf 'cycle %s\n' $i > tmp/out/$f.js; done; echo "cycle $i done"; sleep 0.03; done"#;

#[test]
fn three_hundred_warm_promotions_under_readers_and_a_kill_9() {
    let ws = Workspace::new(&format!(
        "[watch]\npaths = [\"libs\"]\n\n[build]\ncommand = '''{COMPILER}'''\noutput = \"tmp/out\"\npersistent = true\ndone = 'cycle \\d+ done'\n\n[promote]\ntarget = \"dist/libs\"\nkeep = 20\nrequire = [\"d.js\"]\n"
    ));
    fs::create_dir_all(ws.path().join("tmp/out")).unwrap();
    let target = ws.path().join("dist/libs");
    let ctl = ws.path().join("ctl");
    fs::create_dir_all(&ctl).unwrap();

    let mut devloop = Devloop::start(&ws);
    devloop.wait_event("promoted", &[]);
    let readers: Vec<Child> = (0..2)
        .map(|i| reader::spawn(&reader_test(), &target, &ctl, i))
        .collect();
    assert!(
        wait_until(Duration::from_secs(10), || (0..2)
            .all(|i| ctl.join(format!("ready-{i}")).exists())),
        "the readers did not start"
    );
    let started = Instant::now();
    while devloop.all("promoted").len() < PROMOTIONS / 2 {
        devloop.wait_event("promoted", &[]);
    }

    // SIGKILL in the middle of the cycles; the readers keep reading.
    let compiler = run_processes(devloop.pid());
    assert!(!compiler.is_empty());
    devloop.signal(libc::SIGKILL);
    devloop.wait_exit();
    let first_run = devloop.all("promoted").len();
    let dropped_first = devloop.all("promote_failed").len();
    let mut devloop = Devloop::start(&ws);
    devloop.wait_event("watching", &[]);
    assert!(
        wait_until(Duration::from_secs(10), || compiler
            .iter()
            .all(|&p| !alive(p))),
        "the next start stopped the compiler the killed devloop left"
    );
    while first_run + devloop.all("promoted").len() < PROMOTIONS {
        devloop.wait_event("promoted", &[]);
    }
    let took = started.elapsed();
    let compiler = run_processes(devloop.pid());
    assert!(devloop.stop().success());
    assert!(
        compiler.iter().all(|&p| !alive(p)),
        "the compiler stops with devloop"
    );

    fs::write(ctl.join("stop"), "").unwrap();
    let mut total = [0u64; 5];
    for child in readers {
        let output = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        let line = text
            .lines()
            .find_map(|l| l.find("READER ").map(|i| &l[i..]))
            .unwrap_or_else(|| panic!("a reader reported nothing: {text}"));
        for (n, value) in line.split_whitespace().skip(1).enumerate() {
            total[n] += value
                .split('=')
                .nth(1)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
        }
    }
    let [reads, misses, partial, mixed, errors] = total;
    let dropped = dropped_first + devloop.all("promote_failed").len();
    eprintln!(
        "warm_readers: {} promotions in {took:.1?} ({dropped} dropped: the compiler wrote again while staging); \
         reads={reads} misses={misses} partial={partial} mixed={mixed} errors={errors}",
        first_run + devloop.all("promoted").len()
    );
    assert!(reads >= 1000, "the readers hardly ran: {total:?}");
    assert_eq!((misses, partial, mixed, errors), (0, 0, 0, 0));
}

fn reader_test() -> String {
    crate::common::test_name(module_path!(), "reader_child")
}

/// The reader process; does nothing unless started by `reader::spawn`.
#[test]
fn reader_child() {
    let (Some(dir), Some(ctl)) = (
        std::env::var_os("READER_DIR"),
        std::env::var_os("READER_CTL"),
    ) else {
        return;
    };
    let (dir, ctl) = (PathBuf::from(dir), PathBuf::from(ctl));
    let id = std::env::var("READER_ID").unwrap_or_default();
    let [mut reads, mut misses, mut partial, mut mixed, mut errors] = [0u64; 5];
    let mut bufs: [Vec<u8>; 4] = Default::default();
    let give_up = Instant::now() + Duration::from_secs(300);
    for i in 0u64.. {
        match reader::read_files(&dir, &FILES, &mut bufs) {
            Ok(())
                if bufs
                    .iter()
                    .any(|b| !b.starts_with(b"cycle ") || !b.ends_with(b"\n")) =>
            {
                if partial == 0 {
                    let marker =
                        fs::read_to_string(dir.join(".devloop-generation")).unwrap_or_default();
                    eprintln!(
                        "PARTIAL {:?} marker {marker:?}",
                        bufs.iter()
                            .map(|b| String::from_utf8_lossy(b).to_string())
                            .collect::<Vec<_>>()
                    );
                }
                partial += 1
            }
            Ok(()) if bufs.iter().all(|b| *b == bufs[0]) => reads += 1,
            Ok(()) => mixed += 1,
            Err(Errno::NOENT) => misses += 1,
            Err(_) => errors += 1,
        }
        if i == 0 {
            let _ = fs::write(ctl.join(format!("ready-{id}")), "");
        }
        if i.is_multiple_of(256) && (ctl.join("stop").exists() || Instant::now() > give_up) {
            break;
        }
    }
    println!(
        "READER reads={reads} misses={misses} partial={partial} mixed={mixed} errors={errors}"
    );
}
