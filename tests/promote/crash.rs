//! Killed at random moments: a child process (this test binary re-run with
//! `CRASH_TARGET` set) recovers, then promotes a 2,000-file output over and
//! over, and is SIGKILLed after a random delay. After each kill the target
//! must be whole (every file from one generation); after recovery it must
//! still be, with no staging, backup or trash left beside it.
//! With the exchange the target is whole even before recovery; with the
//! forced two-rename fallback only recovery can promise that.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::promote_common::{siblings, write};
use devloop::promote::{PromoteSpec, StrategyPref, promote, recover};

const FILES: usize = 2000;
const KEEP: usize = 2;

#[test]
fn killed_at_random_moments_the_target_stays_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("dist/libs");
    let outs: Vec<PathBuf> = ["A", "B"]
        .iter()
        .map(|token| {
            let out = tmp.path().join(format!("out-{token}"));
            for i in 0..FILES {
                write(
                    &out,
                    &format!("d{}/f{i}.js", i % 20),
                    &format!("{token}\n{}", "x".repeat(500)),
                );
            }
            out
        })
        .collect();
    let mut rng = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let first = PromoteSpec {
        output: outs[0].clone(),
        target: target.clone(),
        keep: KEEP,
        require: vec![],
        strategy: StrategyPref::Auto,
    };
    promote(&first).unwrap();
    let mut interrupted = 0;
    for round in 0..40 {
        let fallback = round >= 30;
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                crate::common::test_name(module_path!(), "crash_child").as_str(),
                "--nocapture",
                "--test-threads=1",
            ])
            .env("CRASH_TARGET", &target)
            .env(
                "CRASH_OUTS",
                format!("{}:{}", outs[0].display(), outs[1].display()),
            )
            .env("DEVLOOP_SWAP", if fallback { "rename" } else { "auto" })
            .spawn()
            .unwrap();
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(Duration::from_millis(20 + rng % 400));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        // The fallback may leave no target between its renames; never the exchange.
        if !fallback || target.exists() {
            assert_whole(&target, round, "right after the kill");
        }
        let left = siblings(&target);
        if left
            .iter()
            .any(|n| n.contains(".stage-") || n.contains(".backup-"))
        {
            interrupted += 1;
        }
        recover(&target, KEEP).unwrap();
        assert_whole(&target, round, "after recovery");
        for name in siblings(&target) {
            assert!(
                name.contains(".gen-") || name.ends_with(".spare"),
                "round {round}: leftover {name} after recovery"
            );
        }
    }
    eprintln!("{interrupted} of 40 kills landed inside a promotion");
    assert!(
        interrupted >= 10,
        "only {interrupted} kills hit a promotion: the test proved little"
    );
}

/// Every file present and from one generation.
fn assert_whole(target: &Path, round: usize, when: &str) {
    let mut tokens = std::collections::BTreeSet::new();
    let mut count = 0;
    for d in fs::read_dir(target).unwrap_or_else(|e| panic!("round {round}, {when}: {e}")) {
        let d = d.unwrap().path();
        if !d.is_dir() {
            continue;
        }
        for f in fs::read_dir(&d).unwrap() {
            let text = fs::read_to_string(f.unwrap().path()).unwrap();
            tokens.insert(text.lines().next().unwrap_or("").to_string());
            count += 1;
        }
    }
    assert_eq!(count, FILES, "round {round}, {when}: partial target");
    assert_eq!(
        tokens.len(),
        1,
        "round {round}, {when}: mixed generations {tokens:?}"
    );
}

/// The promoting child; does nothing unless started by the test above.
#[test]
fn crash_child() {
    let (Some(target), Some(outs)) = (
        std::env::var_os("CRASH_TARGET"),
        std::env::var("CRASH_OUTS").ok(),
    ) else {
        return;
    };
    let target = PathBuf::from(target);
    recover(&target, KEEP).unwrap(); // as devloop does at every start
    let outs: Vec<&str> = outs.split(':').collect();
    for i in 0.. {
        let spec = PromoteSpec {
            output: PathBuf::from(outs[i % 2]),
            target: target.clone(),
            keep: KEEP,
            require: vec![PathBuf::from("d0/f0.js")],
            strategy: StrategyPref::Auto,
        };
        promote(&spec).unwrap();
    }
}
