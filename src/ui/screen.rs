//! A process's terminal screen (vt100, no scrollback of its own: the pane's
//! history is its line `Scrollback`) drawn into a pane: each cell's text,
//! colours and attributes, and the cursor when the keyboard is the process's.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};

/// The screen of one process, kept at its pane's size.
pub struct Terminal {
    parser: vt100::Parser,
}

impl Terminal {
    pub fn new(rows: u16, cols: u16) -> Terminal {
        Terminal {
            parser: vt100::Parser::new(rows.max(1), cols.max(1), 0),
        }
    }

    /// Bytes the process wrote.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.parser.process(bytes);
    }

    pub fn screen(&self) -> &vt100::Screen {
        self.parser.screen()
    }

    /// The pane's inner area changed size; the process is told separately.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        let (rows, cols) = (rows.max(1), cols.max(1));
        if self.parser.screen().size() != (rows, cols) {
            self.parser.screen_mut().set_size(rows, cols);
        }
    }

    /// Clears the screen as `c` clears the pane (nothing reaches the process).
    pub fn clear(&mut self) {
        self.parser.process(b"\x1b[H\x1b[2J");
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

    #[test]
    fn draws_text_colours_and_redraws_in_place() {
        let mut terminal = Terminal::new(3, 10);
        terminal.feed(b"\x1b[31mred\x1b[0m\r\nprogress 1");
        terminal.feed(b"\rprogress 2");
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
}
