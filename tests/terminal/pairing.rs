//! Pairing in real terminals: devloop in one tmux window, two `devloop
//! attach` windows (one read-only, one --control). Skipped (with a message)
//! where tmux is missing.

use crate::common::tmux::{Tmux, devloop_script};
use crate::common::{Workspace, alive, config_with_build};

#[test]
fn two_viewers_follow_the_host_and_only_control_acts() {
    let build = "mkdir -p tmp/out && cp -r libs/. tmp/out/ && echo built-$(cat libs/v)";
    let config = format!(
        "{}\n[promote]\ntarget = \"dist/libs\"\n\n[process.web]\ncommand = \"echo web-up; sleep 600\"\n",
        config_with_build(build)
    );
    let workspace = Workspace::new(&config);
    workspace.write("libs/v", "one");
    let run = |args: &str| devloop_script("", args, &workspace.config());
    let Some(tmux) = Tmux::start("host", 120, 30, &run("run")) else {
        return;
    };
    tmux.wait_for("host", "build #1 ✔ ok");
    tmux.window("view", &run("attach"));
    tmux.window("ctl", &run("attach --control"));
    for window in ["view", "ctl"] {
        tmux.wait_for(window, "build #1 ✔ ok");
        tmux.wait_for(window, "web-up");
    }
    tmux.wait_for("view", "2 watching · read-only");
    tmux.wait_for("host", "2 attached");

    // An edit: every window shows the build and the promotion.
    workspace.write("libs/v", "two");
    for window in ["host", "view", "ctl"] {
        tmux.wait_for(window, "built-two");
        tmux.wait_for(window, "as generation 2");
    }

    // b in the read-only viewer is refused there; in the control one it builds #3.
    tmux.keys("view", &["b"]);
    tmux.wait_for("view", "read-only: attach with --control");
    tmux.keys("ctl", &["b"]);
    for window in ["host", "view", "ctl"] {
        tmux.wait_for(window, "build #3 started (manual)");
    }
    assert!(!tmux.screen("host").contains("build #4"));

    // q leaves a viewer only; a hangup (its terminal closed) ends the other
    // cleanly, and leaves the host as it was.
    tmux.keys("view", &["q"]);
    tmux.wait_for("view", "EXIT=0");
    let control = crate::common::descendants(tmux.pane_pid("ctl"));
    let viewer = control
        .iter()
        .find(|&&pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("attach"))
        })
        .expect("the control viewer's pid");
    unsafe { libc::kill(*viewer as i32, libc::SIGHUP) };
    tmux.wait_for("ctl", "EXIT=0");
    assert!(
        !tmux.alternate_screen("ctl"),
        "the viewer left its terminal on the alternate screen"
    );
    tmux.wait_until("host", "no viewers", |s| !s.contains("attached"));
    let host = tmux.screen("host");
    assert!(host.contains("web ✔ ready"), "{host}");
    assert!(!host.contains("EXIT="), "{host}");
    workspace.write("libs/v", "three");
    tmux.wait_for("host", "as generation 4");
    tmux.keys("host", &["q"]);
    tmux.wait_for("host", "EXIT=0");
    assert!(control.iter().all(|pid| !alive(*pid)));
}
