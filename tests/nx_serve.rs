//! nx's own serve targets under devloop (issue 19), set up by `devloop
//! init --apply` and run with the watch.toml it writes, as a new user would:
//! the pinned nx 23 workspace of `tests/fixtures/nx23-apps` (two
//! `@nx/js:tsc` libs, an Express app on `@nx/esbuild` + `@nx/js:node`, a
//! NestJS app on `@nx/webpack` + `@nx/js:node`, a Next.js app through
//! `@nx/next/plugin`, each importing both libs from `dist/libs`), and the
//! same workspace as nx generates it, with the apps on the libs' source
//! (`tests/fixtures/nx23-apps-on-source`).
//!
//! Each app is polled on a fresh connection every 50 ms throughout.
//! Checked: each app serves every edit, never before its promotion and
//! never one edit late; no connection refused or reset; no "Cannot find
//! module"; nothing but promotions changed `dist/libs` (the test watches it
//! itself); a lib edit that fails the build reaches no app; nothing of the
//! run is left after SIGTERM.
//!
//! Heavy: a 700 MB npm install (about 70 s cold, once per machine), then
//! minutes on 2 cores. `NX_SERVE_EDITS=N` changes the number of edits (10).
//! Skips (and passes) without node and npm.

mod common;
#[path = "common/npm.rs"]
mod npm;
#[path = "common/nx23.rs"]
mod nx23;

use common::{Devloop, Workspace, wait_until};
use nx23::*;
use serde_json::Value;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// First build plus three servers' first compile, on 2 loaded cores.
const START_WAIT: Duration = Duration::from_secs(300);
/// A cold nx build (6-10 s here) and a restart of `nx run` (10-15 s).
const EDIT_WAIT: Duration = Duration::from_secs(120);
/// The two runs share the cores and Next.js's port: one at a time.
static ALONE: Mutex<()> = Mutex::new(());

/// A lib edit: a new value, or a type error that fails devloop's build.
#[derive(Clone, Copy)]
enum Step {
    Good(u32),
    /// A type error in the lib that edit N rewrites.
    TypeError(u32),
}

#[test]
fn nx_apps_set_up_by_init_get_every_lib_edit_once_after_its_promotion() {
    let Some((_alone, ws)) = fresh(false) else {
        return;
    };
    let said = devloop_in(&ws, &["init", "--apply"]);
    assert!(
        !said.contains("SOURCE"),
        "every app is on dist/libs:\n{said}"
    );
    assert!(said.contains("changed (devloop init --apply)"), "{said}");
    let checked = devloop_in(&ws, &["check"]);
    assert!(!checked.contains("warning"), "{checked}");
    // nx's own `serve` (dependsOn build, then ^build) would build the libs
    // into dist/libs at every start: check names it, with the remedy.
    let config = ws.read("watch.toml");
    ws.write(
        "watch.toml",
        &format!("{config}\n[process.nx-serve]\ncommand = \"npx nx serve api\"\n"),
    );
    let checked = devloop_in(&ws, &["check"]);
    for lib in ["alpha", "beta"] {
        assert!(
            checked.contains(&format!(
                "nx runs {lib}:build first, which writes dist/libs/{lib} inside the promote target"
            )),
            "{checked}"
        );
    }
    ws.write("watch.toml", &config);
    serve_and_edit(&ws, &good_edits());
}

#[test]
fn nx_apps_on_the_libs_source_are_named_and_once_moved_a_failed_build_reaches_none() {
    let Some((_alone, ws)) = fresh(true) else {
        return;
    };
    let said = devloop_in(&ws, &["init"]);
    for app in ["api", "nest", "web"] {
        assert!(
            said.contains(&format!("  {app}: from their SOURCE (")),
            "init names {app} as on the libs' source:\n{said}"
        );
    }
    let said = devloop_in(&ws, &["init", "--apply"]);
    assert!(said.contains("changed (devloop init --apply)"), "{said}");
    let checked = devloop_in(&ws, &["check"]);
    assert!(!checked.contains("from their source"), "{checked}");
    serve_and_edit(&ws, &[Step::TypeError(1), Step::Good(1)]);
}

