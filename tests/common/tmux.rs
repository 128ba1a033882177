//! A real terminal for the tests: a tmux server of the test's own, its
//! windows running devloop, capture-pane to read a screen, send-keys to type.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a screen may take to show what a test waits for.
const SCREEN_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// A server running `script` in window `window`, `width` x `height`;
    /// None, with a message, where tmux is not installed.
    pub fn start(window: &str, width: u16, height: u16, script: &str) -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            eprintln!("skipped: tmux is not installed");
            return None;
        }
        static SERVERS: AtomicUsize = AtomicUsize::new(0);
        let server = SERVERS.fetch_add(1, Ordering::Relaxed);
        let tmux = Tmux {
            socket: format!("devloop-test-{}-{server}", std::process::id()),
        };
        let (width, height) = (width.to_string(), height.to_string());
        let out = tmux.output(&[
            "new-session",
            "-d",
            "-x",
            &width,
            "-y",
            &height,
            "-n",
            window,
            script,
        ]);
        assert!(out.status.success(), "tmux new-session failed");
        Some(tmux)
    }

    fn output(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("run tmux")
    }

    /// A tmux command on this server; its standard output.
    pub fn run(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.output(args).stdout).into_owned()
    }

    /// Another window, running `script`.
    pub fn window(&self, name: &str, script: &str) {
        self.run(&["new-window", "-d", "-n", name, script]);
    }

    pub fn screen(&self, window: &str) -> String {
        self.run(&["capture-pane", "-p", "-t", window])
    }

    /// Polls the screen until it shows `text`; fails with the last screen.
    pub fn wait_for(&self, window: &str, text: &str) -> String {
        self.wait_until(window, text, |screen| screen.contains(text))
    }

    /// Polls the screen until `ready` holds for it (a frame can be caught
    /// half drawn, so a test waits for the whole state it expects).
    pub fn wait_until(&self, window: &str, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + SCREEN_TIMEOUT;
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

    /// Each of `keys` sent as tmux names it (`Tab`, `Escape`, `q`).
    pub fn keys(&self, window: &str, keys: &[&str]) {
        for key in keys {
            self.run(&["send-keys", "-t", window, key]);
        }
    }

    pub fn alternate_screen(&self, window: &str) -> bool {
        self.run(&["display-message", "-p", "-t", window, "#{alternate_on}"])
            .trim()
            == "1"
    }

    /// The pid of the shell running the window's script.
    pub fn pane_pid(&self, window: &str) -> u32 {
        self.run(&["display-message", "-p", "-t", window, "#{pane_pid}"])
            .trim()
            .parse()
            .expect("pane pid")
    }

    /// Ends the whole server, as closing the terminal does: its windows'
    /// processes get SIGHUP.
    pub fn kill_server(&self) {
        self.run(&["kill-server"]);
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.kill_server();
    }
}

/// A window's script: `env` (`NAME=value ...`), then devloop with `args` on
/// `config`; its exit status stays on the screen as `EXIT=N`.
pub fn devloop_script(env: &str, args: &str, config: &Path) -> String {
    format!(
        "{env} {} {args} -c {}; echo EXIT=$?; sleep 600",
        env!("CARGO_BIN_EXE_devloop"),
        config.display()
    )
}
