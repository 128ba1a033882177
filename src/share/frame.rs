//! The attach socket's frames, host to viewer: a kind byte, the payload's
//! length (u32, little-endian), the payload. Output lines, the bulk of a
//! flood, go as their bytes behind a small binary header, so the host
//! copies them instead of escaping them into JSON, and sends less than half
//! the bytes; everything else is one JSON line, the same as `--json` prints.
//! A kind a viewer does not know is skipped whole, for newer hosts.

use super::protocol::Message;
use crate::event::{Event, JsonLines, Stamped, Stream};
use std::io::{BufReader, Read};
use std::time::{Duration, UNIX_EPOCH};

/// One JSON line: an event as `--json` prints it, or a line of the
/// protocol's own (`{"attach":...}`).
const JSON: u8 = b'J';
/// Stamp (u64 ns since the epoch), build (u64), stream (u8), the line.
const BUILD_OUTPUT: u8 = b'B';
/// Stamp (u64 ns), index in the hello's processes (u16), stream (u8), the line.
const PROCESS_OUTPUT: u8 = b'P';
/// Stamp (u64 ns), index in the hello's processes (u16), the terminal's rows
/// and columns (u16 each), the bytes its process wrote.
const TERMINAL: u8 = b'T';
const HEADER: usize = 5;
/// Largest payload a viewer reads: output lines are cut at 16 KiB, and
/// anything far larger is not a devloop host.
const MAX_PAYLOAD: usize = 1 << 20;
/// A viewer reads the socket in pieces this large.
const READ_BUFFER: usize = 64 * 1024;

/// Writes events as frames; `processes` are the hello's, in its order.
pub struct Encoder {
    processes: Vec<String>,
    json: JsonLines,
}

impl Encoder {
    pub fn new(processes: &[String]) -> Encoder {
        Encoder {
            processes: processes.to_vec(),
            json: JsonLines::default(),
        }
    }

    pub fn event(&mut self, out: &mut Vec<u8>, stamped: &Stamped) {
        let nanos = || {
            let since = stamped.at.duration_since(UNIX_EPOCH).unwrap_or_default();
            since.as_nanos() as u64
        };
        match &stamped.event {
            Event::BuildOutput {
                build,
                stream,
                line,
            } => output(
                out,
                BUILD_OUTPUT,
                nanos(),
                &build.to_le_bytes(),
                *stream,
                line,
            ),
            Event::ProcessOutput {
                process,
                stream,
                line,
            } => match self.index_of(process) {
                Some(index) => output(
                    out,
                    PROCESS_OUTPUT,
                    nanos(),
                    &index.to_le_bytes(),
                    *stream,
                    line,
                ),
                None => self.json_frame(out, stamped),
            },
            Event::ProcessTerminal {
                process,
                rows,
                cols,
                bytes,
            } => {
                // A process a reload added has no index: its lines still go.
                if let Some(index) = self.index_of(process) {
                    let start = begin(out, TERMINAL);
                    out.extend_from_slice(&nanos().to_le_bytes());
                    for number in [index, *rows, *cols] {
                        out.extend_from_slice(&number.to_le_bytes());
                    }
                    out.extend_from_slice(bytes);
                    end(out, start);
                }
            }
            _ => self.json_frame(out, stamped),
        }
    }

    fn json_frame(&mut self, out: &mut Vec<u8>, stamped: &Stamped) {
        let start = begin(out, JSON);
        self.json.write(out, stamped);
        out.pop(); // its newline: the frame says where it ends
        end(out, start);
    }

    fn index_of(&self, process: &str) -> Option<u16> {
        let index = self.processes.iter().position(|name| name == process)?;
        u16::try_from(index).ok()
    }
}

/// An output frame; `source` is the build number or the process index.
fn output(out: &mut Vec<u8>, kind: u8, nanos: u64, source: &[u8], stream: Stream, line: &str) {
    let start = begin(out, kind);
    out.extend_from_slice(&nanos.to_le_bytes());
    out.extend_from_slice(source);
    out.push(match stream {
        Stream::Stdout => 0,
        Stream::Stderr => 1,
    });
    out.extend_from_slice(line.as_bytes());
    end(out, start);
}

/// A protocol line of its own (`{"attach":...}`) as a frame.
pub fn json_line(out: &mut Vec<u8>, line: &str) {
    let start = begin(out, JSON);
    out.extend_from_slice(line.as_bytes());
    end(out, start);
}

/// Writes the header with room for the length; returns where it starts.
fn begin(out: &mut Vec<u8>, kind: u8) -> usize {
    let start = out.len();
    out.push(kind);
    out.extend_from_slice(&[0; 4]);
    start
}