#[test]
fn nx_apps_set_up_by_init_get_every_lib_edit_from_the_warm_build_it_offers() {
    let Some((_alone, ws)) = fresh(false) else {
        return;
    };
    // The web app as nx 15-17 generated it: a `serve` target on the
    // `@nx/next:server` executor (this run), beside the plugin's `dev` (the
    // cold one).
    let project = ws.read("apps/web/project.json");
    ws.write(
        "apps/web/project.json",
        &project.replace(
            "\"targets\": {}",
            "\"targets\": {\"serve\": {\"executor\": \"@nx/next:server\", \"options\": {\"buildTarget\": \"web:build\", \"dev\": true}}}",
        ),
    );
    devloop_in(&ws, &["init", "--apply"]);
    let web = ws.read("watch.toml");
    assert!(web.contains("command = \"npx nx serve web\""), "{web}");
    take_warm_offer(&ws);
    let checked = devloop_in(&ws, &["check"]);
    assert!(
        checked.contains("preset  nx @nx/js:tsc --watch"),
        "{checked}"
    );
    assert!(!checked.contains("warning"), "{checked}");
    serve_and_edit(&ws, &good_edits());
}

#[test]
fn nx_s_own_serve_target_writes_into_the_target_and_the_run_reports_it() {
    let Some((_alone, ws)) = fresh(false) else {
        return;
    };
    devloop_in(&ws, &["init", "--apply"]);
    // init's watch, build and promote, with the api as nx's own serve runs
    // it: `dependsOn: ["build"]`, then `^build` into dist/libs, at start.
    let written = ws.read("watch.toml");
    let head = &written[..written.find("\n[process.").expect("a process")];
    let head = &head[..head.rfind("\n\n").unwrap_or(head.len())];
    ws.write(
        "watch.toml",
        &format!(
            "{head}\n\n[process.api]\ncommand = \"npx nx serve api\"\nafter = [\"build\"]\nenv = {{ NX_DAEMON = \"false\" }}\n"
        ),
    );
    let checked = devloop_in(&ws, &["check"]);
    assert!(
        checked.contains(
            "nx runs alpha:build first, which writes dist/libs/alpha inside the promote target"
        ),
        "{checked}"
    );
    let mut command = Command::new(env!("CARGO_BIN_EXE_devloop"));
    command
        .args(["--headless", "--json", "-c"])
        .arg(ws.config())
        .envs([("NX_NO_CLOUD", "true"), ("NX_TUI", "false")]);
    let mut devloop = Devloop::spawn(command, &ws);
    devloop.wait_for_within(START_WAIT, "the first promotion", |e| {
        e["event"] == "promoted"
    });
    let error = devloop.wait_for_within(START_WAIT, "the foreign write", |e| {
        e["event"] == "error"
            && e["message"].as_str().is_some_and(|m| {
                m.contains("something other than devloop wrote into dist/libs: dist/libs/")
            })
    });
    eprintln!("nx_serve: reported: {}", error["message"]);
    assert!(devloop.stop().success());
}

/// This test's turn (the runs share the cores and Next.js's port) and a
/// fresh copy of the workspace; None without node and npm.
fn fresh(on_source: bool) -> Option<(std::sync::MutexGuard<'static, ()>, Workspace)> {
    let turn = ALONE.lock().unwrap_or_else(|e| e.into_inner());
    let node_modules = installed()?;
    Some((turn, workspace(&node_modules, on_source)))
}

