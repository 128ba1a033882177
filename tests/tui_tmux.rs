//! The TUI in a real terminal: tmux runs devloop, capture-pane reads the
//! screen, send-keys types. Skipped (with a message) where tmux is missing.

mod common;

use common::{Workspace, config_with_build};
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(workspace: &Workspace, width: u16, height: u16) -> Option<Tmux> {
        Tmux::start_with(workspace, width, height, "")
    }

    /// `env` is put before the command, like `NAME=value`.
    fn start_with(workspace: &Workspace, width: u16, height: u16, env: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("skipped: tmux is not installed");
            return None;
        }
        static SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let session = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let socket = format!("devloop-test-{}-{session}", std::process::id());
        let script = format!(
            "{env} {} -c {}; echo EXIT=$?; sleep 600",
            env!("CARGO_BIN_EXE_devloop"),
            workspace.config().display()
        );
        let status = Command::new("tmux")
            .args([
                "-L",
                &socket,
                "new-session",
                "-d",
                "-x",
                &width.to_string(),
                "-y",
                &height.to_string(),
                &script,
            ])
            .env_remove("TMUX")
            .status()
            .expect("run tmux");
        assert!(status.success(), "tmux new-session failed");
        Some(Tmux { socket })
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p"])
    }

    /// Polls the screen until it shows `text`; fails with the last screen.
    fn wait_for(&self, text: &str) -> String {
        self.wait_until(text, |screen| screen.contains(text))
    }

    /// Polls the screen until `ready` holds for it (a frame can be caught
    /// half drawn, so a test waits for the whole state it expects).
    fn wait_until(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the screen never showed {what}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn keys(&self, keys: &[&str]) {
        for key in keys {
            self.tmux(&["send-keys", key]);
        }
    }

    fn alternate_screen(&self) -> bool {
        self.tmux(&["display-message", "-p", "#{alternate_on}"])
            .trim()
            == "1"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.tmux(&["kill-server"]);
    }
}

#[test]
fn the_tui_shows_panes_zooms_restarts_and_quits_cleanly() {
    let build = "printf 'compiled-\\033[32mshared\\033[0m\\n'";
    let processes = "[process.web]\ncommand = \"echo web-up; sleep 600\"\nafter = [\"build\"]\n\n[process.api]\ncommand = \"echo api-up; sleep 600\"\n";
    let workspace = Workspace::new(&format!("{}\n{processes}", config_with_build(build)));
    let Some(tmux) = Tmux::start(&workspace, 120, 30) else {
        return;
    };
    let screen = tmux.wait_for("build #1 ✔ ok");
    assert!(screen.contains("compiled-shared"), "{screen}");
    assert!(
        screen.contains("watching libs"),
        "status line missing:\n{screen}"
    );
    assert!(
        tmux.alternate_screen(),
        "the TUI is not on the alternate screen"
    );

    workspace.write("libs/a.ts", "edit");
    tmux.wait_for("build #2 ✔ ok");

    let screen = tmux.wait_for("web ✔ ready");
    assert!(screen.contains("api ✔ ready"), "{screen}");
    assert!(
        screen.contains("web-up") && screen.contains("api-up"),
        "{screen}"
    );

    // Select web (Tab from the build pane), zoom it, restart it.
    tmux.keys(&["Tab", "z"]);
    let zoomed = tmux.wait_until("web zoomed alone", |screen| {
        screen.contains("┏ web ✔ ready · pid")
            && !screen.contains("api ✔")
            && !screen.contains("build #2")
    });
    assert!(zoomed.contains("restarts 0"), "{zoomed}");
    tmux.keys(&["r"]);
    tmux.wait_for("restarts 1");
    tmux.keys(&["z"]);
    tmux.wait_until("the grid again", |screen| {
        screen.contains("api ✔ ready") && screen.contains("build #2")
    });

    tmux.keys(&["?"]);
    tmux.wait_for("any key closes this help");
    tmux.keys(&["Escape"]);

    tmux.keys(&["q"]);
    let screen = tmux.wait_for("EXIT=");
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        !tmux.alternate_screen(),
        "the terminal was left on the alternate screen"
    );
}

#[test]
fn a_panic_restores_the_terminal_and_stops_every_process() {
    let processes = "[process.web]\ncommand = \"echo web-up; sleep 600\"\n";
    let workspace = Workspace::new(&format!("{}\n{processes}", config_with_build("true")));
    let Some(tmux) = Tmux::start_with(&workspace, 100, 30, "DEVLOOP_TEST_PANIC=1 RUST_BACKTRACE=0")
    else {
        return;
    };
    let screen = tmux.wait_for("web ✔ ready · pid ");
    let pid: u32 = screen
        .split("web ✔ ready · pid ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|pid| pid.parse().ok())
        .expect("the web pane names its pid");
    assert!(common::alive(pid));
    tmux.keys(&["P"]);
    let screen = tmux.wait_for("EXIT=");
    assert!(
        screen.contains("EXIT=1"),
        "a crash must not exit 0:\n{screen}"
    );
    assert!(
        screen.contains("panic requested with DEVLOOP_TEST_PANIC"),
        "{screen}"
    );
    assert!(
        !tmux.alternate_screen(),
        "the panic left the terminal on the alternate screen"
    );
    assert!(
        !common::alive(pid),
        "web (pid {pid}) outlived the crashed devloop"
    );
}

#[test]
fn sigterm_restores_the_terminal_and_exits_zero() {
    let workspace = Workspace::new(&config_with_build("true"));
    let Some(tmux) = Tmux::start(&workspace, 100, 30) else {
        return;
    };
    tmux.wait_for("build #1 ✔ ok");
    let shell = tmux.tmux(&["display-message", "-p", "#{pane_pid}"]);
    let shell = shell.trim();
    let children =
        std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap_or_default();
    let devloop: i32 = children
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("devloop's pid");
    assert!(tmux.alternate_screen());
    unsafe { libc::kill(devloop, libc::SIGTERM) };
    let screen = tmux.wait_for("EXIT=");
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        !tmux.alternate_screen(),
        "SIGTERM left the terminal on the alternate screen"
    );
}
