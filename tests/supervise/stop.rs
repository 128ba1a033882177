//! Stopping, end to end: nothing devloop started outlives it, whether it is
//! stopped, its terminal closes or it is killed (its watchdog stops them);
//! leftovers of a devloop killed with its watchdog are stopped at the next
//! start (and only those); as PID 1 it reaps orphans.

use crate::common::tmux::{Tmux, devloop_script};
use crate::common::{
    Devloop, Workspace, alive, config_with_processes, descendants, free_port, parent_and_state,
    port_closed, run_processes, wait_until, watchdog_of,
};
use serde_json::json;
use std::time::{Duration, Instant};

fn process(name: &str) -> (&'static str, serde_json::Value) {
    ("process", json!(name))
}

/// Three ways to outlive a plain `kill` of the leader: a shell that ignores
/// SIGTERM, a leader that exits at once leaving a child that ignores it, and
/// a daemon that left the group with setsid.
const STUBBORN: &str = r#"
[process.ignorer]
command = '''trap '' TERM; echo up; while :; do sleep 0.2; done'''
stop_timeout = "2s"

[process.leader_first]
command = '''(trap '' TERM; exec sleep 1000) & echo up; exec sleep 1000'''
stop_timeout = "2s"

[process.daemon]
command = '''setsid sleep 1000 & echo up; exec sleep 1000'''
stop_timeout = "2s"
"#;

#[test]
fn sigterm_leaves_no_descendant_alive_within_stop_timeout_and_a_second() {
    let workspace = Workspace::new(&config_with_processes("true", STUBBORN));
    let mut devloop = Devloop::start(&workspace);
    for name in ["ignorer", "leader_first", "daemon"] {
        devloop.seen_or_wait("process_output", &[process(name), ("line", json!("up"))]);
    }
    let tree = descendants(devloop.pid());
    // Three leaders, the ignorer's sleep, the stubborn child, the daemon.
    assert!(tree.len() >= 5, "descendants: {tree:?}");
    let signalled = Instant::now();
    devloop.signal(libc::SIGTERM);
    let all_gone = wait_until(Duration::from_secs(3), || !tree.iter().any(|&p| alive(p)));
    let took = signalled.elapsed();
    let left: Vec<u32> = tree.iter().copied().filter(|&p| alive(p)).collect();
    assert!(all_gone, "alive {took:?} after SIGTERM: {left:?}");
    assert!(devloop.wait_exit().success(), "exit 0 once all are gone");
    for name in ["ignorer", "leader_first", "daemon"] {
        assert_eq!(devloop.of("process_stopped", name).len(), 1, "{name}");
    }
    let ignorer = devloop.of("process_exited", "ignorer");
    assert_eq!(ignorer[0]["signal"], "SIGKILL", "it ignored SIGTERM");
    // The leader went at SIGTERM; its child, which ignores it, went anyway.
    let leader = devloop.of("process_exited", "leader_first");
    assert_eq!(leader[0]["signal"], "SIGTERM");
    let shutdown = devloop.all("shutdown");
    assert_eq!(shutdown[0]["reason"], "SIGTERM");
}

#[test]
fn the_next_start_stops_what_a_killed_devloop_left_and_nothing_else() {
    let config = config_with_processes(
        "true",
        "[process.server]\ncommand = '''sleep 1000 & echo up; exec sleep 1000'''\n",
    );
    let workspace = Workspace::new(&config);
    // Not devloop's: a group of its own in the same session.
    let unrelated = Unrelated::start();
    let mut first = Devloop::start(&workspace);
    let started = first.wait_event("process_started", &[process("server")]);
    first.wait_event(
        "process_output",
        &[process("server"), ("line", json!("up"))],
    );
    let leader = started["pid"].as_u64().unwrap() as u32;
    let mut orphans = descendants(leader);
    orphans.push(leader);
    assert_eq!(orphans.len(), 2, "leader and its child: {orphans:?}");
    // A kill during the startup build would leave the build to clean up too
    // (its notice first, and its child briefly holding the lock): not this test.
    first.seen_or_wait("build_finished", &[]);
    // The watchdog killed first, as a kill of the whole tree would: what is
    // left is for the next start.
    let watchdog = watchdog_of(first.pid()).expect("devloop runs a watchdog");
    unsafe { libc::kill(watchdog as i32, libc::SIGKILL) };
    assert!(wait_until(Duration::from_secs(5), || !alive(watchdog)));
    first.signal(libc::SIGKILL);
    first.wait_exit();
    assert!(
        orphans.iter().all(|&p| alive(p)),
        "kill -9 of devloop and its watchdog left them running"
    );

    let mut second = Devloop::start(&workspace);
    let notice = second.wait_event("notice", &[]);
    let message = notice["message"].as_str().unwrap();
    assert!(message.contains("`server`"), "{message}");
    let started = second.wait_event("process_started", &[process("server")]);
    let left: Vec<u32> = orphans.iter().copied().filter(|&p| alive(p)).collect();
    assert!(
        left.is_empty(),
        "leftovers alive after the next start: {left:?}"
    );
    assert!(!orphans.contains(&(started["pid"].as_u64().unwrap() as u32)));
    assert!(alive(unrelated.0.id()), "an unrelated group was stopped");
    assert!(second.stop().success());
    assert!(alive(unrelated.0.id()));
}

