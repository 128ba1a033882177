//! Promotion through the command line: `devloop build`, `devloop rollback`,
//! promotion after builds in `run`, recovery at start, and SIGKILL at random
//! moments of a 2,000-file promotion.

use crate::common::{Devloop, Workspace};
use serde_json::{Value, json};
use std::path::Path;
use std::time::{Duration, Instant};

/// A workspace whose build only copies `src-out` (written by the test) into
/// the build output, so each test decides what a generation contains.
fn workspace(extra: &str) -> Workspace {
    workspace_building(
        "rm -rf tmp/out && mkdir -p tmp && cp -r src-out tmp/out",
        extra,
    )
}

fn workspace_building(build: &str, extra: &str) -> Workspace {
    let config = format!(
        "[watch]\npaths = [\"libs\"]\ndebounce = \"200ms\"\n\n[build]\ncommand = \"{build}\"\noutput = \"tmp/out\"\n\n[promote]\ntarget = \"dist/libs\"\nkeep = 2\n{extra}"
    );
    Workspace::new(&config)
}

fn write_generation(workspace: &Workspace, stamp: &str, files: usize) {
    write_tree(&workspace.path().join("src-out"), stamp, files);
}

fn write_tree(dir: &Path, stamp: &str, files: usize) {
    let _ = std::fs::remove_dir_all(dir);
    for i in 0..files {
        let path = dir.join(format!("lib{}/f{i}.js", i % 20));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, stamp).unwrap();
    }
}

/// The one stamp every file of the target carries; panics on a mixed or
/// partial target.
fn target_stamp(root: &Path, files: usize) -> String {
    let target = root.join("dist/libs");
    let mut stamps = std::collections::BTreeSet::new();
    for i in 0..files {
        let path = target.join(format!("lib{}/f{i}.js", i % 20));
        let stamp = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{} unreadable: {e}", path.display()));
        stamps.insert(stamp);
    }
    assert_eq!(stamps.len(), 1, "the target mixes generations: {stamps:?}");
    stamps.into_iter().next().unwrap()
}

