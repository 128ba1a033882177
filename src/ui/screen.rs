//! A process's terminal screen (vt100, no scrollback of its own: the pane's
//! history is its line `Scrollback`) drawn into a pane: each cell's text,
//! colours and attributes, and the cursor when the keyboard is the process's.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

/// vt100 0.16 panics when a line wraps on a screen of one row
/// (`Grid::col_wrap`): screens have two at least.
pub const MIN_ROWS: u16 = 2;

/// Bytes held before they are parsed: about what a flood brings between
/// two frames.
const MAX_PENDING: usize = 64 * 1024;

/// The screen of one process, kept at its pane's size. What the process
/// writes is parsed when the screen is looked at (a frame, a key), so that
/// of a flood only the lines still on screen by then are parsed.
pub struct Terminal {
    parser: vt100::Parser,
    pending: Vec<u8>,
}

impl Terminal {
    pub fn new(rows: u16, cols: u16) -> Terminal {
        Terminal {
            parser: vt100::Parser::new(rows.max(MIN_ROWS), cols.max(1), 0),
            pending: Vec::new(),
        }
    }

    /// Bytes the process wrote.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.pending.extend_from_slice(bytes);
        if self.pending.len() > MAX_PENDING {
            self.settle();
        }
    }

    /// Parses what is pending. Plain lines (text, colours) that the rest
    /// would scroll off the screen anyway are skipped, their colours kept.
    pub fn settle(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let size = self.parser.screen().size();
        let skip = match self.parser.screen().alternate_screen() {
            true => None,
            false => skippable(&self.pending, usize::from(size.0)),
        };
        // Out for the parser's call, then back empty with its capacity.
        let mut pending = std::mem::take(&mut self.pending);
        self.guarded(size, |parser| match skip {
            Some(Skip { end, colours }) => {
                // A new line, as the skipped ones ended: the rest starts at its start.
                parser.process(b"\r\n");
                for (from, to) in colours {
                    parser.process(&pending[from..to]);
                }
                parser.process(&pending[end..]);
            }
            None => parser.process(&pending),
        });
        pending.clear();
        self.pending = pending;
    }

    /// The screen as of the bytes parsed so far (see `settle`).
    pub fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }

    /// The pane's inner area changed size; the process is told separately.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        let (rows, cols) = (rows.max(MIN_ROWS), cols.max(1));
        if self.parser.screen().size() != (rows, cols) {
            self.settle();
            self.guarded((rows, cols), |parser| {
                parser.screen_mut().set_size(rows, cols)
            });
        }
    }

    /// Clears the screen as `c` clears the pane (nothing reaches the process).
    pub fn clear(&mut self) {
        self.settle();
        let size = self.parser.screen().size();
        self.guarded(size, |parser| parser.process(b"\x1b[H\x1b[2J"));
    }

    /// Runs `f` on the parser, which leaves it at `size`; if vt100 panics,
    /// the screen starts afresh at that size (what was on it is lost; the
    /// pane's lines still have it).
    fn guarded(&mut self, (rows, cols): (u16, u16), f: impl FnOnce(&mut vt100::Parser)) {
        let parser = &mut self.parser;
        if super::terminal::contained(|| f(parser)).is_none() {
            self.parser = vt100::Parser::new(rows, cols, 0);
        }
    }

    /// Draws the screen into `area` of `buf`; with `cursor`, the cursor too.
    pub fn draw(&self, area: Rect, buf: &mut Buffer, cursor: bool) {
        let screen = self.parser.screen();
        let (rows, cols) = screen.size();
        for row in 0..rows.min(area.height) {
            for col in 0..cols.min(area.width) {
                let Some(cell) = screen.cell(row, col) else {
                    continue;
                };
                if cell.is_wide_continuation() {
                    continue;
                }
                let target = &mut buf[(area.x + col, area.y + row)];
                let text = cell.contents();
                target.set_symbol(if text.is_empty() { " " } else { text });
                target.set_style(style(cell));
            }
        }
        let (row, col) = screen.cursor_position();
        if cursor && !screen.hide_cursor() && row < area.height && col < area.width {
            let target = &mut buf[(area.x + col, area.y + row)];
            target.set_style(Style::default().add_modifier(Modifier::REVERSED));
        }
    }
}

