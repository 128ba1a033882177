//! Events as JSON lines, the hot path of a flood seen by `--json` and by
//! viewers: output lines are written by hand straight into the caller's
//! buffer (the same bytes serde writes), and the stamp's text is made once
//! per millisecond rather than once per line.

use super::{Event, Stamped, Stream};
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// Writes events as JSON lines, each ended by a newline.
#[derive(Default)]
pub struct JsonLines {
    /// The last stamp written, in milliseconds, and its text.
    last: Option<(u128, String)>,
}

impl JsonLines {
    pub fn write(&mut self, out: &mut Vec<u8>, stamped: &Stamped) {
        out.extend_from_slice(b"{\"ts\":\"");
        out.extend_from_slice(self.stamp(stamped.at).as_bytes());
        out.extend_from_slice(b"\",");
        let (stream, line) = match &stamped.event {
            Event::BuildOutput {
                build,
                stream,
                line,
            } => {
                out.extend_from_slice(b"\"event\":\"build_output\",\"build\":");
                // Writing to a Vec cannot fail.
                let _ = write!(out, "{build}");
                (stream, line)
            }
            Event::ProcessOutput {
                process,
                stream,
                line,
            } => {
                out.extend_from_slice(b"\"event\":\"process_output\",\"process\":");
                string(out, process);
                (stream, line)
            }
            other => {
                let body = serde_json::to_vec(other).unwrap_or_else(|e| {
                    let message = serde_json::to_string(&format!("cannot encode event: {e}"));
                    let message = message.unwrap_or_default();
                    format!("{{\"event\":\"error\",\"message\":{message}}}").into_bytes()
                });
                out.extend_from_slice(body.get(1..).unwrap_or_default());
                out.push(b'\n');
                return;
            }
        };
        out.extend_from_slice(match stream {
            Stream::Stdout => b",\"stream\":\"stdout\",\"line\":",
            Stream::Stderr => b",\"stream\":\"stderr\",\"line\":",
        });
        string(out, line);
        out.extend_from_slice(b"}\n");
    }

    fn stamp(&mut self, at: SystemTime) -> &str {
        let ms = at
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        if self.last.as_ref().is_none_or(|(last, _)| *last != ms) {
            self.last = Some((ms, crate::clock::rfc3339_utc(at)));
        }
        self.last.as_ref().map_or("", |(_, text)| text)
    }
}

/// A JSON string as serde_json writes it: `"` and `\` escaped, the control
/// characters as `\n`, `\t`... or `\u00XX`, everything else as it is.
fn string(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    let bytes = text.as_bytes();
    // Most lines need no escape: found in one pass the compiler vectorizes.
    let plain = bytes.iter().fold(true, |plain, &b| {
        plain & (b >= 0x20) & (b != b'"') & (b != b'\\')
    });
    if plain {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// `Stamped::from_json`'s quick way for output lines, the bulk of a flood
/// (viewers must keep up with one): the fields in the order `write` puts
/// them, starting after the stamp. Anything else is None, for serde.
pub(super) fn read_output(body: &str) -> Option<Event> {
    if let Some(rest) = body.strip_prefix("\"event\":\"process_output\",\"process\":") {
        let (process, rest) = read_string(rest)?;
        let (stream, line) = read_stream_and_line(rest)?;
        return Some(Event::ProcessOutput {
            process,
            stream,
            line,
        });
    }
    let rest = body.strip_prefix("\"event\":\"build_output\",\"build\":")?;
    let digits = rest.find(|c: char| !c.is_ascii_digit())?;
    let build = rest[..digits].parse().ok()?;
    let (stream, line) = read_stream_and_line(&rest[digits..])?;
    Some(Event::BuildOutput {
        build,
        stream,
        line,
    })
}

fn read_stream_and_line(rest: &str) -> Option<(Stream, String)> {
    let (stream, rest) = if let Some(rest) = rest.strip_prefix(",\"stream\":\"stdout\",\"line\":") {
        (Stream::Stdout, rest)
    } else {
        let rest = rest.strip_prefix(",\"stream\":\"stderr\",\"line\":")?;
        (Stream::Stderr, rest)
    };
    let (line, rest) = read_string(rest)?;
    (rest == "}").then_some((stream, line))
}

/// A JSON string at the start of `text`, and what follows it. Escapes
/// (rare but for colours) are left to serde.
fn read_string(text: &str) -> Option<(String, &str)> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut end = 1;
    let mut escaped = false;
    while end < bytes.len() {
        match bytes[end] {
            b'\\' => {
                escaped = true;
                end += 2;
            }
            b'"' => break,
            _ => end += 1,
        }
    }
    let quoted = text.get(..=end)?;
    let value = if escaped {
        serde_json::from_str(quoted).ok()?
    } else {
        quoted[1..end].to_owned()
    };
    Some((value, &text[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_lines_read_back_the_quick_way() {
        let mut json = JsonLines::default();
        for line in [
            "plain",
            "",
            "\u{1b}[32mgreen\u{1b}[0m \"q\" \\ é",
            "ends with \\",
        ] {
            for event in [
                Event::ProcessOutput {
                    process: "web".into(),
                    stream: Stream::Stderr,
                    line: line.into(),
                },
                Event::BuildOutput {
                    build: 12,
                    stream: Stream::Stdout,
                    line: line.into(),
                },
            ] {
                let mut out = Vec::new();
                json.write(&mut out, &Stamped::now(event.clone()));
                let text = std::str::from_utf8(&out).unwrap();
                let body = &text[33..text.len() - 1];
                assert_eq!(read_output(body), Some(event), "{text}");
            }
        }
        assert_eq!(read_output("\"event\":\"build_output\",\"build\":x"), None);
        assert_eq!(
            read_output("\"event\":\"process_output\",\"process\":\"a"),
            None
        );
        assert_eq!(
            read_output("\"event\":\"process_output\",\"process\":\"a\\"),
            None
        );
        let extra = "\"event\":\"process_output\",\"process\":\"a\",\"stream\":\"stdout\",\"line\":\"b\",\"x\":1}";
        assert_eq!(read_output(extra), None);
    }
}
