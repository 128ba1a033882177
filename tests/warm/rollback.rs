//! `u` while a warm cycle is being promoted: refused with an error. A warm
//! build never counts as a running build, so before the engine held the
//! target while promoting, a rollback could swap generations in the middle
//! of a warm cycle's promotion.

use crate::common::{Devloop, Workspace};
use std::fs;
use std::time::{Duration, Instant};

/// Cycle 1 at start; cycle N+1 once the test creates tmp/goN.
const COMPILER: &str = r#"echo "cycle 1 done"; n=1; while :; do if [ -e tmp/go$n ]; then n=$((n+1)); echo "cycle $n done"; fi; sleep 0.02; done"#;

/// Files in the output: a promotion long enough to press `u` during
/// (about a second in a debug build).
const FILES: usize = 3_000;

#[test]
fn u_during_a_warm_promotion_is_refused_until_it_has_finished() {
    let ws = Workspace::new(&format!(
        "[watch]\npaths = [\"libs\"]\n\n[build]\ncommand = '''{COMPILER}'''\noutput = \"tmp/out\"\npersistent = true\ndone = 'cycle \\d+ done'\n\n[promote]\ntarget = \"dist/libs\"\nkeep = 3\n"
    ));
    let out = ws.path().join("tmp/out");
    fs::create_dir_all(&out).unwrap();
    for i in 0..FILES {
        fs::write(out.join(format!("f{i}.js")), i.to_string()).unwrap();
    }
    let mut devloop = Devloop::start(&ws);
    devloop.wait_event("promoted", &[("build", 1.into())]);
    // Cycle 2, so that there is a generation to roll back to.
    fs::write(ws.path().join("tmp/go1"), "").unwrap();
    devloop.wait_event("promoted", &[("build", 2.into())]);

    fs::write(ws.path().join("tmp/go2"), "").unwrap();
    devloop.wait_for("cycle 3's done line", |e| {
        e["event"] == "build_output" && e["line"] == "cycle 3 done"
    });
    // `u` every 10 ms until cycle 3 is promoted.
    let deadline = Instant::now() + Duration::from_secs(60);
    let promoted = loop {
        devloop.send("u");
        let found = devloop.try_wait_for_within(Duration::from_millis(10), |e| {
            e["event"] == "promoted" && e["build"] == 3
        });
        if let Some(promoted) = found {
            break promoted;
        }
        assert!(Instant::now() < deadline, "{}", devloop.dump());
    };
    let refused = devloop
        .all("error")
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("a promotion is under way"))
        })
        .count();
    assert!(
        refused > 0,
        "no u was refused while cycle 3 was promoted ({promoted}): {}",
        devloop.dump()
    );
    // Whichever generation is in place, it is whole.
    let kept = fs::read_dir(ws.path().join("dist/libs")).unwrap().count();
    assert!(kept >= FILES, "{kept} entries in dist/libs");
    assert!(devloop.stop().success());
}
