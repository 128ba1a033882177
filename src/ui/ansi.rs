//! Children's output lines to styled text: SGR colours and styles are kept
//! (16, 256 and RGB); every other escape sequence is dropped, an unterminated
//! one included, without ever buffering more than the line itself.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use std::borrow::Cow;

/// Longest CSI parameter string honoured; a longer one is dropped whole.
const MAX_PARAMS: usize = 64;

/// Parses one line (no newline) into styled spans.
pub fn styled_line(text: &str) -> Line<'_> {
    if nothing_to_parse(text) {
        return Line::from(Span::raw(text));
    }
    parse(text)
}

/// The line's text as `styled_line` shows it, without its styles.
pub fn plain_text(text: &str) -> Cow<'_, str> {
    if nothing_to_parse(text) {
        return Cow::Borrowed(text);
    }
    let line = parse(text);
    Cow::Owned(line.spans.iter().map(|s| s.content.as_ref()).collect())
}

/// Most lines have nothing to parse: no escape, tab or other control
/// character (0xC2 starts the C1 controls, and a few letters: those take
/// the long way). Found in one pass the compiler vectorizes.
fn nothing_to_parse(text: &str) -> bool {
    let plain = text.bytes().fold(true, |plain, b| {
        plain & (b >= 0x20) & (b != 0x7f) & (b != 0xc2)
    });
    plain && !text.is_empty()
}

/// `styled_line` the long way, character by character.
fn parse(text: &str) -> Line<'static> {
    let mut spans = Vec::new();
    let mut style = Style::default();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => match chars.next() {
                Some('[') => {
                    let mut params = String::new();
                    let mut final_byte = None;
                    for c in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&c) {
                            final_byte = Some(c);
                            break;
                        }
                        if params.len() < MAX_PARAMS {
                            params.push(c);
                        }
                    }
                    if final_byte == Some('m') && params.len() < MAX_PARAMS {
                        let next = apply_sgr(style, &params);
                        if next != style {
                            flush(&mut spans, &mut current, style);
                            style = next;
                        }
                    }
                }
                // OSC (titles, hyperlinks): up to BEL or ESC \.
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\t' => {
                let width = current.chars().count()
                    + spans
                        .iter()
                        .map(|s: &Span| s.content.chars().count())
                        .sum::<usize>();
                current.extend(std::iter::repeat_n(' ', 8 - width % 8));
            }
            c if c.is_control() => {}
            c => current.push(c),
        }
    }
    flush(&mut spans, &mut current, style);
    Line::from(spans)
}

fn flush(spans: &mut Vec<Span<'static>>, current: &mut String, style: Style) {
    if !current.is_empty() {
        spans.push(Span::styled(std::mem::take(current), style));
    }
}

fn apply_sgr(mut style: Style, params: &str) -> Style {
    let mut codes = params
        .split([';', ':'])
        .map(|p| p.parse::<u16>().unwrap_or(0));
    // `ESC[m` is a reset, like `ESC[0m`.
    if params.is_empty() {
        return Style::default();
    }
    while let Some(code) = codes.next() {
        style = match code {
            0 => Style::default(),
            1 => style.add_modifier(Modifier::BOLD),
            2 => style.add_modifier(Modifier::DIM),
            3 => style.add_modifier(Modifier::ITALIC),
            4 => style.add_modifier(Modifier::UNDERLINED),
            5 | 6 => style.add_modifier(Modifier::SLOW_BLINK),
            7 => style.add_modifier(Modifier::REVERSED),
            8 => style.add_modifier(Modifier::HIDDEN),
            9 => style.add_modifier(Modifier::CROSSED_OUT),
            21 | 22 => style.remove_modifier(Modifier::BOLD | Modifier::DIM),
            23 => style.remove_modifier(Modifier::ITALIC),
            24 => style.remove_modifier(Modifier::UNDERLINED),
            25 => style.remove_modifier(Modifier::SLOW_BLINK),
            27 => style.remove_modifier(Modifier::REVERSED),
            28 => style.remove_modifier(Modifier::HIDDEN),
            29 => style.remove_modifier(Modifier::CROSSED_OUT),
            30..=37 => style.fg(basic(code - 30)),
            38 => style.fg(extended(&mut codes).unwrap_or(Color::Reset)),
            39 => style.fg(Color::Reset),
            40..=47 => style.bg(basic(code - 40)),
            48 => style.bg(extended(&mut codes).unwrap_or(Color::Reset)),
            49 => style.bg(Color::Reset),
            90..=97 => style.fg(basic(code - 90 + 8)),
            100..=107 => style.bg(basic(code - 100 + 8)),
            _ => style,
        };
    }
    style
}