/// A prefix of pending bytes that need not be parsed.
struct Skip {
    /// Where the bytes that are parsed begin (a line's start).
    end: usize,
    /// The colour sequences in the prefix since its last reset, in order.
    colours: Vec<(usize, usize)>,
}

/// The prefix of `bytes` that the rest scrolls off a screen of `rows`, if it
/// holds only text, line ends, tabs and colour sequences (SGR): then the
/// screen after parsing the rest (from a new line, its colours replayed)
/// is the screen after parsing all of it.
fn skippable(bytes: &[u8], rows: usize) -> Option<Skip> {
    // The rest keeps `rows` line ends, enough to fill the screen.
    let end = bytes
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, b)| **b == b'\n')
        .nth(rows)
        .map(|(at, _)| at + 1)?;
    let mut colours = Vec::new();
    let mut at = 0;
    while at < end {
        match bytes[at] {
            0x1b => {
                let params = bytes.get(at + 2..end)?;
                let length = params
                    .iter()
                    .position(|b| !matches!(b, b'0'..=b'9' | b';' | b':'))?;
                if bytes.get(at + 1) != Some(&b'[') || params[length] != b'm' {
                    return None;
                }
                let sequence = (at, at + 2 + length + 1);
                match &params[..length] {
                    // A reset: what came before it no longer counts.
                    b"" | b"0" => colours.clear(),
                    _ => colours.push(sequence),
                }
                at = sequence.1;
            }
            b'\n' | b'\r' | b'\t' => at += 1,
            byte if byte < 0x20 || byte == 0x7f => return None,
            _ => at += 1,
        }
    }
    Some(Skip { end, colours })
}

fn style(cell: &vt100::Cell) -> Style {
    let mut style = Style::default()
        .fg(color(cell.fgcolor()))
        .bg(color(cell.bgcolor()));
    for (on, modifier) in [
        (cell.bold(), Modifier::BOLD),
        (cell.dim(), Modifier::DIM),
        (cell.italic(), Modifier::ITALIC),
        (cell.underline(), Modifier::UNDERLINED),
        (cell.inverse(), Modifier::REVERSED),
    ] {
        if on {
            style = style.add_modifier(modifier);
        }
    }
    style
}

