//! The nx preset against real nx (issue 13): `nx run-many -t build --watch`
//! (`@nx/js:tsc`, one tsc per lib) started once by devloop with `persistent =
//! true` and no done/failed in watch.toml. Every edit is promoted with the
//! lib's package.json (nx writes it after tsc's done line); a type error
//! fails its cycle and promotes nothing; the fix promotes; devloop leaves no
//! process behind.
//!
//! Uses the nx end-to-end fixture and its cache (target/tmp/e2e-nx-cache);
//! skips only without node/npm.

use crate::common::{Devloop, Workspace, alive, run_processes};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// nx and two tsc starting take seconds, much more on a loaded 2-core machine.
const CYCLE_WAIT: Duration = Duration::from_secs(180);
const EDITS: u32 = 4;

const CONFIG: &str = r#"[watch]
paths = ["libs"]
debounce = "100ms"

[build]
command = "nx run-many -t build --projects=alpha,beta --configuration=devloop --watch --output-style=stream"
output = "tmp/libs-out"
persistent = true
timeout = "2m"

[promote]
target = "dist/libs"
require = ["alpha/src/index.js", "beta/src/index.js", "alpha/package.json", "beta/package.json"]
"#;

fn save(ws: &Workspace, value: &str) {
    ws.write(
        "libs/alpha/src/value.ts",
        &format!("export const ALPHA: number = {value};\n"),
    );
}

fn promoted(ws: &Workspace) -> String {
    ws.read("dist/libs/alpha/src/value.js")
}

fn wait_promoted(devloop: &mut Devloop, ws: &Workspace, value: &str, since: Instant) -> Duration {
    let line = format!("exports.ALPHA = {value};");
    loop {
        devloop.wait_for_within(CYCLE_WAIT, "promoted", |e| e["event"] == "promoted");
        if promoted(ws).contains(&line) {
            return since.elapsed();
        }
    }
}

#[test]
fn nx_run_many_watch_promotes_each_cycle_and_fails_a_broken_one() {
    let Some(node_modules) =
        crate::npm::installed(Path::new(crate::nx::FIXTURE), "e2e-nx-cache", "nx")
    else {
        return;
    };
    let ws = Workspace::new(CONFIG);
    crate::npm::workspace_from(Path::new(crate::nx::FIXTURE), ws.path(), &node_modules);
    let check = ws.run(&["check"]);
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        said.contains("preset  nx @nx/js:tsc --watch"),
        "check names the preset: {said}"
    );

    let mut command = Command::new(env!("CARGO_BIN_EXE_devloop"));
    command
        .args(["--headless", "--json", "-c"])
        .arg(ws.config())
        .envs(crate::nx::NX_ENV);
    let mut devloop = Devloop::spawn(command, &ws);
    let started = Instant::now();
    wait_promoted(&mut devloop, &ws, "1", started);
    eprintln!(
        "warm_nx: first cycle promoted {:?} after start",
        started.elapsed()
    );
    let compiler = run_processes(devloop.pid());

    let mut took = Vec::new();
    for i in 2..2 + EDITS {
        let saved = Instant::now();
        save(&ws, &i.to_string());
        took.push(wait_promoted(&mut devloop, &ws, &i.to_string(), saved).as_millis());
        assert!(
            ws.read("dist/libs/alpha/package.json").contains("alpha"),
            "the lib's package.json came with the cycle"
        );
    }
    took.sort();
    eprintln!("warm_nx: {EDITS} edits, save -> promoted (ms, sorted): {took:?}");

    let promotions = devloop.all("promoted").len();
    save(&ws, "\"broken\"");
    let failed = devloop.wait_for_within(CYCLE_WAIT, "a failed cycle", |e| {
        e["event"] == "build_finished" && e["status"] != "ok"
    });
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["failure"]
            .as_str()
            .is_some_and(|line| line.contains("error TS2322")),
        "the failed cycle names tsc's line: {failed}"
    );
    assert_eq!(
        devloop.all("promoted").len(),
        promotions,
        "nothing promoted"
    );

    save(&ws, "42");
    wait_promoted(&mut devloop, &ws, "42", Instant::now());
    assert!(
        devloop.all("error").is_empty(),
        "no stuck cycle, no restart: {}",
        devloop.dump()
    );

    assert!(devloop.stop().success());
    assert!(
        compiler.iter().all(|&pid| !alive(pid)),
        "devloop stops nx and its tsc processes"
    );
}
