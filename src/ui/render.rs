//! Drawing the state: a grid of panes (or one zoomed), a status line, the
//! help overlay. Reads the state, never changes it.

use super::app::{App, PaneKind};
use super::state::ProcessState;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph};
use std::time::SystemTime;

/// Where each visible pane goes: all in a grid, or the selected one alone.
pub fn pane_areas(area: Rect, count: usize, zoomed: Option<usize>) -> Vec<(usize, Rect)> {
    if let Some(index) = zoomed {
        return vec![(index, area)];
    }
    // Two columns once there is room for two readable panes side by side.
    let columns = if count > 1 && area.width >= 120 { 2 } else { 1 };
    let rows = count.div_ceil(columns);
    let row_areas = Layout::vertical(vec![Constraint::Ratio(1, rows as u32); rows]).split(area);
    let mut areas = Vec::with_capacity(count);
    for (row, row_area) in row_areas.iter().enumerate() {
        let in_row = (count - row * columns).min(columns);
        let cells =
            Layout::horizontal(vec![Constraint::Ratio(1, in_row as u32); in_row]).split(*row_area);
        for (column, cell) in cells.iter().enumerate() {
            areas.push((row * columns + column, *cell));
        }
    }
    areas
}

/// The area above the status line.
pub fn panes_area(area: Rect) -> Rect {
    Rect {
        height: area.height.saturating_sub(1),
        ..area
    }
}

pub fn render(app: &App, frame: &mut Frame, now: SystemTime) {
    let area = frame.area();
    let zoomed = app.zoomed.then_some(app.selected);
    for (index, rect) in pane_areas(panes_area(area), app.panes.len(), zoomed) {
        render_pane(app, index, rect, frame, now);
    }
    let status = Rect {
        y: area.y + area.height.saturating_sub(1),
        height: area.height.min(1),
        ..area
    };
    frame.render_widget(Paragraph::new(status_line(app, now)), status);
    if app.help {
        super::help::render_help(app, frame, area);
    }
}

