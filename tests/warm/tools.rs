//! The warm build's presets against the real tools (issue 13): `tsup
//! --watch`, `esbuild --watch` and `vite build --watch` (library mode), each
//! started once by devloop with `persistent = true` and no done/failed in
//! watch.toml, so the preset must know the tool's lines. Every edit is
//! promoted; a syntax error fails its cycle and promotes nothing; the fix
//! promotes; devloop stops the tool when it stops.
//!
//! The tools (pinned in tests/fixtures/warm-tools/package.json) are installed
//! once into target/tmp/warm-tools-cache; the tests skip only without node/npm.

use crate::common::{Devloop, Workspace, alive, run_processes};
use std::path::Path;
use std::time::{Duration, Instant};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/warm-tools");
/// The first build of a cold node on a loaded 2-core machine takes seconds.
const CYCLE_WAIT: Duration = Duration::from_secs(120);
const EDITS: u32 = 5;
const ENTRY: &str = "libs/a/src/index.ts";

fn config(command: &str) -> String {
    format!(
        "[watch]\npaths = [\"libs\"]\ndebounce = \"100ms\"\n\n\
         [build]\ncommand = {command:?}\noutput = \"tmp/out\"\npersistent = true\ntimeout = \"2m\"\n\n\
         [promote]\ntarget = \"dist/libs\"\nrequire = [\"a/index.js\"]\n"
    )
}

/// A value each tool keeps verbatim in its output (in some quotes).
fn marker(edit: &str) -> String {
    format!("edit_{edit}_end")
}

fn save(ws: &Workspace, edit: &str) {
    ws.write(
        ENTRY,
        &format!("export const value: string = \"{}\";\n", marker(edit)),
    );
}

/// A tool under test: its command, the preset `check` must name, and the
/// files of lib `a` each cycle writes (tsup: one per format).
struct Tool {
    command: &'static str,
    preset: &'static str,
    files: &'static [&'static str],
}

/// Whether every file the tool writes was promoted with `edit`.
fn has(ws: &Workspace, tool: &Tool, edit: &str) -> bool {
    tool.files
        .iter()
        .all(|f| ws.read(&format!("dist/libs/a/{f}")).contains(&marker(edit)))
}

/// Waits until a promotion puts `edit` in place; the time it took.
fn wait_promoted(
    devloop: &mut Devloop,
    ws: &Workspace,
    tool: &Tool,
    edit: &str,
    since: Instant,
) -> Duration {
    loop {
        devloop.wait_for_within(CYCLE_WAIT, "promoted", |e| e["event"] == "promoted");
        if has(ws, tool, edit) {
            return since.elapsed();
        }
    }
}

/// Saves edit 1 until the tool reacts to it: tools start watching a moment
/// after they say so (tsup's file watcher is not ready when it prints
/// "Watching for changes"), and a save before that is never built.
fn first_edit(devloop: &mut Devloop, ws: &Workspace) {
    for _ in 0..30 {
        save(ws, "1");
        let reacted = devloop.try_wait_for_within(Duration::from_secs(2), |e| {
            e["event"] == "build_output" && e["build"].as_u64() > Some(1)
        });
        if reacted.is_some() {
            return;
        }
    }
    panic!("the tool never reacted to a save:\n{}", devloop.dump());
}

/// The whole scenario for one tool; `preset` is the name `check` must give.
fn promotes_each_cycle_and_fails_a_broken_one(tool: Tool) {
    let Tool {
        command, preset, ..
    } = tool;
    let Some(node_modules) = crate::npm::installed(Path::new(FIXTURE), "warm-tools-cache", "vite")
    else {
        return;
    };
    let ws = Workspace::new(&config(command));
    crate::npm::workspace_from(Path::new(FIXTURE), ws.path(), &node_modules);

    let check = ws.run(&["check"]);
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "check: {said}");
    assert!(
        said.contains(&format!("preset  {preset}")),
        "check names the preset: {said}"
    );

    let mut devloop = Devloop::start(&ws);
    wait_promoted(&mut devloop, &ws, &tool, "0", Instant::now());
    let compiler = run_processes(devloop.pid());
    assert!(!compiler.is_empty(), "{preset} runs under devloop");

    let mut took = Vec::new();
    first_edit(&mut devloop, &ws);
    wait_promoted(&mut devloop, &ws, &tool, "1", Instant::now());
    let before = devloop.all("build_started").len();
    for i in 2..=EDITS + 1 {
        let saved = Instant::now();
        save(&ws, &i.to_string());
        took.push(wait_promoted(&mut devloop, &ws, &tool, &i.to_string(), saved).as_millis());
    }
    took.sort();
    eprintln!("{preset}: {EDITS} edits, save -> promoted (ms, sorted): {took:?}");
    let builds = devloop.all("build_started").len() - before;
    assert!(
        builds <= 2 * EDITS as usize,
        "{builds} cycles for {EDITS} edits: lines between cycles opened some"
    );

    // A syntax error: its cycle fails, says why, and promotes nothing.
    let promotions = devloop.all("promoted").len();
    ws.write(ENTRY, "export const value: string = ;\n");
    let failed = devloop.wait_for_within(CYCLE_WAIT, "a failed cycle", |e| {
        e["event"] == "build_finished" && e["status"] != "ok"
    });
    assert_eq!(failed["status"], "failed", "{failed}");
    assert!(
        failed["failure"].as_str().is_some_and(|l| !l.is_empty()),
        "the failed cycle names the tool's line: {failed}"
    );
    assert_eq!(
        devloop.all("promoted").len(),
        promotions,
        "nothing promoted"
    );
    assert!(
        has(&ws, &tool, &(EDITS + 1).to_string()),
        "the last good cycle stays"
    );

    // The fix promotes.
    save(&ws, "fix");
    wait_promoted(&mut devloop, &ws, &tool, "fix", Instant::now());
    assert!(
        devloop.all("error").is_empty(),
        "no stuck cycle, no restart: {}",
        devloop.dump()
    );

    assert!(devloop.stop().success());
    assert!(
        compiler.iter().all(|&pid| !alive(pid)),
        "devloop stops {preset} when it stops"
    );
}

#[test]
fn esbuild_watch() {
    promotes_each_cycle_and_fails_a_broken_one(Tool {
        command: "esbuild libs/a/src/index.ts --bundle --platform=node --format=cjs --outfile=tmp/out/a/index.js --watch",
        preset: "esbuild --watch",
        files: &["index.js"],
    });
}

#[test]
fn tsup_watch() {
    // tsup watches "." unless told: the promote target would rebuild it.
    // Two formats: a cycle ends at the second's done.
    promotes_each_cycle_and_fails_a_broken_one(Tool {
        command: "tsup libs/a/src/index.ts --format cjs,esm --out-dir tmp/out/a --watch libs",
        preset: "tsup --watch",
        files: &["index.js", "index.mjs"],
    });
}

#[test]
fn vite_build_watch() {
    promotes_each_cycle_and_fails_a_broken_one(Tool {
        command: "vite build --watch",
        preset: "vite build --watch",
        files: &["index.js"],
    });
}