/// Fills in the length of the frame begun at `start`.
fn end(out: &mut [u8], start: usize) {
    let length = (out.len() - start - HEADER) as u32;
    out[start + 1..start + HEADER].copy_from_slice(&length.to_le_bytes());
}

/// Reads frames from a host.
pub struct Reader<R> {
    input: BufReader<R>,
    kind: u8,
    payload: Vec<u8>,
    processes: Vec<String>,
}

/// Why a host's stream could not be read on.
#[derive(Debug, PartialEq)]
pub enum ReadError {
    /// It ended, or the connection failed.
    Ended,
    /// JSON lines, not frames: a devloop from before frames.
    OlderHost,
    /// A frame no devloop sends.
    Garbled(String),
}

impl<R: Read> Reader<R> {
    pub fn new(input: R) -> Reader<R> {
        Reader {
            input: BufReader::with_capacity(READ_BUFFER, input),
            kind: 0,
            payload: Vec::new(),
            processes: Vec::new(),
        }
    }

    /// The names output frames refer to by index: the hello's.
    pub fn set_processes(&mut self, processes: &[String]) {
        self.processes = processes.to_vec();
    }

    /// Whether more is already read, so a caller can gather a burst.
    pub fn has_buffered(&self) -> bool {
        !self.input.buffer().is_empty()
    }

    /// The next message, or why there is none.
    pub fn read(&mut self) -> Result<Message, ReadError> {
        let mut header = [0u8; HEADER];
        self.input
            .read_exact(&mut header)
            .map_err(|_| ReadError::Ended)?;
        if header[0] == b'{' {
            return Err(ReadError::OlderHost);
        }
        let length = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
        if length > MAX_PAYLOAD {
            return Err(ReadError::Garbled(format!(
                "a frame of {length} bytes, more than devloop sends"
            )));
        }
        self.kind = header[0];
        self.payload.clear();
        (&mut self.input)
            .take(length as u64)
            .read_to_end(&mut self.payload)
            .map_err(|_| ReadError::Ended)?;
        if self.payload.len() < length {
            return Err(ReadError::Ended);
        }
        Ok(self.message())
    }

    /// The last frame's text if it was a JSON frame: what `--json` prints
    /// for it, to be copied rather than written again.
    pub fn last_json(&self) -> Option<&str> {
        if self.kind != JSON {
            return None;
        }
        std::str::from_utf8(&self.payload).ok()
    }

    fn message(&self) -> Message {
        match self.kind {
            JSON => self.last_json().map_or(Message::Other, Message::parse),
            BUILD_OUTPUT | PROCESS_OUTPUT => self.output().map_or(Message::Other, Message::Event),
            TERMINAL => self.terminal().map_or(Message::Other, Message::Event),
            _ => Message::Other,
        }
    }

    fn output(&self) -> Option<Stamped> {
        let (stamp, rest) = self.payload.split_first_chunk::<8>()?;
        let at = UNIX_EPOCH + Duration::from_nanos(u64::from_le_bytes(*stamp));
        let event = if self.kind == BUILD_OUTPUT {
            let (build, rest) = rest.split_first_chunk::<8>()?;
            let (stream, line) = stream_and_line(rest)?;
            Event::BuildOutput {
                build: u64::from_le_bytes(*build),
                stream,
                line,
            }
        } else {
            let (index, rest) = rest.split_first_chunk::<2>()?;
            let process = self.processes.get(u16::from_le_bytes(*index) as usize)?;
            let (stream, line) = stream_and_line(rest)?;
            Event::ProcessOutput {
                process: process.clone(),
                stream,
                line,
            }
        };
        Some(Stamped { at, event })
    }
}

impl<R> Reader<R> {
    fn terminal(&self) -> Option<Stamped> {
        let (stamp, rest) = self.payload.split_first_chunk::<8>()?;
        let at = UNIX_EPOCH + Duration::from_nanos(u64::from_le_bytes(*stamp));
        let (index, rest) = rest.split_first_chunk::<2>()?;
        let (rows, rest) = rest.split_first_chunk::<2>()?;
        let (cols, bytes) = rest.split_first_chunk::<2>()?;
        let process = self.processes.get(u16::from_le_bytes(*index) as usize)?;
        let event = Event::ProcessTerminal {
            process: process.clone(),
            rows: u16::from_le_bytes(*rows),
            cols: u16::from_le_bytes(*cols),
            bytes: bytes.to_vec(),
        };
        Some(Stamped { at, event })
    }
}

