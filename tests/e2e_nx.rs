//! End to end with the real tools (issue 6, item 3): two TypeScript libs built
//! by nx (`@nx/js:tsc`) and a node process that requires both from `dist/libs`
//! every 10 ms, first under devloop (nx builds into `tmp/libs-out`, devloop
//! promotes into `dist/libs`), then in the naive loop (nx builds straight into
//! `dist/libs`, deleting it first) as the control.
//!
//! The npm packages pinned in `tests/fixtures/nx-e2e/package.json` are
//! installed once into `target/tmp/e2e-nx-cache/<hash>` and linked into each
//! temporary workspace. The test skips (and passes) only when node or npm
//! cannot be found.

mod common;
#[path = "common/npm.rs"]
mod npm;
#[path = "common/nx.rs"]
mod nx;

use common::{Devloop, wait_until};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const EDITS: u32 = 15;
/// The longest wait for one nx build and its promotion: about 5 s here, much
/// more on a loaded 2-core machine.
const BUILD_WAIT: Duration = Duration::from_secs(180);
/// The longest wait for the reader to print a value (it polls every 10 ms).
const READER_WAIT: Duration = Duration::from_secs(30);

#[test]
fn nx_builds_under_devloop_never_break_a_reader_of_dist_libs_and_the_naive_loop_does() {
    let started = Instant::now();
    let (Ok(node), Ok(npm)) = (which::which("node"), which::which("npm")) else {
        eprintln!(
            "SKIPPED e2e_nx: node and npm are needed on PATH for the end-to-end test with \
             real nx and TypeScript (Node.js 20 was used); the test passes without running"
        );
        return;
    };
    eprintln!("e2e_nx: node {}, npm {}", version(&node), version(&npm));

    let node_modules = npm::installed(Path::new(nx::FIXTURE), "e2e-nx-cache", "nx")
        .expect("node and npm were found");
    let installed = started.elapsed();
    eprintln!(
        "e2e_nx: packages ready in {installed:.1?} at {}",
        node_modules.display()
    );

    let devloop = devloop_loop(&node_modules);
    let devloop_time = started.elapsed() - installed;
    let naive = naive_loop(&node_modules);
    let naive_time = started.elapsed() - installed - devloop_time;

    eprintln!(
        "e2e_nx: {EDITS} edits, nx {}\n{}\n{}\n{}",
        fixture_version("nx"),
        Tally::HEADER,
        devloop.row(devloop_time),
        naive.row(naive_time),
    );
    eprintln!(
        "e2e_nx: devloop builds (nx run-many, ms): {:?}; edit to promoted (ms): {:?}",
        devloop.build_ms, devloop.edit_to_promoted_ms
    );
    eprintln!(
        "e2e_nx: naive builds (nx run-many, ms): {:?}",
        naive.build_ms
    );
    eprintln!(
        "e2e_nx: naive errors (first of each kind):\n  {}",
        naive.samples.join("\n  ")
    );
    eprintln!("e2e_nx: total {:.1?}", started.elapsed());

    assert_eq!(
        devloop.missing,
        0,
        "the reader under devloop hit missing modules:\n{}",
        devloop.samples.join("\n")
    );
    assert_eq!(
        devloop.other_errors,
        0,
        "the reader under devloop hit errors:\n{}",
        devloop.samples.join("\n")
    );
    assert_eq!(
        devloop.outages, 0,
        "the reader under devloop could not load the libs"
    );
    assert_eq!(devloop.crashes, 0, "the reader under devloop exited");
    assert_eq!(devloop.orphans, 0, "processes outlived devloop");
    assert!(
        devloop.served_last,
        "the reader did not serve the last edit"
    );
    assert!(
        naive.missing > 0,
        "INCONCLUSIVE: the control (nx building straight into dist/libs while the reader \
         reads) showed no missing-module error in {EDITS} builds, so this test proves nothing \
         about devloop; other errors: {}",
        naive.other_errors
    );
}

