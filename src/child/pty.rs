//! Pseudo-terminals, for children the TUI shows as terminals (issue 22;
//! the choices are in docs/design/pty.md). The child gets the slave as its
//! stdin, stdout and stderr, and leads a session of its own whose
//! controlling terminal it is: its pid is still its group's id, so stopping
//! its group works as for a piped child, and Ctrl-C typed into the master
//! reaches its foreground group as SIGINT.

use rustix::fs::{Mode, OFlags};
use rustix::termios::Winsize;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::process::Stdio;
use tokio::io::unix::AsyncFd;
use tokio::process::Command;

/// A terminal's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub rows: u16,
    pub cols: u16,
}

impl Size {
    /// A terminal's usual size, until a pane's is known.
    pub const DEFAULT: Size = Size { rows: 24, cols: 80 };
}

impl From<Size> for Winsize {
    fn from(size: Size) -> Winsize {
        Winsize {
            ws_row: size.rows.max(1),
            ws_col: size.cols.max(1),
            ws_xpixel: 0,
            ws_ypixel: 0,
        }
    }
}

/// A new terminal of `size`: its master and its slave.
pub fn open(size: Size) -> io::Result<(OwnedFd, OwnedFd)> {
    let master = crate::platform::open_terminal_master()?;
    rustix::pty::grantpt(&master)?;
    rustix::pty::unlockpt(&master)?;
    let name = rustix::pty::ptsname(&master, Vec::new())?;
    let slave = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    rustix::termios::tcsetwinsize(&master, size.into())?;
    Ok((master, slave))
}

/// Makes `command` (from `group::shell_alone`: no group of its own yet) run
/// on the terminal whose slave is `slave`. The caller drops its `slave`
/// once the child is spawned, or the master never reads the end.
pub fn attach(command: &mut Command, slave: &OwnedFd) -> io::Result<()> {
    command
        .stdin(Stdio::from(slave.try_clone()?))
        .stdout(Stdio::from(slave.try_clone()?))
        .stderr(Stdio::from(slave.try_clone()?));
    // SAFETY: system calls only, async-signal-safe, no allocation. A session
    // of its own (which is a group of its own, with the same id) and the
    // terminal as its controlling one; stdin is the slave by now. Ctrl-C and
    // Ctrl-\ must reach it even when devloop was started with them ignored
    // (in the background of a script), which exec would pass on.
    unsafe {
        command.pre_exec(|| {
            rustix::process::setsid()?;
            rustix::process::ioctl_tiocsctty(std::io::stdin())?;
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGQUIT, libc::SIG_DFL);
            Ok(())
        });
    }
    Ok(())
}

/// Tells the terminal its new size; the kernel sends SIGWINCH to the
/// child's foreground group.
pub fn resize(master: &impl AsFd, size: Size) -> io::Result<()> {
    Ok(rustix::termios::tcsetwinsize(master, size.into())?)
}

/// The master side, read and written on the runtime without blocking.
pub struct Master {
    fd: AsyncFd<OwnedFd>,
    /// Rows and columns, as last set (rows in the high half).
    size: std::sync::atomic::AtomicU32,
}

impl Master {
    pub fn new(master: OwnedFd, size: Size) -> io::Result<Master> {
        let flags = rustix::fs::fcntl_getfl(&master)?;
        rustix::fs::fcntl_setfl(&master, flags | OFlags::NONBLOCK)?;
        // SAFETY: an OwnedFd is valid and open until dropped, and always
        // returns the same descriptor; the AsyncFd owns it.
        let fd = unsafe { AsyncFd::register(master) }.map_err(|e| e.into_parts().1)?;
        Ok(Master {
            fd,
            size: pack(size).into(),
        })
    }

