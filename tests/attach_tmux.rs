//! Pairing in real terminals: devloop in one tmux window, two `devloop
//! attach` windows (one read-only, one --control). Skipped (with a message)
//! where tmux is missing.

mod common;

use common::{Workspace, alive, config_with_build};
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(window: &str, script: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("skipped: tmux is not installed");
            return None;
        }
        let tmux = Tmux {
            socket: format!("devloop-attach-{}", std::process::id()),
        };
        tmux.run(&[
            "new-session",
            "-d",
            "-x",
            "120",
            "-y",
            "30",
            "-n",
            window,
            script,
        ]);
        Some(tmux)
    }

    fn window(&self, name: &str, script: &str) {
        self.run(&["new-window", "-d", "-n", name, script]);
    }

    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn screen(&self, window: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", window])
    }

    fn wait_for(&self, window: &str, text: &str) -> String {
        self.wait_until(window, text, |screen| screen.contains(text))
    }

    fn wait_until(&self, window: &str, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen(window);
            if ready(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "{window} never showed {what}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn keys(&self, window: &str, keys: &str) {
        self.run(&["send-keys", "-t", window, keys]);
    }

    fn pane_pid(&self, window: &str) -> u32 {
        self.run(&["display-message", "-p", "-t", window, "#{pane_pid}"])
            .trim()
            .parse()
            .expect("pane pid")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

#[test]
fn two_viewers_follow_the_host_and_only_control_acts() {
    let build = "mkdir -p tmp/out && cp -r libs/. tmp/out/ && echo built-$(cat libs/v)";
    let config = format!(
        "{}\n[promote]\ntarget = \"dist/libs\"\n\n[process.web]\ncommand = \"echo web-up; sleep 600\"\n",
        config_with_build(build)
    );
    let workspace = Workspace::new(&config);
    workspace.write("libs/v", "one");
    let devloop = env!("CARGO_BIN_EXE_devloop");
    let config = workspace.config();
    let run = |args: &str| {
        format!(
            "{devloop} {args} -c {}; echo EXIT=$?; sleep 600",
            config.display()
        )
    };
    let Some(tmux) = Tmux::start("host", &run("run")) else {
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
    tmux.keys("view", "b");
    tmux.wait_for("view", "read-only: attach with --control");
    tmux.keys("ctl", "b");
    for window in ["host", "view", "ctl"] {
        tmux.wait_for(window, "build #3 started (manual)");
    }
    assert!(!tmux.screen("host").contains("build #4"));

    // q leaves a viewer only; SIGKILL of the other leaves the host as it was.
    tmux.keys("view", "q");
    tmux.wait_for("view", "EXIT=0");
    let control = common::descendants(tmux.pane_pid("ctl"));
    for pid in &control {
        unsafe { libc::kill(*pid as i32, libc::SIGKILL) };
    }
    tmux.wait_until("host", "no viewers", |s| !s.contains("attached"));
    let host = tmux.screen("host");
    assert!(host.contains("web ✔ ready"), "{host}");
    assert!(!host.contains("EXIT="), "{host}");
    workspace.write("libs/v", "three");
    tmux.wait_for("host", "as generation 4");
    tmux.keys("host", "q");
    tmux.wait_for("host", "EXIT=0");
    assert!(control.iter().all(|pid| !alive(*pid)));
}
