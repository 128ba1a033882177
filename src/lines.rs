//! Splitting a child's output into lines with bounded memory: a line longer
//! than the cap is cut, and the rest of it up to the newline is dropped.

/// Longest line kept, in bytes; a minified bundle on one line must not grow memory.
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// Accumulates bytes and yields complete lines.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
    dropped: usize,
}

impl LineSplitter {
    /// Feeds a chunk; `emit` gets every line it completes (without the newline).
    pub fn push(&mut self, mut chunk: &[u8], mut emit: impl FnMut(String)) {
        while let Some(newline) = memchr(chunk) {
            self.append(&chunk[..newline]);
            emit(self.take());
            chunk = &chunk[newline + 1..];
        }
        self.append(chunk);
    }

    /// The last line when the stream ends without a newline.
    pub fn finish(&mut self) -> Option<String> {
        (!self.partial.is_empty() || self.dropped > 0).then(|| self.take())
    }

    fn append(&mut self, bytes: &[u8]) {
        let room = MAX_LINE_BYTES.saturating_sub(self.partial.len());
        let kept = bytes.len().min(room);
        self.partial.extend_from_slice(&bytes[..kept]);
        self.dropped += bytes.len() - kept;
    }

    fn take(&mut self) -> String {
        let mut bytes = std::mem::take(&mut self.partial);
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
        let mut line = String::from_utf8_lossy(&bytes).into_owned();
        if self.dropped > 0 {
            line.push_str(&format!(" …[{} more bytes cut]", self.dropped));
            self.dropped = 0;
        }
        line
    }
}

fn memchr(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
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
