//! The `?` overlay: the keys, as the host has them or as a viewer has them
//! (its own selection, `f` to follow the host, and which keys act on the
//! host only with `--control`).

use super::app::App;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph};

const HELP: &[(&str, &str)] = &[
    ("Tab, arrows", "select a pane (mouse: click)"),
    ("Enter, z", "zoom the selected pane / back to the grid"),
    (
        "r",
        "restart the selected process (on the build pane: build)",
    ),
    ("s", "stop or start the selected process"),
    ("i", "type into the selected process (Ctrl-Z ends it)"),
    ("b", "build now"),
    ("x", "cancel the running build (nothing is promoted)"),
    ("u", "undo: put the previous promoted generation back"),
    (
        "PgUp, PgDn",
        "scroll (mouse wheel too); Home goes to the top",
    ),
    ("End", "follow the output again"),
    ("/", "search; n older match, N newer match, Esc clears"),
    ("c", "clear the selected pane"),
    ("t", "timestamps on or off"),
    ("?", "this help"),
    ("q, Ctrl-C", "quit: stop every process, then exit"),
];

/// A viewer's keys: what only it sees first, then what acts on the host.
const VIEWER_HELP: &[(&str, &str)] = &[
    ("Tab, arrows", "select a pane in this view (mouse: click)"),
    ("f", "follow the host's selection, or stop following"),
    ("Enter, z", "zoom the selected pane / back to the grid"),
    (
        "PgUp, PgDn",
        "scroll (mouse wheel too); Home top, End follow",
    ),
    ("/", "search; n older match, N newer match, Esc clears"),
    ("c, t", "clear the pane, timestamps: in this view only"),
    ("?", "this help"),
    ("q, Ctrl-C", "leave this view; devloop goes on"),
    ("b, x, u", "build, cancel the build, roll back: on the host"),
    ("r, s", "restart, stop or start the selected process"),
    ("Q", "quit devloop itself: stop every process"),
];

pub fn render_help(app: &App, frame: &mut Frame, area: Rect) {
    let (keys, mode) = match &app.remote {
        None => (HELP, None),
        Some(remote) if remote.control => (
            VIEWER_HELP,
            Some("  --control: b, x, u, r, s and Q act as the host's own keys"),
        ),
        Some(_) => (
            VIEWER_HELP,
            Some("  read-only: b, x, u, r, s and Q are refused (attach with --control)"),
        ),
    };
    let extra = if mode.is_some() { 2 } else { 0 };
    let width = 72.min(area.width);
    let height = (keys.len() as u16 + 4 + extra).min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let lines: Vec<Line> = keys
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!("  {keys:<12} "), Style::new().bold()),
                Span::raw(*what),
            ])
        })
        .chain(
            mode.into_iter()
                .flat_map(|mode| [Line::from(""), Line::from(mode).yellow()]),
        )
        .chain([
            Line::from(""),
            Line::from("  any key closes this help").dim(),
        ])
        .collect();
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(" keys ")
                .border_type(BorderType::Double),
        ),
        rect,
    );
}
