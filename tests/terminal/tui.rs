//! The TUI in a real terminal: tmux runs devloop, capture-pane reads the
//! screen, send-keys types. Skipped (with a message) where tmux is missing.

use crate::common::tmux::{Tmux, devloop_script};
use crate::common::{Workspace, config_with_build};

/// The one window each test's server runs.
const TUI: &str = "tui";

/// devloop's TUI on `workspace` in a `width` x `height` terminal, with `env`
/// (`NAME=value ...`) before it.
fn start(workspace: &Workspace, width: u16, height: u16, env: &str) -> Option<Tmux> {
    Tmux::start(
        TUI,
        width,
        height,
        &devloop_script(env, "", &workspace.config()),
    )
}

#[test]
fn the_tui_shows_panes_zooms_restarts_and_quits_cleanly() {
    let build = "printf 'compiled-\\033[32mshared\\033[0m\\n'";
    let processes = "[process.web]\ncommand = \"echo web-up; sleep 600\"\nafter = [\"build\"]\n\n[process.api]\ncommand = \"echo api-up; sleep 600\"\n";
    let workspace = Workspace::new(&format!("{}\n{processes}", config_with_build(build)));
    let Some(tmux) = start(&workspace, 120, 30, "") else {
        return;
    };
    let screen = tmux.wait_for(TUI, "build #1 ✔ ok");
    assert!(screen.contains("compiled-shared"), "{screen}");
    assert!(
        screen.contains("watching libs"),
        "status line missing:\n{screen}"
    );
    assert!(
        tmux.alternate_screen(TUI),
        "the TUI is not on the alternate screen"
    );

    workspace.write("libs/a.ts", "edit");
    tmux.wait_for(TUI, "build #2 ✔ ok");

    let screen = tmux.wait_for(TUI, "web ✔ ready");
    assert!(screen.contains("api ✔ ready"), "{screen}");
    assert!(
        screen.contains("web-up") && screen.contains("api-up"),
        "{screen}"
    );

    // Select web (Tab from the build pane), zoom it, restart it.
    tmux.keys(TUI, &["Tab", "z"]);
    let zoomed = tmux.wait_until(TUI, "web zoomed alone", |screen| {
        screen.contains("┏ web ✔ ready · pid")
            && !screen.contains("api ✔")
            && !screen.contains("build #2")
    });
    assert!(zoomed.contains("restarts 0"), "{zoomed}");
    tmux.keys(TUI, &["r"]);
    tmux.wait_for(TUI, "restarts 1");
    tmux.keys(TUI, &["z"]);
    tmux.wait_until(TUI, "the grid again", |screen| {
        screen.contains("api ✔ ready") && screen.contains("build #2")
    });

    tmux.keys(TUI, &["?"]);
    tmux.wait_for(TUI, "any key closes this help");
    tmux.keys(TUI, &["Escape"]);

    tmux.keys(TUI, &["q"]);
    let screen = tmux.wait_for(TUI, "EXIT=");
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        !tmux.alternate_screen(TUI),
        "the terminal was left on the alternate screen"
    );
}

#[test]
fn a_panic_restores_the_terminal_and_stops_every_process() {
    let processes = "[process.web]\ncommand = \"echo web-up; sleep 600\"\n";
    let workspace = Workspace::new(&format!("{}\n{processes}", config_with_build("true")));
    let Some(tmux) = start(&workspace, 100, 30, "DEVLOOP_TEST_PANIC=1 RUST_BACKTRACE=0") else {
        return;
    };
    let screen = tmux.wait_for(TUI, "web ✔ ready · pid ");
    let pid: u32 = screen
        .split("web ✔ ready · pid ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|pid| pid.parse().ok())
        .expect("the web pane names its pid");
    assert!(crate::common::alive(pid));
    tmux.keys(TUI, &["P"]);
    let screen = tmux.wait_for(TUI, "EXIT=");
    assert!(
        screen.contains("EXIT=1"),
        "a crash must not exit 0:\n{screen}"
    );
    assert!(
        screen.contains("panic requested with DEVLOOP_TEST_PANIC"),
        "{screen}"
    );
    assert!(
        !tmux.alternate_screen(TUI),
        "the panic left the terminal on the alternate screen"
    );
    assert!(
        !crate::common::alive(pid),
        "web (pid {pid}) outlived the crashed devloop"
    );
}

#[test]
fn sigterm_restores_the_terminal_and_exits_zero() {
    let workspace = Workspace::new(&config_with_build("true"));
    let Some(tmux) = start(&workspace, 100, 30, "") else {
        return;
    };
    tmux.wait_for(TUI, "build #1 ✔ ok");
    let shell = tmux.pane_pid(TUI);
    let children =
        std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap_or_default();
    let devloop: i32 = children
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("devloop's pid");
    assert!(tmux.alternate_screen(TUI));
    unsafe { libc::kill(devloop, libc::SIGTERM) };
    let screen = tmux.wait_for(TUI, "EXIT=");
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        !tmux.alternate_screen(TUI),
        "SIGTERM left the terminal on the alternate screen"
    );
}