    /// Writes all of `bytes`, as typed into the terminal.
    pub async fn write_all(&self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let mut ready = self.fd.writable().await?;
            match ready.try_io(|fd| Ok(rustix::io::write(fd, bytes)?)) {
                Ok(Ok(written)) => bytes = &bytes[written..],
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }

    pub fn resize(&self, size: Size) -> io::Result<()> {
        resize(self.fd.get_ref(), size)?;
        self.size
            .store(pack(size), std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// The size the terminal was last given.
    pub fn size(&self) -> Size {
        let packed = self.size.load(std::sync::atomic::Ordering::Relaxed);
        Size {
            rows: (packed >> 16) as u16,
            cols: packed as u16,
        }
    }
}

/// A terminal's output as a stream, for the line reader pipes use too.
/// Each read takes as much as is there (up to the buffer): a terminal hands
/// its output over a few KiB at a time, and every read costs its consumers
/// an event. The end (no process holds the slave) reads as 0: Linux says
/// EIO there, macOS may say end of file.
pub struct Output(pub std::sync::Arc<Master>);

impl tokio::io::AsyncRead for Output {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        use std::task::Poll;
        let ended = |e: &io::Error| e.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error());
        loop {
            let mut ready = match self.0.fd.poll_read_ready(cx) {
                Poll::Ready(ready) => ready?,
                Poll::Pending => return Poll::Pending,
            };
            let unfilled = buf.initialize_unfilled();
            match ready.try_io(|fd| Ok(rustix::io::read(fd, &mut *unfilled)?)) {
                Ok(Ok(mut filled)) => {
                    // More that came meanwhile, without waiting for it.
                    while filled > 0 && filled < unfilled.len() {
                        match rustix::io::read(self.0.fd.get_ref(), &mut unfilled[filled..]) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => filled += n,
                        }
                    }
                    buf.advance(filled);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) if ended(&e) => return Poll::Ready(Ok(())),
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

fn pack(size: Size) -> u32 {
    (u32::from(size.rows) << 16) | u32::from(size.cols)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

    /// Reads until the output holds `text`; all of it so far.
    async fn read_until(output: &mut Output, seen: &mut String, text: &str) {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 4096];
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            while !seen.contains(text) {
                let n = output.read(&mut buf).await.unwrap();
                assert!(n > 0, "ended before {text:?}: {seen:?}");
                seen.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
        .await;
        assert!(waited.is_ok(), "no {text:?} in {seen:?}");
    }

    fn spawn(script: &str, size: Size) -> (tokio::process::Child, Arc<Master>, Output) {
        let (master, slave) = open(size).unwrap();
        let mut command = crate::child::group::shell_alone(script, Path::new("/"), Path::new("/"));
        attach(&mut command, &slave).unwrap();
        let child = crate::child::group::spawn(&mut command).unwrap();
        drop(slave);
        let master = Arc::new(Master::new(master, size).unwrap());
        (child, master.clone(), Output(master))
    }

    #[tokio::test]
    async fn a_child_on_a_terminal_sees_its_size_its_resizes_and_what_is_typed() {
        let script = "[ -t 0 ] && [ -t 1 ] && echo tty; stty size; echo ready; read answer; echo got:$answer; trap 'stty size; exit 0' WINCH; echo waiting; while :; do sleep 0.05; done";
        let (mut child, master, mut output) = spawn(script, Size { rows: 24, cols: 80 });
        let pid = child.id().unwrap();
        let mut seen = String::new();
        read_until(&mut output, &mut seen, "ready").await;
        assert!(seen.contains("24 80"), "{seen:?}");
        // Its own session and group, both with its pid.
        let sid = rustix::process::getsid(rustix::process::Pid::from_raw(pid as i32)).unwrap();
        assert_eq!(sid.as_raw_nonzero().get() as u32, pid);

        assert!(seen.starts_with("tty"), "{seen:?}");
        master.write_all(b"hello\r").await.unwrap();
        read_until(&mut output, &mut seen, "got:hello").await;
        read_until(&mut output, &mut seen, "waiting").await;
        master
            .resize(Size {
                rows: 30,
                cols: 100,
            })
            .unwrap();
        read_until(&mut output, &mut seen, "30 100").await;
        assert!(child.wait().await.unwrap().success());
        // The end: every holder of the slave is gone.
        let mut buf = [0u8; 256];
        let end = tokio::time::timeout(Duration::from_secs(5), async {
            use tokio::io::AsyncReadExt;
            while output.read(&mut buf).await.unwrap() > 0 {}
        })
        .await;
        assert!(end.is_ok(), "the master never read the end");
    }

    #[tokio::test]
    async fn ctrl_c_typed_is_sigint_for_the_child() {
        let script = "trap 'echo got INT; exit 7' INT; echo ready; while :; do sleep 0.05; done";
        let (mut child, master, mut output) = spawn(script, Size { rows: 24, cols: 80 });
        let mut seen = String::new();
        read_until(&mut output, &mut seen, "ready").await;
        master.write_all(&[0x03]).await.unwrap();
        read_until(&mut output, &mut seen, "got INT").await;
        assert_eq!(child.wait().await.unwrap().code(), Some(7));
    }
}