/// `NX_SERVE_EDITS` (default 10) lib edits with new values.
fn good_edits() -> Vec<Step> {
    let edits: u32 = std::env::var("NX_SERVE_EDITS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10);
    (1..=edits).map(Step::Good).collect()
}

/// Runs devloop with the workspace's watch.toml, makes the lib edits, and
/// checks what every app served.
fn serve_and_edit(ws: &Workspace, steps: &[Step]) {
    let started = Instant::now();
    let apps = apps_of(ws);
    let root = ws.path().to_path_buf();
    let mut command = Command::new(env!("CARGO_BIN_EXE_devloop"));
    command
        .args(["--headless", "--json", "-c"])
        .arg(ws.config())
        .envs([
            ("NX_NO_CLOUD", "true"),
            ("NX_TUI", "false"),
            ("NX_INTERACTIVE", "false"),
            ("NEXT_TELEMETRY_DISABLED", "1"),
        ]);
    let mut devloop = Devloop::spawn(command, ws);

    let stop = Arc::new(AtomicBool::new(false));
    let pollers: Vec<Arc<Mutex<Polled>>> = apps
        .iter()
        .map(|app| poll(app.port, app.path, stop.clone()))
        .collect();
    let foreign = watch_target(root.join("dist/libs"), stop.clone());

    // Every app serves the fixture's values.
    let first = expected(0);
    devloop.wait_for_within(START_WAIT, "the first promotion", |e| {
        e["event"] == "promoted"
    });
    let all_serve = |want: &str| {
        pollers
            .iter()
            .all(|p| p.lock().unwrap().last.as_deref() == Some(want))
    };
    assert!(
        wait_until(START_WAIT, || all_serve(&first)),
        "not every app served {first:?}: {:?}; events:\n{}",
        pollers
            .iter()
            .map(|p| p.lock().unwrap().last.clone())
            .collect::<Vec<_>>(),
        devloop.dump()
    );
    // From here on, every refusal counts.
    for p in &pollers {
        let mut p = p.lock().unwrap();
        p.refused = 0;
        p.reset = 0;
        p.troubles.clear();
        p.failed = 0;
    }
    let foreign_at_start = foreign.lock().unwrap().len();

    let mut rows = Vec::new();
    let mut served_values = vec![expected(0)];
    for step in steps {
        let n = match *step {
            Step::TypeError(n) => {
                break_lib(&root, n);
                let failed = devloop.wait_for_within(EDIT_WAIT, "the failed build", |e| {
                    e["event"] == "build_finished" && e["status"] != "skipped"
                });
                assert_eq!(failed["status"], "failed", "{failed}");
                eprintln!("nx_serve: the type error failed the build: {failed}");
                continue;
            }
            Step::Good(n) => n,
        };
        let saved = Instant::now();
        apply_edit(&root, n);
        let want = expected(n);
        served_values.push(want.clone());
        devloop.wait_for_within(EDIT_WAIT, &format!("edit {n}'s promotion"), |e| {
            e["event"] == "promoted"
        });
        let promoted = Instant::now();
        let served = wait_until(EDIT_WAIT, || all_serve(&want));
        let mut row = vec![n.to_string()];
        for (app, p) in apps.iter().zip(&pollers) {
            let p = p.lock().unwrap();
            let at = p
                .changes
                .iter()
                .find(|(_, body)| body == &want)
                .map(|(at, _)| *at);
            let cell = match at {
                Some(at) if at < promoted => {
                    format!("{}: before its promotion", app.name)
                }
                Some(at) => format!("{} ms", (at - saved).as_millis()),
                None => "MISSED".to_string(),
            };
            row.push(cell);
        }
        eprintln!("nx_serve: edit {n}: {}", row.join(" | "));
        assert!(
            served,
            "edit {n} ({want:?}) not served by every app within {EDIT_WAIT:?}: {row:?}; events:\n{}",
            devloop.dump()
        );
        rows.push(row);
    }

    // The pollers stop before devloop does: its shutdown closes the ports.
    stop.store(true, Ordering::SeqCst);
    assert!(wait_until(Duration::from_secs(90), || {
        pollers.iter().all(|p| p.lock().unwrap().done)
    }));
    let status = devloop.stop();
    assert!(status.success(), "devloop exited with {status:?}");

    eprintln!(
        "nx_serve: save -> served per edit | {}",
        apps.iter().map(|a| a.name).collect::<Vec<_>>().join(" | ")
    );
    for row in &rows {
        eprintln!("nx_serve:   {}", row.join(" | "));
    }
    for (app, p) in apps.iter().zip(&pollers) {
        let p = p.lock().unwrap();
        eprintln!(
            "nx_serve: {}: {} answers, {} refused, {} reset, {} failed, values seen {:?}",
            app.name,
            p.answered,
            p.refused,
            p.reset,
            p.failed,
            p.changes
                .iter()
                .map(|(_, b)| b.as_str())
                .collect::<Vec<_>>()
        );
    }
    for (app, p) in apps.iter().zip(&pollers) {
        let p = p.lock().unwrap();
        if !p.troubles.is_empty() {
            // Beside devloop's events of the app, to see which instance it was.
            eprintln!(
                "nx_serve: {} refused/reset at (epoch ms): {:?}",
                app.name, p.troubles
            );
            for e in devloop.seen.iter().filter(|e| {
                e["process"] == app.name && e["event"] != "process_output"
                    || e["event"] == "promoted"
            }) {
                eprintln!("nx_serve:   {e}");
            }
        }
    }
    for (app, p) in apps.iter().zip(&pollers) {
        let p = p.lock().unwrap();
        assert_eq!(p.refused, 0, "{}: connections refused", app.name);
        assert_eq!(p.reset, 0, "{}: connections reset", app.name);
        assert_eq!(p.failed, 0, "{}: failed answers: {:?}", app.name, p.samples);
        // Every edit's value, each once, in order: never one edit late.
        let values: Vec<&str> = p.changes.iter().map(|(_, b)| b.as_str()).collect();
        assert_eq!(
            values, served_values,
            "{}: the values it served, in order",
            app.name
        );
    }
    let lines: Vec<String> = devloop
        .seen
        .iter()
        .filter(|e| e["event"] == "process_output" || e["event"] == "build_output")
        .filter_map(|e| e["line"].as_str().map(str::to_string))
        .collect();
    let missing: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("Cannot find module"))
        .collect();
    assert!(missing.is_empty(), "Cannot find module: {missing:?}");
    let lib_builds: Vec<&Value> = devloop
        .seen
        .iter()
        .filter(|e| e["event"] == "process_output")
        .filter(|e| {
            let line = e["line"].as_str().unwrap_or("");
            line.contains("nx run alpha:build") || line.contains("nx run beta:build")
        })
        .collect();
    assert!(
        lib_builds.is_empty(),
        "a process built a lib: {lib_builds:?}"
    );
    let foreign = foreign.lock().unwrap();
    assert!(
        foreign.is_empty(),
        "writes into dist/libs that were not promotions ({foreign_at_start} before the edits): {foreign:?}"
    );
    let left = processes_in(&root);
    assert!(left.is_empty(), "left after SIGTERM: {left:?}");
    for app in &apps {
        assert!(
            common::port_closed(app.port),
            "{}: port {} still open",
            app.name,
            app.port
        );
    }
    let promotions = devloop
        .seen
        .iter()
        .filter(|e| e["event"] == "promoted")
        .count();
    eprintln!(
        "nx_serve: {promotions} promotions for {} steps; total {:.1?}",
        steps.len(),
        started.elapsed()
    );
    // Restarted once per edit at most: a lib recompiled only because its
    // dependency changed promotes nothing new, and tells no process.
    let good = served_values.len() - 1;
    for name in apps.iter().map(|a| a.name) {
        let restarts = devloop
            .of("process_restarting", name)
            .iter()
            .filter(|e| e["reason"] == "promoted")
            .count();
        eprintln!("nx_serve: {name}: {restarts} restarts on promotion");
        assert!(
            restarts <= good,
            "{name}: {restarts} restarts on promotion for {good} edits"
        );
    }
}