fn render_pane(app: &App, index: usize, rect: Rect, frame: &mut Frame, now: SystemTime) {
    let pane = &app.panes[index];
    let selected = index == app.selected;
    let title_style = match &pane.kind {
        PaneKind::Build => Style::new().fg(Color::Cyan),
        PaneKind::Process(view) => Style::new().fg(state_colour(view.state)),
    };
    let mut block = Block::bordered()
        .title(Span::styled(app.title(index, now), title_style))
        .border_type(if selected {
            BorderType::Thick
        } else {
            BorderType::Plain
        });
    if selected {
        block = block
            .border_style(Style::new().fg(Color::Cyan))
            .title_style(Modifier::BOLD);
    }
    if !pane.lines.following() {
        block = block.title_bottom(
            Line::from(" scrolled · End follows ")
                .right_aligned()
                .yellow(),
        );
    }
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    // A terminal's screen while following; its lines when scrolled,
    // searched or stamped.
    if let Some(screen) = &pane.screen
        && pane.lines.following()
        && app.search.query.is_empty()
        && !app.timestamps
    {
        screen.draw(inner, frame.buffer_mut(), app.typing == Some(index));
        return;
    }
    let query = app.search.query.as_str();
    let current = if selected { app.search.current } else { None };
    let lines: Vec<Line> = pane
        .lines
        .visible(usize::from(inner.height))
        .filter_map(|i| pane.lines.get(i).map(|line| (i, line)))
        .map(|(i, line)| {
            let mut spans = Vec::new();
            if app.timestamps {
                spans.push(Span::styled(
                    crate::clock::local_time_of_day(line.at)[..8].to_string() + " ",
                    Style::new().dim(),
                ));
            }
            if query.is_empty() {
                spans.extend(line.line().spans);
            } else {
                let current = current == Some(pane.lines.number(i));
                spans.extend(highlight(&line.line(), &line.plain(), query, current));
            }
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Splits spans so that each match of `query` stands out; `plain` is the
/// line's text, matched whole so a match may cross spans.
fn highlight<'a>(line: &Line<'a>, plain: &str, query: &str, current: bool) -> Vec<Span<'a>> {
    let mark = if current {
        Style::new()
            .bg(Color::LightYellow)
            .fg(Color::Black)
            .add_modifier(Modifier::BOLD)
    } else {
        Style::new().bg(Color::Yellow).fg(Color::Black)
    };
    let found = super::search::matches(plain, query);
    let mut out = Vec::new();
    let mut span_start = 0;
    for span in &line.spans {
        let text = span.content.as_ref();
        let span_end = span_start + text.len();
        // Cut points inside this span: match starts and ends, all on char boundaries.
        let mut at = 0;
        for range in &found {
            let (start, end) = (
                range.start.clamp(span_start, span_end) - span_start,
                range.end.clamp(span_start, span_end) - span_start,
            );
            if start >= end {
                continue;
            }
            if start > at {
                out.push(Span::styled(text[at..start].to_string(), span.style));
            }
            out.push(Span::styled(
                text[start..end].to_string(),
                span.style.patch(mark),
            ));
            at = end;
        }
        if at < text.len() {
            out.push(Span::styled(text[at..].to_string(), span.style));
        }
        span_start = span_end;
    }
    out
}

fn state_colour(state: ProcessState) -> Color {
    match state {
        ProcessState::Ready | ProcessState::Running => Color::Green,
        ProcessState::Starting | ProcessState::Restarting | ProcessState::Blocked => Color::Yellow,
        ProcessState::Failed | ProcessState::Exited => Color::Red,
        ProcessState::Waiting | ProcessState::Stopped => Color::Gray,
    }
}

fn status_line(app: &App, now: SystemTime) -> Line<'static> {
    if let Some(typing) = &app.search.typing {
        return Line::from(vec![
            Span::raw("/"),
            Span::raw(typing.clone()),
            Span::raw("▏  Enter search · Esc cancel").dim(),
        ]);
    }
    if let Some(index) = app.typing {
        return Line::from(vec![
            Span::raw(format!(" keys go to {} ", app.panes[index].name()))
                .black()
                .on_cyan()
                .bold(),
            Span::raw("  Ctrl-Z gives them back to devloop").dim(),
        ]);
    }
    let mut parts = Vec::new();
    if let Some(remote) = &app.remote {
        parts.extend(viewer_line(app, remote));
    }
    if let Some(message) = &app.message {
        parts.push(Span::raw(format!(" {message} ·")).yellow().bold());
    }
    parts.push(Span::raw(match &app.watching {
        Some(watching) => format!(" watching {watching}"),
        None => " starting".to_string(),
    }));
    if app.remote.is_none() && app.viewers > 0 {
        parts.push(Span::raw(format!(" · {} attached", app.viewers)));
    }
    if let Some((count, at)) = app.last_change {
        let ago = super::state::short(now.duration_since(at).unwrap_or_default());
        let files = if count == 1 { "file" } else { "files" };
        parts.push(Span::raw(format!(
            " · last change: {count} {files} {ago} ago"
        )));
    }
    if !app.search.query.is_empty() {
        parts.push(Span::raw(format!(" · /{} (n older, N newer)", app.search.query)).yellow());
    }
    let keys = if app.remote.is_some() {
        "  Tab select · f follow host · z zoom · / search · ? help · q leave · Q quit devloop"
    } else {
        "  Tab select · z zoom · i type · r restart · s stop/start · b build · / search · ? help · q quit"
    };
    parts.push(Span::raw(keys).dim());
    Line::from(parts)
}

/// A viewer's head of the status line: whose devloop, how many watch, and
/// what this view may do.
fn viewer_line(app: &App, remote: &super::app::Remote) -> Vec<Span<'static>> {
    if let Some(ended) = &remote.ended {
        return vec![Span::raw(format!(" {ended} · q leaves ·")).red().bold()];
    }
    let mode = if remote.control {
        "control"
    } else {
        "read-only"
    };
    let follow = if remote.follow { " · following" } else { "" };
    vec![
        Span::raw(format!(
            " attached to {} · {} watching · {mode}{follow} ·",
            remote.host, app.viewers
        ))
        .cyan(),
    ]
}
