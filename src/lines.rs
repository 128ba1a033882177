//! Splitting a child's output into lines with bounded memory: a line longer
//! than the cap is cut, and the rest of it up to the newline is dropped. A
//! carriage return not followed by a newline starts the line over, as it does
//! on a terminal, so progress bars end as their last state, not a flood.

use crate::event::{Event, Stamped};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Reads a child's pipe to its end, sending one event per line (made by
/// `event`); stops early if the events' receiver is gone.
pub fn forward_lines(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    events: mpsc::Sender<Stamped>,
    event: impl Fn(String) -> Event + Send + 'static,
) -> JoinHandle<()> {
    forward_chunks_and_lines(pipe, events, |_| None, event)
}

/// Like `forward_lines`, with an event made of each chunk read too, sent
/// before the lines cut from it (a terminal's bytes, for its screen).
pub fn forward_chunks_and_lines(
    mut pipe: impl AsyncRead + Unpin + Send + 'static,
    events: mpsc::Sender<Stamped>,
    chunk: impl Fn(&[u8]) -> Option<Event> + Send + 'static,
    event: impl Fn(String) -> Event + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut splitter = LineSplitter::default();
        let mut buffer = vec![0u8; 16 * 1024];
        let mut sent = Vec::new();
        loop {
            let read = pipe.read(&mut buffer).await.unwrap_or(0);
            if read == 0 {
                sent.extend(splitter.finish().map(&event));
            } else {
                sent.extend(chunk(&buffer[..read]));
                splitter.push(&buffer[..read], |line| sent.push(event(line)));
            }
            for made in sent.drain(..) {
                if events.send(Stamped::now(made)).await.is_err() {
                    return;
                }
            }
            if read == 0 {
                return;
            }
        }
    })
}

/// Longest line kept, in bytes; a minified bundle on one line must not grow memory.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// Accumulates bytes and yields complete lines.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
    dropped: usize,
    /// The last byte seen was `\r`: a newline next ends the line, anything
    /// else overwrites it.
    after_cr: bool,
}

impl LineSplitter {
    /// Feeds a chunk; `emit` gets every line it completes (without the newline).
    pub fn push(&mut self, mut chunk: &[u8], mut emit: impl FnMut(String)) {
        while !chunk.is_empty() {
            if self.after_cr {
                self.after_cr = false;
                if chunk[0] != b'\n' {
                    // Back to column 0: what follows overwrites the line.
                    self.partial.clear();
                    self.dropped = 0;
                }
            }
            let Some(at) = chunk.iter().position(|&b| b == b'\n' || b == b'\r') else {
                self.append(chunk);
                return;
            };
            self.append(&chunk[..at]);
            if chunk[at] == b'\n' {
                emit(self.take());
            } else {
                self.after_cr = true;
            }
            chunk = &chunk[at + 1..];
        }
    }

    /// The last line when the stream ends without a newline.
    pub fn finish(&mut self) -> Option<String> {
        self.after_cr = false;
        (!self.partial.is_empty() || self.dropped > 0).then(|| self.take())
    }

    fn append(&mut self, bytes: &[u8]) {
        let room = MAX_LINE_BYTES.saturating_sub(self.partial.len());
        let kept = bytes.len().min(room);
        self.partial.extend_from_slice(&bytes[..kept]);
        self.dropped += bytes.len() - kept;
    }

    fn take(&mut self) -> String {
        let bytes = std::mem::take(&mut self.partial);
        let mut line = String::from_utf8_lossy(&bytes).into_owned();
        if self.dropped > 0 {
            line.push_str(&format!(" …[{} more bytes cut]", self.dropped));
            self.dropped = 0;
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut splitter = LineSplitter::default();
        let mut lines = Vec::new();
        for chunk in chunks {
            splitter.push(chunk, |line| lines.push(line));
        }
        lines.extend(splitter.finish());
        lines
    }

    #[test]
    fn joins_lines_across_chunks() {
        assert_eq!(split(&[b"a\nbc", b"d\r\ne"]), ["a", "bcd", "e"]);
        assert_eq!(split(&[b"\n\n"]), ["", ""]);
        assert!(split(&[b""]).is_empty());
    }

    #[test]
    fn carriage_returns_overwrite_the_line() {
        assert_eq!(split(&[b"10%\r20%\r100%\ndone\n"]), ["100%", "done"]);
        assert_eq!(
            split(&[b"50%\r", b"\nnext\n"]),
            ["50%", "next"],
            "CRLF split across chunks"
        );
        assert_eq!(split(&[b"50%\r", b"60%"]), ["60%"]);
        let mut splitter = LineSplitter::default();
        for _ in 0..100_000 {
            splitter.push(b"progress 99%\r", |_| {
                panic!("a progress update is not a line")
            });
        }
        assert!(splitter.partial.len() < 64, "progress updates accumulated");
    }

    #[test]
    fn caps_a_long_line() {
        let long = vec![b'x'; MAX_LINE_BYTES * 3];
        let lines = split(&[&long, &long, b"\nnext\n"]);
        assert_eq!(lines.len(), 2);
        assert!(lines[0].len() < MAX_LINE_BYTES + 64);
        assert!(lines[0].ends_with(&format!("[{} more bytes cut]", MAX_LINE_BYTES * 5)));
        assert_eq!(lines[1], "next");
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(split(&[b"caf\xff\n"]), ["caf\u{fffd}"]);
    }
}
