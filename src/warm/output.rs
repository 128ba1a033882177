//! The compiler's output, read so that "quiet" can be told exactly: each
//! line carries its stream's byte count at its end, the bytes read so far
//! are counted as they are read, and the kernel is asked (FIONREAD) what is
//! still waiting in the pipes. A cycle is quiet while nothing was printed
//! past its `done` line.

use crate::event::Stream;
use crate::lines::LineSplitter;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;

/// One line of output.
#[derive(Debug)]
pub struct Line {
    pub stream: Stream,
    pub text: String,
    /// Bytes of its stream up to the end of this line.
    pub end: u64,
}

/// The byte counts of stdout and stderr.
pub type Marks = [u64; 2];

/// What has been printed, shared with the staging thread.
#[derive(Debug, Default)]
pub struct Taps {
    read: [AtomicU64; 2],
    /// Duplicates of the pipes' read ends, only to ask what is unread.
    fds: Vec<OwnedFd>,
}

impl Taps {
    /// The bytes read from each stream so far.
    pub fn marks(&self) -> Marks {
        [0, 1].map(|i| self.read[i].load(Ordering::SeqCst))
    }

    /// Nothing read past `at`, and nothing waiting in the pipes.
    pub fn quiet_since(&self, at: Marks) -> bool {
        self.marks() == at
            && self
                .fds
                .iter()
                .all(|fd| rustix::io::ioctl_fionread(fd).is_ok_and(|n| n == 0))
    }
}

fn index(stream: Stream) -> usize {
    match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    }
}

/// Starts a reader per pipe; lines go to `lines` until both pipes end.
pub fn tap(
    pipes: Vec<(Stream, Box<dyn AsyncRead + Unpin + Send>, Option<OwnedFd>)>,
    lines: mpsc::Sender<Line>,
) -> Arc<Taps> {
    let mut taps = Taps::default();
    let mut readers = Vec::new();
    for (stream, pipe, fd) in pipes {
        taps.fds.extend(fd);
        readers.push((stream, pipe));
    }
    let taps = Arc::new(taps);
    for (stream, pipe) in readers {
        tokio::spawn(read(stream, pipe, taps.clone(), lines.clone()));
    }
    taps
}

async fn read(
    stream: Stream,
    mut pipe: Box<dyn AsyncRead + Unpin + Send>,
    taps: Arc<Taps>,
    lines: mpsc::Sender<Line>,
) {
    let counter = &taps.read[index(stream)];
    let mut splitter = LineSplitter::default();
    let mut buffer = vec![0u8; 8192];
    let mut out = Vec::new();
    loop {
        let before = counter.load(Ordering::SeqCst);
        let n = pipe.read(&mut buffer).await.unwrap_or(0);
        if n == 0 {
            out.extend(splitter.finish().map(|text| (text, before)));
        } else {
            counter.fetch_add(n as u64, Ordering::SeqCst);
            // Line by line, so that each knows where it ends.
            let mut start = 0;
            for (at, _) in buffer[..n].iter().enumerate().filter(|(_, b)| **b == b'\n') {
                let end = before + at as u64 + 1;
                splitter.push(&buffer[start..=at], |text| out.push((text, end)));
                start = at + 1;
            }
            splitter.push(&buffer[start..n], |text| {
                out.push((text, before + n as u64))
            });
        }
        for (text, end) in out.drain(..) {
            if lines.send(Line { stream, text, end }).await.is_err() {
                return;
            }
        }
        if n == 0 {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_know_where_they_end_and_unread_bytes_are_not_quiet() {
        let (mut writer, reader) = tokio::io::duplex(64);
        let (tx, mut rx) = mpsc::channel(16);
        let taps = tap(vec![(Stream::Stdout, Box::new(reader), None)], tx);
        use tokio::io::AsyncWriteExt;
        writer.write_all(b"one\ndone\r\nnext").await.unwrap();
        let one = rx.recv().await.unwrap();
        let done = rx.recv().await.unwrap();
        assert_eq!((one.text.as_str(), one.end), ("one", 4));
        assert_eq!((done.text.as_str(), done.end), ("done", 10));
        assert!(
            !taps.quiet_since([done.end, 0]),
            "`next` was printed after done"
        );
        assert!(taps.quiet_since([14, 0]));
        drop(writer);
        let last = rx.recv().await.unwrap();
        assert_eq!((last.text.as_str(), last.end), ("next", 14));
    }
}