/// What one loop did to the reader.
#[derive(Default)]
struct Tally {
    name: &'static str,
    /// Reader lines with "Cannot find module" or MODULE_NOT_FOUND.
    missing: usize,
    /// Other error lines of the reader.
    other_errors: usize,
    /// Spells during which the reader could not load the libs, and the
    /// longest and total of them (as the reader measured them).
    outages: usize,
    longest_outage_ms: u64,
    total_outage_ms: u64,
    /// The reader exiting by itself.
    crashes: usize,
    /// Restarts of the reader (by devloop).
    restarts: usize,
    /// Processes left running in the workspace: by devloop once it exited;
    /// by an nx build once it exited (the most after any one build).
    orphans: usize,
    /// Whether the reader printed the last edit's value.
    served_last: bool,
    /// The first few error lines of each kind.
    samples: Vec<String>,
    build_ms: Vec<u64>,
    edit_to_promoted_ms: Vec<u64>,
}

impl Tally {
    fn count_line(&mut self, line: &str) {
        if let Some(ms) = line
            .strip_prefix("recovered after ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|ms| ms.parse::<u64>().ok())
        {
            self.outages += 1;
            self.longest_outage_ms = self.longest_outage_ms.max(ms);
            self.total_outage_ms += ms;
            return;
        }
        let seen = if line.contains("Cannot find module") || line.contains("MODULE_NOT_FOUND") {
            self.missing += 1;
            self.missing
        } else if line.starts_with("error") {
            self.other_errors += 1;
            self.other_errors
        } else {
            return;
        };
        // The first few of each kind.
        if seen <= 5 {
            self.samples.push(line.to_string());
        }
    }

    const HEADER: &str = "         | missing-module errors | other errors | outages (longest, total) \
         | reader crashes | reader restarts | orphans | final value served | time";

    fn row(&self, time: Duration) -> String {
        let outages = format!(
            "{} ({} ms, {} ms)",
            self.outages, self.longest_outage_ms, self.total_outage_ms
        );
        format!(
            "{:<8} | {:>21} | {:>12} | {outages:>24} | {:>14} | {:>15} | {:>7} | {:>18} | {time:.1?}",
            self.name,
            self.missing,
            self.other_errors,
            self.crashes,
            self.restarts,
            self.orphans,
            self.served_last,
        )
    }
}

/// The fixture's lib edited by edit `n` (1-based), the constant, and its new value.
fn edit(n: u32) -> (&'static str, &'static str, u32) {
    if n % 2 == 1 {
        ("alpha", "ALPHA", 100 + n)
    } else {
        ("beta", "BETA", 100 + n)
    }
}

/// Applies edit `n` to `root`; returns the line the reader prints once it
/// sees the result.
fn apply_edit(root: &Path, n: u32) -> String {
    let (lib, constant, value) = edit(n);
    std::fs::write(
        root.join(format!("libs/{lib}/src/value.ts")),
        format!(
            "// The e2e test rewrites this line.\nexport const {constant}: number = {value};\n"
        ),
    )
    .expect("edit a lib's value.ts");
    expected_value(n)
}

/// What the reader prints after edit `n` (0: the fixture as it is).
fn expected_value(n: u32) -> String {
    let last = |lib: &str| {
        (1..=n)
            .rev()
            .map(edit)
            .find(|(l, _, _)| *l == lib)
            .map_or(1, |(_, _, v)| v)
    };
    format!("value alpha={} beta={}", last("alpha"), last("beta"))
}

// ---------------------------------------------------------------- devloop --

fn devloop_loop(node_modules: &Path) -> Tally {
    let workspace = workspace_from_fixture(node_modules);
    let root = workspace.path();
    std::fs::write(
        root.join("watch.toml"),
        r#"[watch]
paths = ["libs"]
debounce = "200ms"

[build]
command = "nx run-many -t build --configuration=devloop --skip-nx-cache --output-style=static"
output = "tmp/libs-out"
timeout = "5m"

[promote]
target = "dist/libs"
require = ["alpha/src/index.js", "beta/src/index.js"]

[process.reader]
command = "node reader.js"
after = ["build"]
"#,
    )
    .expect("write watch.toml");

    let mut command = Command::new(env!("CARGO_BIN_EXE_devloop"));
    command
        .args(["--headless", "--json", "-c"])
        .arg(root.join("watch.toml"))
        .envs(nx::NX_ENV);
    let mut devloop = Devloop::spawn(command, &workspace);

    let mut tally = Tally {
        name: "devloop",
        ..Tally::default()
    };
    let mut build = wait_promotion(&mut devloop, 0);
    wait_reader_line(&mut devloop, &expected_value(0));
    for n in 1..=EDITS {
        let edited = Instant::now();
        let expected = apply_edit(root, n);
        build = wait_promotion(&mut devloop, build);
        tally
            .edit_to_promoted_ms
            .push(edited.elapsed().as_millis() as u64);
        wait_reader_line(&mut devloop, &expected);
    }
    tally.served_last = true;

    let readers: Vec<u32> = devloop
        .of("process_started", "reader")
        .iter()
        .filter_map(|e| e["pid"].as_u64())
        .map(|pid| pid as u32)
        .collect();
    let before_stop = devloop.seen.len();
    let status = devloop.stop();
    assert!(status.success(), "devloop did not stop cleanly: {status}");

    for event in devloop.of("process_output", "reader") {
        tally.count_line(event["line"].as_str().unwrap_or_default());
    }
    tally.crashes = devloop.seen[..before_stop]
        .iter()
        .filter(|e| e["event"] == "process_exited" && e["process"] == "reader")
        .count();
    tally.restarts = devloop.of("process_restarting", "reader").len();
    tally.build_ms = devloop
        .all("build_finished")
        .iter()
        .filter_map(|e| e["ms"].as_u64())
        .collect();
    assert!(
        readers.iter().all(|pid| !common::alive(*pid)),
        "a reader outlived devloop: {readers:?}"
    );
    tally.orphans = processes_in(root).len();
    tally
}

/// Waits for the promotion of the first build numbered above `after`; fails
/// with that build's output if it fails or is not promoted.
fn wait_promotion(devloop: &mut Devloop, after: u64) -> u64 {
    let newer = |e: &Value| e["build"].as_u64().is_some_and(|b| b > after);
    let event = devloop.wait_for_within(BUILD_WAIT, "the next promotion", |e| {
        newer(e)
            && (e["event"] == "promoted"
                || e["event"] == "promote_failed"
                || (e["event"] == "build_finished" && e["status"] != "ok"))
    });
    let build = event["build"].as_u64().expect("build number");
    if event["event"] != "promoted" {
        let output: Vec<&str> = devloop
            .all("build_output")
            .into_iter()
            .filter(|e| e["build"] == build)
            .filter_map(|e| e["line"].as_str())
            .collect();
        panic!(
            "build {build} was not promoted: {event}\nits output:\n{}",
            output.join("\n")
        );
    }
    build
}

fn wait_reader_line(devloop: &mut Devloop, expected: &str) {
    let already = devloop
        .of("process_output", "reader")
        .iter()
        .any(|e| e["line"] == expected);
    if !already {
        devloop.wait_for_within(READER_WAIT, &format!("reader printing {expected:?}"), |e| {
            e["event"] == "process_output" && e["process"] == "reader" && e["line"] == expected
        });
    }
}

// ------------------------------------------------------------------ naive --

fn naive_loop(node_modules: &Path) -> Tally {
    let workspace = workspace_from_fixture(node_modules);
    let root = workspace.path();
    let mut tally = Tally {
        name: "naive",
        ..Tally::default()
    };
    // The default configuration: outputPath dist/libs/<lib>, deleted by
    // @nx/js:tsc before it compiles.
    nx_build(root);

    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut reader = Group(
        Command::new("node")
            .arg("reader.js")
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("start node reader.js"),
    );
    let reader = &mut reader.0;
    let readers = [
        collect(reader.stdout.take().expect("reader stdout"), &lines),
        collect(reader.stderr.take().expect("reader stderr"), &lines),
    ];
    let printed = |expected: &str| {
        let lines = Arc::clone(&lines);
        let expected = expected.to_string();
        move || lines.lock().expect("lines").contains(&expected)
    };
    assert!(
        wait_until(READER_WAIT, printed(&expected_value(0))),
        "the reader never printed the first value: {:?}",
        lines.lock().expect("lines")
    );

    for n in 1..=EDITS {
        apply_edit(root, n);
        let ms = nx_build(root);
        tally.build_ms.push(ms);
        let left: Vec<u32> = processes_in(root)
            .into_iter()
            .filter(|pid| *pid != reader.id())
            .collect();
        tally.orphans = tally.orphans.max(left.len());
    }
    tally.served_last = wait_until(READER_WAIT, printed(&expected_value(EDITS)));

    match reader.try_wait().expect("reader status") {
        Some(status) => {
            tally.crashes = 1;
            eprintln!("e2e_nx: the naive loop's reader exited: {status}");
        }
        None => stop_group(reader),
    }
    for thread in readers {
        thread.join().expect("reader output thread");
    }
    for line in lines.lock().expect("lines").iter() {
        tally.count_line(line);
    }
    tally
}

/// `nx run-many -t build` with the default configuration, in a process
/// group of its own; its duration in ms. Fails with nx's output.
fn nx_build(root: &Path) -> u64 {
    let started = Instant::now();
    let output = Command::new(root.join("node_modules/.bin/nx"))
        .args(["run-many", "-t", "build", "--skip-nx-cache"])
        .current_dir(root)
        .envs(nx::NX_ENV)
        .stdin(Stdio::null())
        .process_group(0)
        .output()
        .expect("run nx");
    assert!(
        output.status.success(),
        "nx build failed: {}",
        shown(&output)
    );
    started.elapsed().as_millis() as u64
}

fn collect(
    stream: impl std::io::Read + Send + 'static,
    lines: &Arc<Mutex<Vec<String>>>,
) -> std::thread::JoinHandle<()> {
    let lines = Arc::clone(lines);
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            lines.lock().expect("lines").push(line);
        }
    })
}

