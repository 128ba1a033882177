//! The reader test of issue 3: two reader processes open the target
//! directory and read two files through that one directory descriptor in a
//! tight loop while promotions run. Every generation writes its number into
//! both files, so a mixed read shows as two different contents; a miss is
//! ENOENT on the directory or on a file.
//!
//! With the exchange: zero misses and zero mixed reads over 300+ promotions.
//! With the two-rename fallback, the same readers must see misses, or the
//! test proved nothing and fails saying so.
//!
//! The readers are this test binary re-run with `READER_DIR` set (see
//! `reader_child`). `keep` is large so that no directory a reader might still
//! hold is recycled while it reads: this test is about the swap, not pruning.
//! (At keep = 20 a reader descheduled on a loaded machine for 20 promotions,
//! tens of milliseconds, once saw the recycled tree being restaged.)

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use crate::common::reader;
use crate::promote_common::ws;
use devloop::promote::{PromoteSpec, Strategy, StrategyPref, promote};
use rustix::io::Errno;

const MIN_PROMOTIONS: usize = 300;

#[derive(Debug, Default)]
struct Counts {
    reads: u64,
    misses: u64,
    mixed: u64,
    errors: u64,
}

#[test]
fn readers_never_see_the_target_missing_or_mixed() {
    let w = ws();
    let ctl = w.parent().join("ctl");
    fs::create_dir_all(&ctl).unwrap();
    let spec = |strategy| PromoteSpec {
        strategy,
        ..w.spec(100)
    };
    write_generation(&w.out, 0);
    promote(&spec(StrategyPref::Auto)).unwrap();

    let (exchange, n) = run_phase(
        &w.target,
        &w.out,
        &ctl.join("exchange"),
        &spec(StrategyPref::Auto),
    );
    eprintln!("exchange: {n} promotions, {exchange:?}");
    assert!(
        exchange.reads >= 1000,
        "the readers hardly ran: {exchange:?}"
    );
    assert_eq!(exchange.errors, 0, "{exchange:?}");
    assert_eq!(
        exchange.misses, 0,
        "the target went missing with the exchange: {exchange:?}"
    );
    assert_eq!(
        exchange.mixed, 0,
        "two generations mixed with the exchange: {exchange:?}"
    );

    let (rename, n) = run_phase(
        &w.target,
        &w.out,
        &ctl.join("rename"),
        &spec(StrategyPref::Rename),
    );
    eprintln!("two renames: {n} promotions, {rename:?}");
    assert_eq!(rename.errors, 0, "{rename:?}");
    assert!(
        rename.misses > 0,
        "the readers saw no miss with the two-rename fallback either, so this test proved \
         nothing about the exchange: {rename:?} over {n} promotions"
    );
}

/// Starts two readers, promotes until at least 300 promotions ran (and, for
/// the fallback, a miss was seen or time ran out), stops the readers.
fn run_phase(target: &Path, out: &Path, ctl: &Path, spec: &PromoteSpec) -> (Counts, usize) {
    fs::create_dir_all(ctl).unwrap();
    let readers: Vec<Child> = (0..2)
        .map(|i| reader::spawn(&reader_test(), target, ctl, i))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(8);
    while (0..2).any(|i| !ctl.join(format!("ready-{i}")).exists()) {
        assert!(Instant::now() < deadline, "the readers did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    let want_miss = spec.strategy == StrategyPref::Rename;
    let mut n = 0;
    while n < MIN_PROMOTIONS
        || (want_miss && !ctl.join("missed").exists() && Instant::now() < deadline)
    {
        n += 1;
        write_generation(out, n as u64);
        let p = promote(spec).unwrap();
        let expected = if want_miss {
            Strategy::Rename
        } else {
            Strategy::Exchange
        };
        assert_eq!(p.strategy, expected);
        // A breath between promotions lets the readers run on two cores.
        std::thread::sleep(Duration::from_micros(300));
    }
    fs::write(ctl.join("stop"), "").unwrap();
    let mut total = Counts::default();
    for child in readers {
        let output = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        // libtest prints "test reader_child ... " before it on the same line.
        let line = text
            .lines()
            .find_map(|l| l.find("READER ").map(|i| &l[i..]))
            .unwrap_or_else(|| {
                panic!(
                    "a reader reported nothing: {text}{}",
                    String::from_utf8_lossy(&output.stderr)
                )
            });
        let field = |name: &str| -> u64 {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        total.reads += field("reads");
        total.misses += field("misses");
        total.mixed += field("mixed");
        total.errors += field("errors");
    }
    (total, n)
}

fn write_generation(out: &Path, n: u64) {
    let text = format!("generation {n}\n");
    fs::write(out.join("a.js"), &text).unwrap();
    fs::write(out.join("b.js"), &text).unwrap();
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
    let mut c = Counts::default();
    let mut bufs: [Vec<u8>; 2] = Default::default();
    let give_up = Instant::now() + Duration::from_secs(30);
    let mut announced = false;
    for i in 0u64.. {
        match reader::read_files(&dir, &["a.js", "b.js"], &mut bufs) {
            Ok(()) if bufs[0] == bufs[1] => c.reads += 1,
            Ok(()) => c.mixed += 1,
            Err(Errno::NOENT) => {
                c.misses += 1;
                let _ = fs::write(ctl.join("missed"), "");
            }
            Err(_) => c.errors += 1,
        }
        if !announced {
            let _ = fs::write(ctl.join(format!("ready-{id}")), "");
            announced = true;
        }
        if i.is_multiple_of(256) && (ctl.join("stop").exists() || Instant::now() > give_up) {
            break;
        }
    }
    println!(
        "READER reads={} misses={} mixed={} errors={}",
        c.reads, c.misses, c.mixed, c.errors
    );
}
