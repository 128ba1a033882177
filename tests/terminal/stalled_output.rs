//! A stdout nobody reads never holds devloop: with its output a full pipe,
//! SIGTERM still stops every process and devloop exits within the stop
//! timeout plus a second.

use crate::common::{Workspace, alive, config_with_build, wait_until};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Bytes waiting in a pipe.
fn queued(fd: i32) -> i32 {
    let mut count: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int.
    unsafe { libc::ioctl(fd, libc::FIONREAD, &mut count) };
    count
}

/// Kills devloop if the test fails early, so it does not flood on.
struct Guard(std::process::Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sigterm_stops_everything_while_stdout_is_not_read() {
    let processes = "[process.flood]\ncommand = \"echo $$ > flood.pid; exec yes flood-line\"\nstop_timeout = \"2s\"\n";
    let workspace = Workspace::new(&format!("{}\n{processes}", config_with_build("true")));
    let mut child = Command::new(env!("CARGO_BIN_EXE_devloop"))
        .args(["--json", "-c"])
        .arg(workspace.config())
        .current_dir(workspace.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let child = Guard(child);
    // The pipe fills and stays full: nobody reads it. A write that does not
    // fit in a page's remaining room takes a new page, so "full" can be some
    // kilobytes short of 64 KiB: it is a large queue that stopped growing.
    let mut last = -1;
    assert!(
        wait_until(Duration::from_secs(30), || {
            let now = queued(stdout.as_raw_fd());
            let full = now >= 32_768 && now == last;
            last = now;
            full
        }),
        "the output pipe never filled"
    );
    let pid: i32 = {
        let path = workspace.path().join("flood.pid");
        assert!(wait_until(Duration::from_secs(10), || path.exists()));
        std::fs::read_to_string(path)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let mut child = child;
    unsafe { libc::kill(child.0.id() as i32, libc::SIGTERM) };
    // stop_timeout (2 s) plus one second.
    let exited = wait_until(Duration::from_secs(3), || {
        matches!(child.0.try_wait(), Ok(Some(_)))
    });
    assert!(exited, "devloop did not exit within stop_timeout + 1 s");
    assert!(!alive(pid as u32), "the flooding process was left running");
    drop(stdout);
}