/// A child in a process group of its own, stopped with its group when
/// dropped (a failing test included).
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            stop_group(&mut self.0);
        }
    }
}

fn stop_group(child: &mut Child) {
    unsafe { libc::kill(-(child.id() as i32), libc::SIGTERM) };
    if !wait_until(Duration::from_secs(10), || {
        matches!(child.try_wait(), Ok(Some(_)))
    }) {
        unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    }
    let _ = child.wait();
}

// -------------------------------------------------------------- workspace --

/// A copy of the fixture in a temporary directory, with `node_modules`
/// linked to the installed packages.
fn workspace_from_fixture(node_modules: &Path) -> common::Workspace {
    let workspace = common::Workspace::new("");
    let root = workspace.path();
    std::fs::remove_file(root.join("watch.toml")).expect("remove the empty watch.toml");
    copy_tree(Path::new(nx::FIXTURE), root);
    std::os::unix::fs::symlink(node_modules, root.join("node_modules"))
        .expect("link node_modules into the workspace");
    workspace
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a directory of the workspace");
    for entry in std::fs::read_dir(from).expect("read the fixture") {
        let entry = entry.expect("fixture entry");
        let target = to.join(entry.file_name());
        let kind = entry.file_type().expect("fixture entry type");
        if kind.is_dir() {
            if entry.file_name() != "node_modules" {
                copy_tree(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target)
                .unwrap_or_else(|e| panic!("copy {}: {e}", entry.path().display()));
        }
    }
}

/// Live processes whose working directory is inside `root`.
fn processes_in(root: &Path) -> Vec<u32> {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    std::fs::read_dir("/proc")
        .expect("read /proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd.starts_with(&root))
                && common::alive(*pid)
        })
        .collect()
}