/// The end of an output frame: the stream's byte, then the line.
fn stream_and_line(rest: &[u8]) -> Option<(Stream, String)> {
    let (&stream, line) = rest.split_first()?;
    let stream = match stream {
        0 => Stream::Stdout,
        1 => Stream::Stderr,
        _ => return None,
    };
    Some((stream, String::from_utf8_lossy(line).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::protocol::{LIVE, viewers_line};

    fn processes() -> Vec<String> {
        vec!["web".into(), "api".into()]
    }

    fn read_all(bytes: &[u8]) -> (Vec<Message>, ReadError) {
        let mut reader = Reader::new(bytes);
        reader.set_processes(&processes());
        let mut messages = Vec::new();
        loop {
            match reader.read() {
                Ok(message) => messages.push(message),
                Err(error) => return (messages, error),
            }
        }
    }

    #[test]
    fn events_read_back_whole() {
        let events = [
            Event::BuildOutput {
                build: 1 << 40,
                stream: Stream::Stdout,
                line: "\u{1b}[32mgreen\u{1b}[0m \"q\" é".into(),
            },
            Event::ProcessOutput {
                process: "api".into(),
                stream: Stream::Stderr,
                line: String::new(),
            },
            // Not in the hello: sent as JSON, still read back.
            Event::ProcessOutput {
                process: "worker".into(),
                stream: Stream::Stdout,
                line: "x".into(),
            },
            Event::Notice {
                message: "hello".into(),
            },
        ];
        let mut encoder = Encoder::new(&processes());
        let mut bytes = Vec::new();
        let stamped: Vec<Stamped> = events.into_iter().map(Stamped::now).collect();
        for event in &stamped {
            encoder.event(&mut bytes, event);
        }
        json_line(&mut bytes, LIVE);
        let (messages, end) = read_all(&bytes);
        assert_eq!(end, ReadError::Ended);
        assert_eq!(messages.len(), stamped.len() + 1);
        for (message, sent) in messages.iter().zip(&stamped) {
            let Message::Event(back) = message else {
                panic!("{message:?}")
            };
            assert_eq!(back.event, sent.event);
            // JSON carries milliseconds, frames the stamp whole.
            assert_eq!(back.to_json(), sent.to_json());
        }
        assert!(matches!(messages.last(), Some(Message::Live)));
    }

    #[test]
    fn the_last_json_frame_is_given_as_written() {
        let mut bytes = Vec::new();
        json_line(&mut bytes, &viewers_line(2));
        let mut reader = Reader::new(&bytes[..]);
        assert!(matches!(reader.read(), Ok(Message::Viewers(2))));
        assert_eq!(reader.last_json(), Some(viewers_line(2).as_str()));
    }

    #[test]
    fn what_no_devloop_sends_is_skipped_or_refused() {
        let mut bytes = Vec::new();
        // An unknown kind, skipped whole; then a stream byte of 9 and a
        // process index past the hello's, read as nothing.
        bytes.extend_from_slice(&[b'Z', 3, 0, 0, 0, 1, 2, 3]);
        let mut output = |kind: u8, source: &[u8], stream: u8| {
            let start = begin(&mut bytes, kind);
            bytes.extend_from_slice(&[0; 8]);
            bytes.extend_from_slice(source);
            bytes.push(stream);
            bytes.extend_from_slice(b"line");
            end(&mut bytes, start);
        };
        output(BUILD_OUTPUT, &[0; 8], 9);
        output(PROCESS_OUTPUT, &[7, 0], 0);
        output(PROCESS_OUTPUT, &[1, 0], 1);
        let (messages, _) = read_all(&bytes);
        assert_eq!(messages.len(), 4);
        assert!(messages[..3].iter().all(|m| matches!(m, Message::Other)));
        assert!(
            matches!(&messages[3], Message::Event(e) if matches!(&e.event,
            Event::ProcessOutput { process, .. } if process == "api"))
        );

        let (_, end) = read_all(br#"{"attach":"hello"}"#);
        assert_eq!(end, ReadError::OlderHost);
        let (_, end) = read_all(&[b'J', 0xff, 0xff, 0xff, 0x7f]);
        assert!(matches!(end, ReadError::Garbled(_)));
        // Cut short inside a frame.
        let (messages, end) = read_all(&[b'J', 10, 0, 0, 0, b'{']);
        assert!(messages.is_empty());
        assert_eq!(end, ReadError::Ended);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_are_read_without_panic(bytes: Vec<u8>) {
            let _ = read_all(&bytes);
        }
    }
}
