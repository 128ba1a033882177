//! Panes that are terminals (issue 22): in the TUI each process runs on a
//! pseudo-terminal sized to its pane. `i` hands it the keyboard (a prompt
//! gets its answer, Ctrl-C is its SIGINT, `q` is just a letter), Ctrl-Z
//! gives the keyboard back, and a zoom resizes the terminal (SIGWINCH).

use crate::common::Workspace;
use crate::common::tmux::{Tmux, devloop_script};

const TUI: &str = "tui";

const ASK: &str = r#"
const rl = require("readline").createInterface({ input: process.stdin, output: process.stdout });
process.on("SIGINT", () => { console.log("got SIGINT"); process.exit(0); });
rl.question("What is your name? ", (name) => {
  // A pasted name is long: its length, checked whole, is shown instead.
  console.log(name.length > 40 ? `Hello, ${name.length} times ${name[0]}!` : `Hello, ${name}!`);
  rl.on("SIGINT", () => { console.log("got SIGINT"); process.exit(0); });
});
"#;

const SIZE: &str = r#"trap 'echo "size: $(stty size)"' WINCH
echo "size: $(stty size)"
while :; do sleep 0.1; done
"#;

fn workspace() -> Workspace {
    let config = "[watch]\npaths = [\"libs\"]\n\n[build]\ncommand = \"true\"\n\n\
                  [process.ask]\ncommand = \"node ask.js\"\nrestart = \"never\"\n\n\
                  [process.size]\ncommand = \"sh size.sh\"\n";
    let workspace = Workspace::new(config);
    workspace.write("ask.js", ASK);
    workspace.write("size.sh", SIZE);
    workspace
}

#[test]
fn a_prompt_gets_the_answer_typed_into_its_pane_and_ctrl_z_gives_the_keys_back() {
    let workspace = workspace();
    let script = devloop_script("", "", &workspace.config());
    let Some(tmux) = Tmux::start(TUI, 120, 30, &script) else {
        return;
    };
    tmux.wait_for(TUI, "What is your name?");
    // The build's pane is selected first; Tab selects `ask`.
    tmux.keys(TUI, &["Tab", "i"]);
    tmux.wait_for(TUI, "keys go to ask");
    // `q` would quit devloop: here it is part of the answer.
    tmux.keys(TUI, &["q", "u", "i", "n", "n", "Enter"]);
    tmux.wait_for(TUI, "Hello, quinn!");
    tmux.keys(TUI, &["C-c"]);
    tmux.wait_for(TUI, "got SIGINT");
    tmux.keys(TUI, &["C-z"]);
    let screen = tmux.wait_for(TUI, "Tab select");
    assert!(!screen.contains("keys go to"), "{screen}");
    // devloop's keys act again: `q` quits.
    tmux.keys(TUI, &["q"]);
    tmux.wait_for(TUI, "EXIT=0");
}

#[test]
fn a_zoom_resizes_the_terminal_and_the_process_hears_of_it() {
    let workspace = workspace();
    let script = devloop_script("", "", &workspace.config());
    let Some(tmux) = Tmux::start(TUI, 120, 30, &script) else {
        return;
    };
    // In the grid, `size` is the third pane, across the bottom: 12 x 118
    // inside its border. Zoomed, it has the 29 rows above the status line.
    tmux.wait_for(TUI, "size: 12 118");
    tmux.keys(TUI, &["Tab", "Tab", "z"]);
    tmux.wait_for(TUI, "size: 27 118");
    tmux.keys(TUI, &["z"]);
    // Back in the grid: the last size it printed is the pane's again.
    tmux.wait_until(TUI, "size: 12 118 after 27 118", |screen| {
        let last = screen.rfind("size: ").map(|at| &screen[at..at + 12]);
        screen.contains("size: 27 118") && last == Some("size: 12 118")
    });
    tmux.keys(TUI, &["q"]);
    tmux.wait_for(TUI, "EXIT=0");
}

#[test]
fn viewers_see_the_screens_and_only_a_control_viewer_types_into_them() {
    let workspace = workspace();
    let run = |args: &str| devloop_script("", args, &workspace.config());
    let Some(tmux) = Tmux::start("host", 120, 30, &run("run")) else {
        return;
    };
    tmux.wait_for("host", "What is your name?");
    // They join after the prompt: the screens are drawn again for them.
    tmux.window("view", &run("attach"));
    tmux.window("ctl", &run("attach --control"));
    for window in ["view", "ctl"] {
        tmux.wait_for(window, "What is your name?");
        tmux.wait_for(window, "size: 12 118");
    }
    tmux.keys("view", &["Tab", "i"]);
    tmux.wait_for("view", "read-only: attach with --control");
    tmux.keys("ctl", &["Tab", "i"]);
    tmux.wait_for("ctl", "keys go to ask");
    // A paste larger than one command line to the host (4 KiB, as hex).
    let name = "v".repeat(5_000);
    tmux.run(&["set-buffer", "-b", "name", &name]);
    tmux.run(&["paste-buffer", "-p", "-b", "name", "-t", "ctl"]);
    tmux.keys("ctl", &["Enter"]);
    for window in ["host", "view", "ctl"] {
        tmux.wait_for(window, "Hello, 5000 times v!");
    }
    tmux.keys("ctl", &["C-z"]);
    tmux.wait_for("ctl", "Tab select");
    tmux.keys("host", &["q"]);
    tmux.wait_for("host", "EXIT=0");
}