fn fixture_version(package: &str) -> String {
    let manifest = std::fs::read_to_string(Path::new(nx::FIXTURE).join("package.json"))
        .expect("read package.json");
    let manifest: Value = serde_json::from_str(&manifest).expect("package.json is JSON");
    manifest["devDependencies"][package]
        .as_str()
        .unwrap_or("?")
        .to_string()
}

fn version(program: &Path) -> String {
    Command::new(program)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|e| format!("(unknown: {e})"))
}

fn shown(output: &Output) -> String {
    format!(
        "{}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn expected_values_follow_the_edits() {
    assert_eq!(expected_value(0), "value alpha=1 beta=1");
    assert_eq!(expected_value(1), "value alpha=101 beta=1");
    assert_eq!(expected_value(4), "value alpha=103 beta=104");
    assert_eq!(expected_value(EDITS), "value alpha=115 beta=114");
}

/// An app whose serve target depends on its libs' builds, as nx sets serve
/// targets up (`dependsOn: ["^build"]`): `nx serve app` builds alpha and beta
/// into dist/libs first, with their default configuration.
const APP_PROJECT: &str = r#"{
  "name": "app",
  "projectType": "application",
  "implicitDependencies": ["alpha", "beta"],
  "targets": {
    "serve": {
      "executor": "nx:run-commands",
      "dependsOn": ["^build"],
      "options": { "command": "node -e \"setInterval(() => {}, 1000)\"" }
    }
  }
}"#;