/// A `sleep` in a process group of its own, killed when the test ends.
struct Unrelated(std::process::Child);

impl Unrelated {
    fn start() -> Unrelated {
        use std::os::unix::process::CommandExt;
        let child = std::process::Command::new("sleep")
            .arg("1000")
            .process_group(0)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        Unrelated(child)
    }
}

impl Drop for Unrelated {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn as_pid_1_it_reaps_orphans_and_stops_on_sigterm() {
    if !is_root() {
        eprintln!("skipped: a new PID namespace (unshare --pid) needs root");
        return;
    }
    let probe = std::process::Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "true"])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("skipped: `unshare --pid --fork --mount-proc` is not available here");
        return;
    }
    // Each subshell exits at once; its sleep is orphaned to PID 1.
    let workspace = Workspace::new(&config_with_processes(
        "true",
        "[process.orphans]\ncommand = '''for i in 1 2 3 4 5; do (sleep 0.5 &); done; echo spawned; exec sleep 1000'''\n",
    ));
    let mut command = std::process::Command::new("unshare");
    command
        .args(["--pid", "--fork", "--mount-proc"])
        .arg(env!("CARGO_BIN_EXE_devloop"))
        .args(["--headless", "--json", "-c"])
        .arg(workspace.config());
    let mut devloop = Devloop::spawn(command, &workspace);
    devloop.wait_event(
        "process_output",
        &[process("orphans"), ("line", json!("spawned"))],
    );
    // devloop is unshare's only child; in its namespace it is PID 1.
    let init = descendants(devloop.pid())[0];
    let watchdog = watchdog_of(init);
    let children = |state: Option<char>| {
        descendants(init)
            .into_iter()
            .filter(|&p| Some(p) != watchdog)
            .filter(|&p| {
                parent_and_state(p)
                    .is_some_and(|(pp, s)| pp == init && state.is_none_or(|want| s == want))
            })
            .count()
    };
    assert!(
        wait_until(Duration::from_secs(5), || children(None) >= 6),
        "the orphans were not reparented to devloop"
    );
    let reaped = wait_until(Duration::from_secs(10), || children(None) == 1);
    assert!(
        reaped,
        "zombies left: {} of {} children",
        children(Some('Z')),
        children(None)
    );
    unsafe { libc::kill(init as i32, libc::SIGTERM) };
    assert!(devloop.wait_exit().success());
    assert_eq!(devloop.of("process_stopped", "orphans").len(), 1);
}

/// A real node server on `port` and a plain process: what the run leaves
/// behind when nothing stops it.
fn server_and_sleeper(port: u16) -> String {
    let server = format!(
        "node -e \"require('http').createServer((q, s) => s.end('ok')).listen({port}, '127.0.0.1')\""
    );
    let processes = format!(
        "[process.web]\ncommand = '''{server}'''\nport = {port}\nhealth = {{ tcp = {port}, interval = \"100ms\" }}\n\n[process.api]\ncommand = \"echo api-up; sleep 600\"\n"
    );
    config_with_processes("true", &processes)
}

/// devloop and every process it started (its watchdog included).
fn the_run(devloop: u32) -> Vec<u32> {
    let mut run = descendants(devloop);
    run.push(devloop);
    run
}

/// Within 2 s of `since`, no process of `run` is left and `port` is free.
fn nothing_left(run: &[u32], port: u16, since: Instant) {
    let limit = Duration::from_secs(2).saturating_sub(since.elapsed());
    let gone = wait_until(limit, || {
        run.iter().all(|&pid| !alive(pid)) && port_closed(port)
    });
    let left: Vec<u32> = run.iter().copied().filter(|&pid| alive(pid)).collect();
    assert!(
        gone,
        "2 s later: {left:?} of {run:?} alive, port {port} closed: {}",
        port_closed(port)
    );
}

