//! Children's terminal control in their output lines, removed for headless
//! output: colours (unless kept), cursor moves, clear-screens, titles and
//! links, and the control characters that go with them. (A line rewritten
//! with carriage returns reaches here as what it showed last: the line
//! splitter starts a line over at a lone `\r`.)

use std::borrow::Cow;

const ESC: char = '\x1b';
const BEL: char = '\x07';

/// `line` as text only; with `keep_colour`, its SGR sequences (`ESC [ ... m`)
/// stay and everything else goes.
pub fn without_escapes(line: &str, keep_colour: bool) -> Cow<'_, str> {
    if !line.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut chars = line.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            ESC => {
                let end = sequence_end(line, at);
                let sequence = &line[at..end];
                if keep_colour && sequence.starts_with("\x1b[") && sequence.ends_with('m') {
                    out.push_str(sequence);
                }
                while chars.peek().is_some_and(|(next, _)| *next < end) {
                    chars.next();
                }
            }
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Where the escape sequence starting at `start` (an ESC) ends; an
/// unterminated one runs to the end of the line.
fn sequence_end(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let after = start + 1;
    match bytes.get(after) {
        // CSI: parameters and intermediates, then one final byte.
        Some(b'[') => bytes[after + 1..]
            .iter()
            .position(|b| (0x40..=0x7e).contains(b))
            .map_or(bytes.len(), |i| after + 1 + i + 1),
        // OSC, DCS, SOS, PM, APC: strings ended by BEL or ESC \.
        Some(b']' | b'P' | b'X' | b'^' | b'_') => {
            let body = &text[after + 1..];
            let bel = body.find(BEL).map(|i| (i, 1));
            let st = body.find("\x1b\\").map(|i| (i, 2));
            match [bel, st].into_iter().flatten().min() {
                Some((i, len)) => after + 1 + i + len,
                None => bytes.len(),
            }
        }
        // nF: intermediates (0x20-0x2F), then a final byte (ESC ( B); a
        // character that is no final byte (not ASCII) is left to the text.
        Some(b' '..=b'/') => match bytes[after..]
            .iter()
            .position(|b| !(0x20..=0x2f).contains(b))
        {
            Some(i) if bytes[after + i].is_ascii() => after + i + 1,
            Some(i) => after + i,
            None => bytes.len(),
        },
        // Two bytes: ESC c (reset), ESC 7, ESC M, ...; a lone ESC at the end.
        Some(b) if b.is_ascii() => after + 1,
        _ => after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn what_children_print_becomes_text() {
        let cases = [
            ("plain", "plain"),
            ("\x1b[96msrc/a.ts\x1b[0m:1:2", "src/a.ts:1:2"),
            (
                "\x1bc\x1b[2J\x1b[3J\x1b[HStarting compilation",
                "Starting compilation",
            ),
            ("\x1b]0;title\x07after", "after"),
            ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),
            ("\x1b(Bboxed\x1b7\x1b8", "boxed"),
            ("done\r", "done"),
            ("a\tb\x07\x08c", "a\tbc"),
            ("cut \x1b[3", "cut "),
            ("ends with \x1b", "ends with "),
            ("ünï\x1b[1mcödé", "ünïcödé"),
            ("\x1b(é", "é"),
        ];
        for (line, text) in cases {
            assert_eq!(without_escapes(line, false), text, "{line:?}");
        }
    }

    #[test]
    fn colour_can_stay_alone() {
        let line = "\x1b[2K\x1b[32mok\x1b[0m \x1b[1A";
        assert_eq!(without_escapes(line, true), "\x1b[32mok\x1b[0m ");
    }

    #[test]
    fn a_plain_line_is_not_copied() {
        assert!(matches!(
            without_escapes("a plain line", false),
            Cow::Borrowed(_)
        ));
    }

    proptest! {
        #[test]
        fn nothing_of_a_terminal_is_left(line in "(\\PC|\x1b|\r|\x07|\\[|m|;|[0-9])*") {
            let text = without_escapes(&line, false);
            prop_assert!(!text.chars().any(|c| c.is_control() && c != '\t'), "{text:?}");
        }
    }
}