#[test]
fn a_serve_target_that_builds_the_libs_into_the_target_is_named_and_its_writes_reported() {
    let Some(node_modules) = npm::installed(Path::new(nx::FIXTURE), "e2e-nx-cache", "nx") else {
        return;
    };
    let workspace = workspace_from_fixture(&node_modules);
    let root = workspace.path();
    workspace.write("apps/app/project.json", APP_PROJECT);
    let config = |serve: &str| {
        format!(
            "[watch]\npaths = [\"libs\"]\ndebounce = \"200ms\"\n\n[build]\ncommand = \"nx run-many -t build --configuration=devloop --output-style=static\"\noutput = \"tmp/libs-out\"\ntimeout = \"5m\"\n\n[promote]\ntarget = \"dist/libs\"\n\n[process.app]\ncommand = \"{serve}\"\nafter = [\"build\"]\n"
        )
    };
    let check = |serve: &str| {
        std::fs::write(root.join("watch.toml"), config(serve)).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_devloop"))
            .args(["check", "-c"])
            .arg(root.join("watch.toml"))
            .envs(nx::NX_ENV)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", shown(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };

    let said = check("nx serve app");
    for lib in ["alpha", "beta"] {
        let warning = format!(
            "warning nx runs {lib}:build first, which writes dist/libs/{lib} inside the promote target"
        );
        assert!(said.contains(&warning), "{said}");
    }
    assert!(said.contains("add `--excludeTaskDependencies`"), "{said}");
    let said = check("nx serve app --excludeTaskDependencies");
    assert!(!said.contains("warning"), "{said}");

    // Run as written first: nx's own lib builds write into dist/libs after
    // devloop's promotion, and devloop says so.
    std::fs::write(root.join("watch.toml"), config("nx serve app")).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_devloop"));
    command
        .args(["--headless", "--json", "-c"])
        .arg(root.join("watch.toml"))
        .envs(nx::NX_ENV);
    let mut devloop = Devloop::spawn(command, &workspace);
    let error = devloop.wait_for_within(BUILD_WAIT, "the foreign write", |e| {
        e["event"] == "error"
            && e["message"].as_str().is_some_and(|m| {
                m.contains("something other than devloop wrote into dist/libs: dist/libs/")
            })
    });
    assert!(
        devloop
            .position(|e| e["event"] == "promoted")
            .is_some_and(|promoted| devloop
                .position(|e| *e == error)
                .is_some_and(|at| promoted < at)),
        "the write came after devloop's promotion: {}",
        devloop.dump()
    );
    assert!(devloop.stop().success());
}