/// The TUI in tmux with both processes ready; devloop's pid.
fn tui_with_a_server(workspace: &Workspace) -> Option<(Tmux, u32)> {
    let tmux = Tmux::start("tui", 120, 30, &devloop_script("", "", &workspace.config()))?;
    tmux.wait_for("tui", "web ✔ ready");
    tmux.wait_for("tui", "api ✔ ready");
    let shell = tmux.pane_pid("tui");
    let devloop = descendants(shell)
        .into_iter()
        .find(|&pid| parent_and_state(pid).is_some_and(|(parent, _)| parent == shell))
        .expect("devloop's pid");
    Some((tmux, devloop))
}

#[test]
fn closing_the_terminal_stops_every_process_and_frees_the_port() {
    let port = free_port();
    let workspace = Workspace::new(&server_and_sleeper(port));
    let Some((tmux, devloop)) = tui_with_a_server(&workspace) else {
        return;
    };
    // A viewer's --json is where devloop's exit can be read.
    let log = workspace.path().join("viewer.json");
    let mut viewer = std::process::Command::new(env!("CARGO_BIN_EXE_devloop"))
        .args(["attach", "--json", "-c"])
        .arg(workspace.config())
        .stdout(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(10), || {
        std::fs::read_to_string(&log).is_ok_and(|text| text.contains("\"process\":\"api\""))
    }));
    let run = the_run(devloop);
    assert!(watchdog_of(devloop).is_some(), "no watchdog: {run:?}");
    assert!(!port_closed(port));

    let closed = Instant::now();
    tmux.kill_server();
    nothing_left(&run, port, closed);
    assert!(viewer.wait().unwrap().success());
    let log = std::fs::read_to_string(&log).unwrap();
    let shutdown = log
        .lines()
        .find(|line| line.contains("\"event\":\"shutdown\""))
        .unwrap_or_else(|| panic!("no shutdown event:\n{log}"));
    assert!(shutdown.contains("SIGHUP"), "{shutdown}");
    assert!(log.contains("\"event\":\"process_stopped\""), "{log}");
    // Stopped by devloop itself: nothing was left for the watchdog.
    assert_eq!(workspace.read(".devloop/children"), "");
}

/// After `kill -9` the next start has nothing to stop: no notice of leftovers.
fn the_next_start_finds_nothing(workspace: &Workspace) {
    let mut next = Devloop::start(workspace);
    next.wait_event("process_ready", &[process("web")]);
    let leftovers: Vec<String> = next
        .all("notice")
        .into_iter()
        .map(|notice| notice["message"].to_string())
        .filter(|message| message.contains("left running"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(next.stop().success());
}

#[test]
fn kill_9_of_the_tui_leaves_no_process_and_a_free_port() {
    let port = free_port();
    let workspace = Workspace::new(&server_and_sleeper(port));
    let Some((_tmux, devloop)) = tui_with_a_server(&workspace) else {
        return;
    };
    let run = the_run(devloop);
    let killed = Instant::now();
    unsafe { libc::kill(devloop as i32, libc::SIGKILL) };
    nothing_left(&run, port, killed);
    the_next_start_finds_nothing(&workspace);
}

#[test]
fn kill_9_of_headless_devloop_leaves_no_process_and_a_free_port() {
    let port = free_port();
    let workspace = Workspace::new(&server_and_sleeper(port));
    let mut devloop = Devloop::start(&workspace);
    devloop.wait_event("process_ready", &[process("web")]);
    devloop.seen_or_wait("process_ready", &[process("api")]);
    let run = the_run(devloop.pid());
    let killed = Instant::now();
    devloop.signal(libc::SIGKILL);
    devloop.wait_exit();
    nothing_left(&run, port, killed);
    the_next_start_finds_nothing(&workspace);
}

#[test]
fn sighup_and_sigquit_stop_headless_devloop_as_sigterm_does() {
    for (signal, name) in [(libc::SIGHUP, "SIGHUP"), (libc::SIGQUIT, "SIGQUIT")] {
        let port = free_port();
        let workspace = Workspace::new(&server_and_sleeper(port));
        let mut devloop = Devloop::start(&workspace);
        devloop.wait_event("process_ready", &[process("web")]);
        devloop.seen_or_wait("process_ready", &[process("api")]);
        let run = run_processes(devloop.pid());
        devloop.signal(signal);
        assert!(
            devloop.wait_exit().success(),
            "{name}: exit 0 as for SIGTERM"
        );
        let shutdown = devloop.all("shutdown");
        assert_eq!(shutdown.len(), 1, "{}", devloop.dump());
        assert_eq!(shutdown[0]["reason"], name);
        // Stopped in reverse `after` order by devloop itself, each reported.
        assert_eq!(
            devloop.all("process_stopped").len(),
            2,
            "{}",
            devloop.dump()
        );
        assert!(run.iter().all(|&pid| !alive(pid)), "{name}: {run:?}");
        assert!(port_closed(port));
        assert_eq!(workspace.read(".devloop/children"), "");
    }
}
