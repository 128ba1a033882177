//! The warm build with real TypeScript (issue 13): `tsc -b -w` over two libs
//! with project references, started once by devloop (`persistent = true`,
//! the preset's done/failed lines). Ten edits are promoted one by one; a type
//! error fails its cycle and promotes nothing; the fix promotes. Then devloop
//! is killed with SIGKILL in the middle of a cycle: the next start stops the
//! compiler it left and finds the target whole.
//!
//! TypeScript (pinned in tests/fixtures/warm-tsc/package.json) is installed
//! once into target/tmp/warm-tsc-cache; the test skips only without node/npm.

use crate::common::{Devloop, Workspace, alive, run_processes, wait_until};
use std::path::Path;
use std::time::{Duration, Instant};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/warm-tsc");
/// tsc's first build takes seconds, much more on a loaded 2-core machine.
const CYCLE_WAIT: Duration = Duration::from_secs(180);
const EDITS: u32 = 10;

fn edit(ws: &Workspace, value: &str) {
    ws.write(
        "libs/a/src/index.ts",
        &format!("export const value: number = {value};\n"),
    );
}

fn promoted_value(ws: &Workspace) -> String {
    let js = ws.read("dist/libs/a/index.js");
    js.lines()
        .filter_map(|l| l.strip_prefix("exports.value = "))
        .next_back()
        .unwrap_or("")
        .trim_end_matches(';')
        .to_string()
}

/// Waits until a promotion puts `value` in place; the time it took.
fn wait_promoted(devloop: &mut Devloop, ws: &Workspace, value: &str, since: Instant) -> Duration {
    loop {
        devloop.wait_for_within(CYCLE_WAIT, "promoted", |e| e["event"] == "promoted");
        if promoted_value(ws) == value {
            return since.elapsed();
        }
    }
}

#[test]
fn tsc_build_watch_promotes_good_cycles_fails_bad_ones_and_survives_kill_9() {
    let Some(node_modules) = crate::npm::installed(Path::new(FIXTURE), "warm-tsc-cache", "tsc")
    else {
        return;
    };
    let ws =
        Workspace::new(&std::fs::read_to_string(Path::new(FIXTURE).join("watch.toml")).unwrap());
    crate::npm::workspace_from(Path::new(FIXTURE), ws.path(), &node_modules);

    let mut devloop = Devloop::start(&ws);
    wait_promoted(&mut devloop, &ws, "0", Instant::now());
    let compiler = run_processes(devloop.pid());
    assert!(!compiler.is_empty(), "the compiler runs under devloop");
    assert_eq!(devloop.all("build_started").len(), 1, "one startup cycle");

    let mut took = Vec::new();
    for i in 1..=EDITS {
        let saved = Instant::now();
        edit(&ws, &i.to_string());
        took.push(wait_promoted(&mut devloop, &ws, &i.to_string(), saved).as_millis());
        assert!(
            ws.read("dist/libs/b/index.js").contains("doubled"),
            "b is whole"
        );
    }
    took.sort();
    eprintln!("warm_tsc: {EDITS} edits, save -> promoted (ms, sorted): {took:?}");
    assert_eq!(
        run_processes(devloop.pid()),
        compiler,
        "the same compiler built every cycle"
    );

    // A type error: its cycle fails and nothing is promoted.
    let promotions = devloop.all("promoted").len();
    edit(&ws, "\"broken\"");
    let failed = devloop.wait_for_within(CYCLE_WAIT, "a failed cycle", |e| {
        e["event"] == "build_finished" && e["status"] != "ok"
    });
    assert_eq!(failed["status"], "failed");
    assert!(
        failed["failure"]
            .as_str()
            .is_some_and(|line| line.contains("error TS2322")),
        "build_finished names the line: {failed}"
    );
    assert!(
        devloop.seen.iter().any(|e| e["event"] == "notice"
            && e["message"].as_str().unwrap_or("").contains("error TS2322")),
        "the failure is said with the compiler's line"
    );
    assert_eq!(
        devloop.all("promoted").len(),
        promotions,
        "nothing promoted"
    );
    assert_eq!(
        promoted_value(&ws),
        EDITS.to_string(),
        "the last good cycle stays"
    );

    // The fix promotes.
    edit(&ws, "42");
    wait_promoted(&mut devloop, &ws, "42", Instant::now());

    // SIGKILL in the middle of a cycle.
    edit(&ws, "43");
    devloop.wait_for_within(CYCLE_WAIT, "the next cycle", |e| {
        e["event"] == "build_output"
            && e["line"]
                .as_str()
                .unwrap_or("")
                .contains("File change detected")
    });
    devloop.signal(libc::SIGKILL);
    devloop.wait_exit();
    assert!(
        wait_until(Duration::from_secs(2), || compiler
            .iter()
            .all(|&pid| !alive(pid))),
        "the watchdog stops the compiler of a killed devloop"
    );
    let mut again = Devloop::start(&ws);
    again.wait_event("watching", &[]);
    let value = promoted_value(&ws);
    assert!(
        value == "42" || value == "43",
        "the target is whole: {value:?}"
    );
    assert!(ws.read("dist/libs/b/index.js").contains("doubled"));
    wait_promoted(&mut again, &ws, "43", Instant::now());
    let compiler = run_processes(again.pid());
    assert!(again.stop().success());
    assert!(
        compiler.iter().all(|&pid| !alive(pid)),
        "devloop stops its compiler when it stops"
    );
}
