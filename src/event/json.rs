//! Events as JSON lines, the hot path of a flood seen by `--json` (and by
//! `attach --json`): output lines are written by hand straight into the caller's
//! buffer (the same bytes serde writes), and the stamp's text is made once
//! per millisecond rather than once per line. An output line's `line` is its
//! text: escape sequences and control characters are removed.

use super::{Event, Stamped, Stream};
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
                decimal(out, *build);
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
        // A child's colours and cursor moves are no part of its text.
        string(out, &crate::escapes::without_escapes(line, false));
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

/// `n` in decimal, without the formatting machinery (a tenth of the cost
/// of a flood line's JSON).
fn decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_format_writes_them() {
        for n in [0, 7, 10, 99, 1_000_000, u64::MAX] {
            let mut out = Vec::new();
            decimal(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
    }
}