fn color(color: vt100::Color) -> Color {
    match color {
        vt100::Color::Default => Color::Reset,
        vt100::Color::Idx(index) => Color::Indexed(index),
        vt100::Color::Rgb(r, g, b) => Color::Rgb(r, g, b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Escape sequences in any order (vt100 0.16 panics on some): the
    /// screen goes on, the panic does not reach the caller.
    #[test]
    fn no_output_ends_a_screen() {
        let mut state: u64 = 0x1234_5678_9abc_def0;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let pieces: [&[u8]; 24] = [
            b"\x1b[",
            b"\x1b]",
            b"\x1b",
            b"\x07",
            b";",
            b"m",
            b"H",
            b"J",
            b"K",
            b"r",
            b"?1049h",
            b"?1049l",
            b"?25l",
            b"\r",
            b"\n",
            b"\t",
            b"0",
            b"9",
            b"99999",
            b"L",
            b"M",
            b"P",
            b"@",
            "é漢".as_bytes(),
        ];
        for _ in 0..1_500 {
            let (rows, cols) = (2 + (next() % 40) as u16, 2 + (next() % 120) as u16);
            let mut bytes = Vec::new();
            for _ in 0..next() % 200 {
                bytes.extend_from_slice(pieces[(next() % 24) as usize]);
                if next() % 3 == 0 {
                    bytes.push(b'a' + (next() % 26) as u8);
                }
            }
            let mut terminal = Terminal::new(rows, cols);
            terminal.feed(&bytes[..bytes.len() / 2]);
            terminal.settle();
            terminal.resize(2 + (next() % 40) as u16, 2 + (next() % 120) as u16);
            terminal.feed(&bytes[bytes.len() / 2..]);
            terminal.settle();
            let (rows, cols) = terminal.screen().size();
            let mut buf = Buffer::empty(Rect::new(0, 0, cols, rows));
            terminal.draw(buf.area, &mut buf, true);
        }
    }

    #[test]
    fn a_pane_of_one_row_still_takes_long_lines() {
        let mut terminal = Terminal::new(1, 10);
        terminal.feed(&[b'a'; 40]);
        terminal.settle();
        terminal.resize(1, 5);
        terminal.feed(&[b'b'; 40]);
        terminal.settle();
        assert_eq!(terminal.screen().size(), (MIN_ROWS, 5));
    }

    #[test]
    fn draws_text_colours_and_redraws_in_place() {
        let mut terminal = Terminal::new(3, 10);
        terminal.feed(b"\x1b[31mred\x1b[0m\r\nprogress 1");
        terminal.feed(b"\rprogress 2");
        terminal.settle();
        let drawn = |terminal: &Terminal| {
            let mut buf = Buffer::empty(Rect::new(0, 0, 10, 3));
            terminal.draw(buf.area, &mut buf, false);
            buf
        };
        let row = |buf: &Buffer, y| (0..10).map(|x| buf[(x, y)].symbol()).collect::<String>();
        let buf = drawn(&terminal);
        assert_eq!(row(&buf, 0), "red       ");
        assert_eq!(row(&buf, 1), "progress 2");
        assert_eq!(buf[(0, 0)].fg, Color::Indexed(1));
        terminal.clear();
        assert_eq!(row(&drawn(&terminal), 0), "          ");
    }

    /// Every cell's text and style, and the cursor: what a screen shows.
    fn shown(terminal: &Terminal) -> (Vec<String>, (u16, u16)) {
        let screen = terminal.screen();
        let (rows, cols) = screen.size();
        let cells = (0..rows)
            .flat_map(|row| (0..cols).map(move |col| (row, col)))
            .map(|(row, col)| {
                let cell = screen.cell(row, col).unwrap();
                format!(
                    "{}{:?}{:?}{}",
                    cell.contents(),
                    cell.fgcolor(),
                    cell.bgcolor(),
                    cell.bold()
                )
            })
            .collect();
        (cells, screen.cursor_position())
    }

    proptest::proptest! {
        /// Skipping what scrolls off changes nothing that is shown.
        #[test]
        fn skipping_a_flood_shows_what_parsing_it_all_shows(
            start in "[a-z \r\n]{0,30}",
            lines in proptest::collection::vec(
                (0u8..5, "[a-z ]{0,25}", proptest::bool::ANY),
                0..40,
            ),
            rows in 1u16..6,
        ) {
            let mut bytes = Vec::new();
            for (colour, text, progress) in &lines {
                match colour {
                    0 => bytes.extend_from_slice(b"\x1b[0m"),
                    1 => bytes.extend_from_slice(b"\x1b[31m"),
                    2 => bytes.extend_from_slice(b"\x1b[1;44m"),
                    3 => bytes.extend_from_slice(b"\x1b[m"),
                    _ => {}
                }
                bytes.extend_from_slice(text.as_bytes());
                bytes.extend_from_slice(if *progress { b"\r" } else { b"\r\n" });
            }
            let rows = rows.max(MIN_ROWS);
            let mut all = vt100::Parser::new(rows, 12, 0);
            all.process(start.as_bytes());
            all.process(&bytes);
            let mut lazy = Terminal::new(rows, 12);
            lazy.parser.process(start.as_bytes());
            lazy.feed(&bytes);
            lazy.settle();
            let everything = Terminal { parser: all, pending: Vec::new() };
            proptest::prop_assert_eq!(shown(&lazy), shown(&everything));
        }
    }
}