/// `5;N` (256 colours) or `2;R;G;B` after a 38 or 48.
fn extended(codes: &mut impl Iterator<Item = u16>) -> Option<Color> {
    match codes.next()? {
        5 => Some(Color::Indexed(codes.next()?.min(255) as u8)),
        2 => {
            let mut channel = || codes.next().map(|v| v.min(255) as u8);
            Some(Color::Rgb(channel()?, channel()?, channel()?))
        }
        _ => None,
    }
}

fn basic(index: u16) -> Color {
    const COLORS: [Color; 16] = [
        Color::Black,
        Color::Red,
        Color::Green,
        Color::Yellow,
        Color::Blue,
        Color::Magenta,
        Color::Cyan,
        Color::Gray,
        Color::DarkGray,
        Color::LightRed,
        Color::LightGreen,
        Color::LightYellow,
        Color::LightBlue,
        Color::LightMagenta,
        Color::LightCyan,
        Color::White,
    ];
    COLORS[usize::from(index).min(15)]
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn the_quick_way_reads_as_the_long_way(text in "[ -~\u{80}-\u{9f}éあ\t\x1b]{0,40}") {
            proptest::prop_assert_eq!(styled_line(&text), parse(&text));
        }
    }

    #[test]
    fn c1_controls_take_the_long_way_and_are_dropped() {
        for text in ["\u{80}", "a\u{85}b", "\u{9f}é"] {
            assert_eq!(styled_line(text), parse(text), "{text:?}");
        }
        assert_eq!(styled_line("a\u{85}b").to_string(), "ab");
    }

    fn spans(text: &str) -> Vec<(String, Style)> {
        styled_line(text)
            .spans
            .into_iter()
            .map(|s| (s.content.into_owned(), s.style))
            .collect()
    }

    #[test]
    fn keeps_16_256_and_rgb_colours() {
        let got = spans("\x1b[31mred\x1b[0m \x1b[38;5;208morange\x1b[48;2;1;2;3mbg\x1b[m plain");
        assert_eq!(got[0], ("red".into(), Style::default().fg(Color::Red)));
        assert_eq!(got[1], (" ".into(), Style::default()));
        assert_eq!(
            got[2],
            ("orange".into(), Style::default().fg(Color::Indexed(208)))
        );
        assert_eq!(
            got[3].1,
            Style::default()
                .fg(Color::Indexed(208))
                .bg(Color::Rgb(1, 2, 3))
        );
        assert_eq!(got[4], (" plain".into(), Style::default()));
    }

    #[test]
    fn keeps_styles_and_bright_colours() {
        let got = spans("\x1b[1;4;92mok\x1b[22mthin");
        assert_eq!(
            got[0].1,
            Style::default()
                .fg(Color::LightGreen)
                .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        );
        assert!(!got[1].1.add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn drops_other_sequences_and_controls() {
        let got = spans("a\x1b[2Kb\x1b]0;title\x07c\x1b]8;;http://x\x1b\\d\x07e\x1b(Bf");
        let text: String = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(text, "abcdeBf");
    }

    #[test]
    fn an_unterminated_sequence_is_dropped() {
        let long = format!("ok\x1b[{}", "1;".repeat(10_000));
        let got = spans(&long);
        assert_eq!(got, vec![("ok".to_string(), Style::default())]);
        assert_eq!(spans("x\x1b"), vec![("x".to_string(), Style::default())]);
    }

    #[test]
    fn tabs_expand_to_stops_of_eight() {
        assert_eq!(spans("a\tb")[0].0, "a       b");
    }
}