fn json_lines(output: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn event(events: &[Value], name: &str) -> Option<Value> {
    events.iter().find(|e| e["event"] == name).cloned()
}

#[test]
fn build_promotes_and_rollback_undoes() {
    let workspace = workspace("");
    write_generation(&workspace, "one", 10);
    let out = workspace.run(&["build", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = json_lines(&out);
    let promoted = event(&events, "promoted").expect("no promoted event");
    assert_eq!(promoted["generation"], json!(1));
    assert_eq!(promoted["target"], json!("dist/libs"));
    assert_eq!(promoted["files"], json!(10));
    assert_eq!(promoted["bytes"], json!(30));
    // No target yet: one plain rename, and the event says so.
    assert_eq!(promoted["strategy"], json!("rename"));
    assert!(event(&events, "notice").is_none(), "no fallback to report");
    assert!(promoted["swap_us"].is_u64() && promoted["ms"].is_u64());
    assert_eq!(target_stamp(workspace.path(), 10), "one");
    assert!(
        workspace.path().join("tmp/out/lib0/f0.js").exists(),
        "the build output was moved, not copied"
    );

    write_generation(&workspace, "two", 10);
    let out = workspace.run(&["build", "--json"]);
    assert!(out.status.success());
    let promoted = event(&json_lines(&out), "promoted").expect("no promoted event");
    assert_eq!(promoted["strategy"], json!("exchange"));
    assert_eq!(target_stamp(workspace.path(), 10), "two");

    let out = workspace.run(&["rollback", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        event(&json_lines(&out), "rolled_back").unwrap()["generation"],
        json!(1)
    );
    assert_eq!(target_stamp(workspace.path(), 10), "one");

    let out = workspace.run(&["rollback", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "no generation left to roll back to"
    );
    let events = json_lines(&out);
    let error = event(&events, "error").expect("no error event");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no previous generation"),
        "{error}"
    );
    assert_eq!(
        target_stamp(workspace.path(), 10),
        "one",
        "a refused rollback changed the target"
    );
}

#[test]
fn a_failed_build_or_a_missing_require_leaves_the_target_untouched() {
    let workspace = workspace("require = [\"lib0/f0.js\", \"lib1/index.js\"]\n");
    write_generation(&workspace, "one", 10);
    workspace.write("src-out/lib1/index.js", "one");
    assert!(workspace.run(&["build"]).status.success());

    write_generation(&workspace, "two", 10);
    let out = workspace.run(&["build", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let events = json_lines(&out);
    let failed = event(&events, "promote_failed").expect("no promote_failed");
    assert!(
        failed["reason"].as_str().unwrap().contains("lib1/index.js"),
        "{failed}"
    );
    assert_eq!(target_stamp(workspace.path(), 10), "one");

    std::fs::remove_dir_all(workspace.path().join("src-out")).unwrap();
    let out = workspace.run(&["build", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "cp of a missing directory fails the build"
    );
    assert_eq!(
        event(&json_lines(&out), "build_finished").unwrap()["status"],
        json!("failed")
    );
    assert!(event(&json_lines(&out), "promoted").is_none());
    assert_eq!(target_stamp(workspace.path(), 10), "one");
}

#[test]
fn keep_prunes_old_generations() {
    let workspace = workspace("");
    for stamp in ["a", "b", "c", "d", "e"] {
        write_generation(&workspace, stamp, 4);
        assert!(workspace.run(&["build"]).status.success());
    }
    let mut generations: Vec<String> = std::fs::read_dir(workspace.path().join("dist"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".libs.gen-"))
        .collect();
    generations.sort();
    assert_eq!(generations, [".libs.gen-3", ".libs.gen-4"], "keep = 2");
}

/// Everything beside the target in dist/, hidden or not.
fn beside_target(workspace: &Workspace) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(workspace.path().join("dist"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "libs")
        .collect();
    names.sort();
    names
}

#[test]
fn keep_zero_leaves_the_target_alone_on_disk() {
    let workspace = workspace_building(
        "rm -rf tmp/out && mkdir -p tmp && cp -r src-out tmp/out",
        "",
    );
    let config = workspace.read("watch.toml").replace("keep = 2", "keep = 0");
    workspace.write("watch.toml", &config);
    for stamp in ["a", "b", "c"] {
        write_generation(&workspace, stamp, 4);
        assert!(workspace.run(&["build"]).status.success());
        assert_eq!(
            beside_target(&workspace),
            Vec::<String>::new(),
            "after {stamp}"
        );
    }
    assert_eq!(target_stamp(workspace.path(), 4), "c");
    let out = workspace.run(&["rollback"]);
    assert_eq!(out.status.code(), Some(1), "nothing kept to roll back to");
}

#[test]
fn the_forced_fallback_is_reported() {
    let workspace = workspace("");
    write_generation(&workspace, "one", 4);
    assert!(workspace.run(&["build"]).status.success());
    write_generation(&workspace, "two", 4);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_devloop"))
        .args(["build", "--json", "-c"])
        .arg(workspace.config())
        .env("DEVLOOP_SWAP", "rename")
        .output()
        .unwrap();
    assert!(out.status.success());
    let events = json_lines(&out);
    assert_eq!(
        event(&events, "promoted").unwrap()["strategy"],
        json!("rename")
    );
    assert!(
        event(&events, "notice").unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("two renames")
    );
    assert_eq!(target_stamp(workspace.path(), 4), "two");
}

#[test]
fn run_promotes_each_good_build_and_recovers_first() {
    let workspace = workspace("");
    write_generation(&workspace, "one", 4);
    assert!(workspace.run(&["build"]).status.success());
    // A killed promotion's state: the target renamed away to a backup.
    let dist = workspace.path().join("dist");
    std::fs::rename(dist.join("libs"), dist.join(".libs.backup-2")).unwrap();

    write_generation(&workspace, "two", 4);
    let mut devloop = Devloop::start(&workspace);
    let notice = devloop.wait_event("notice", &[]);
    assert!(
        dist.join("libs").is_dir(),
        "recovery did not restore the target: {notice}"
    );
    devloop.wait_event("watching", &[]);
    let promoted = devloop.wait_event("promoted", &[("build", json!(1))]);
    assert!(promoted["generation"].as_u64().unwrap() >= 2);
    assert_eq!(target_stamp(workspace.path(), 4), "two");

    write_generation(&workspace, "three", 4);
    workspace.write("libs/a.ts", "edit");
    devloop.wait_event("promoted", &[("build", json!(2))]);
    assert_eq!(target_stamp(workspace.path(), 4), "three");
    assert!(devloop.stop().success());
}

/// Small deterministic pseudo-random numbers (no crate for one test).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound.max(1)
    }
}

#[test]
fn sigkill_at_random_moments_never_leaves_a_partial_target() {
    const FILES: usize = 2_000;
    const KILLS: u64 = 30;
    // The build does nothing: the test puts the output in place, alternating
    // two prepared trees (renames are instant), so the kills land in
    // devloop's own work, mostly the promotion.
    let workspace = workspace_building("true", "");
    let tmp = workspace.path().join("tmp");
    write_tree(&tmp.join("out"), "A", FILES);
    write_tree(&tmp.join("out-next"), "B", FILES);
    let started = Instant::now();
    assert!(workspace.run(&["build"]).status.success());
    let span = (started.elapsed().as_micros() as u64).max(1_000);
    let mut random = Lcg(0x5eed);
    let mut seen = std::collections::BTreeSet::new();
    for kill in 0..KILLS {
        std::fs::rename(tmp.join("out"), tmp.join("out-prev")).unwrap();
        std::fs::rename(tmp.join("out-next"), tmp.join("out")).unwrap();
        std::fs::rename(tmp.join("out-prev"), tmp.join("out-next")).unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_devloop"))
            .args(["build", "--json", "-c"])
            .arg(workspace.config())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Half anywhere in a promotion's time, half near its end, where the swap is.
        let at = if kill % 2 == 0 {
            random.below(span)
        } else {
            span * 7 / 10 + random.below(span * 4 / 10)
        };
        std::thread::sleep(Duration::from_micros(at));
        let _ = child.kill();
        let _ = child.wait();
        // Whole right after the kill, before any recovery.
        seen.insert(target_stamp(workspace.path(), FILES));
    }
    let out = workspace.run(&["build"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let leftovers: Vec<String> = std::fs::read_dir(workspace.path().join("dist"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("stage") || n.contains("backup") || n.contains("trash"))
        .collect();
    assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
    eprintln!("{KILLS} kills over {span} µs; generations seen in place: {seen:?}");
}

#[test]
fn u_on_stdin_rolls_back_while_running_and_the_next_change_builds() {
    let workspace = workspace("");
    write_generation(&workspace, "one", 4);
    workspace.write("libs/a.ts", "v1");
    let mut devloop = Devloop::start(&workspace);
    devloop.wait_event("promoted", &[("build", json!(1)), ("generation", json!(1))]);
    write_generation(&workspace, "two", 4);
    workspace.write("libs/a.ts", "v2");
    devloop.wait_event("promoted", &[("build", json!(2)), ("generation", json!(2))]);

    devloop.send("u");
    devloop.wait_event("rolled_back", &[("generation", json!(1))]);
    assert_eq!(target_stamp(workspace.path(), 4), "one");

    // The sources still say v2, which was built: after a rollback that must
    // build again rather than count as "no change".
    workspace.write("libs/a.ts", "v2");
    let finished = devloop.wait_event("build_finished", &[("build", json!(3))]);
    assert_eq!(finished["status"], json!("ok"), "{finished}");
    devloop.wait_event("promoted", &[("build", json!(3))]);
    assert_eq!(target_stamp(workspace.path(), 4), "two");
    assert!(devloop.stop().success());
}

#[test]
fn a_write_into_the_target_that_is_no_promotion_is_an_error_naming_it() {
    // A process that writes into the target once told to, and keeps the file
    // open (so its writer can be seen).
    let rogue = "[process.rogue]\ncommand = '''while [ ! -e go ]; do sleep 0.05; done; exec 3>dist/libs/rogue.js; echo bad >&3; exec sleep 600'''\nafter = [\"build\"]\n";
    let workspace = workspace(rogue);
    write_generation(&workspace, "one", 40);
    let mut devloop = Devloop::start(&workspace);
    devloop.wait_event("promoted", &[("build", json!(1))]);
    // Promotions, recycled generations and their nudges are devloop's own.
    for (build, stamp) in [(2, "two"), (3, "three"), (4, "four"), (5, "five")] {
        write_generation(&workspace, stamp, 40);
        workspace.write("libs/a.ts", stamp);
        devloop.wait_event("promoted", &[("build", json!(build))]);
    }
    devloop.send("u");
    devloop.wait_event("rolled_back", &[]);
    let foreign = |event: &Value| {
        event["event"] == "error"
            && event["message"]
                .as_str()
                .is_some_and(|m| m.contains("something other than devloop"))
    };
    assert_eq!(devloop.position(foreign), None, "{}", devloop.dump());

    workspace.write("go", "");
    let error = devloop.wait_for("the rogue write", foreign);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("wrote into dist/libs: dist/libs/rogue.js"),
        "{message}"
    );
    assert!(message.contains("written by pid"), "{message}");
    assert!(message.contains("of process `rogue`"), "{message}");

    // A write whose writer is gone by the time it is seen.
    std::fs::write(workspace.path().join("dist/libs/lib0/f0.js"), "mixed").unwrap();
    let error = devloop.wait_for("the test's write", foreign);
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("dist/libs/lib0/f0.js"), "{message}");
    // The test is the writer: the guard's scan may still catch it holding
    // the file (under load), and then names it instead.
    assert!(
        message.contains("the writer had closed its files") || message.contains("written by pid"),
        "{message}"
    );

    // The next promotion makes the target whole again, and reports nothing.
    write_generation(&workspace, "six", 40);
    workspace.write("libs/a.ts", "six");
    devloop.wait_event("promoted", &[("build", json!(6))]);
    assert_eq!(target_stamp(workspace.path(), 40), "six");
    let errors = devloop.all("error").len();
    assert!(devloop.stop().success());
    assert_eq!(devloop.all("error").len(), errors, "{}", devloop.dump());
}
