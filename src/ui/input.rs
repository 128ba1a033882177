//! Keys and the mouse: they change what is shown, or become an action for
//! the engine.

use super::app::{Action, App, PaneKind};
use super::render::{pane_areas, panes_area};
use crate::event::Command;
use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

/// Lines one wheel notch scrolls.
const WHEEL_LINES: isize = 3;

fn quit() -> Command {
    Command::Quit {
        reason: "quit".into(),
    }
}

pub fn handle_key(app: &mut App, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    app.message = None;
    if app.typing.is_some() {
        return typed(app, key);
    }
    let viewer = app.remote.is_some();
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        // In a viewer, the viewer's own terminal is what Ctrl-C leaves.
        return Some(if viewer {
            Action::Leave
        } else {
            Action::Engine(quit())
        });
    }
    if app.help {
        app.help = false;
        return None;
    }
    if let Some(typing) = &mut app.search.typing {
        match key.code {
            KeyCode::Char(c) => typing.push(c),
            KeyCode::Backspace => {
                typing.pop();
            }
            KeyCode::Enter => {
                app.search.query = app.search.typing.take().unwrap_or_default();
                app.search.current = None;
                app.find(true);
            }
            KeyCode::Esc => app.search.typing = None,
            _ => {}
        }
        return None;
    }
    let page = app.page() as isize;
    let engine = |command| Some(Action::Engine(command));
    match key.code {
        KeyCode::Char('q') if viewer => return Some(Action::Leave),
        KeyCode::Char('q' | 'Q') => return engine(quit()),
        KeyCode::Char('f') if viewer => {
            if let Some(remote) = &mut app.remote {
                remote.follow = !remote.follow;
                let (follow, index) = (remote.follow, remote.host_selected);
                if follow {
                    app.select(index);
                }
            }
        }
        KeyCode::Tab | KeyCode::Right | KeyCode::Down => app.select_by_hand(true),
        KeyCode::BackTab | KeyCode::Left | KeyCode::Up => app.select_by_hand(false),
        KeyCode::Enter | KeyCode::Char('z') => app.zoomed = !app.zoomed,
        KeyCode::Esc => {
            app.zoomed = false;
            app.search.query.clear();
            app.search.current = None;
        }
        KeyCode::Char('b') => return engine(Command::Build),
        KeyCode::Char('u') => return engine(Command::Rollback),
        KeyCode::Char('x') => return engine(Command::Cancel),
        KeyCode::Char('r') => {
            return engine(selected_process(app).map_or(Command::Build, Command::Restart));
        }
        KeyCode::Char('s') => {
            return selected_process(app).and_then(|p| engine(Command::Toggle(p)));
        }
        KeyCode::PageUp => app.selected_pane().lines.scroll(page),
        KeyCode::PageDown => app.selected_pane().lines.scroll(-page),
        KeyCode::Home => app.selected_pane().lines.scroll_to_top(),
        KeyCode::End => app.selected_pane().lines.follow(),
        KeyCode::Char('/') => app.search.typing = Some(String::new()),
        KeyCode::Char('n') => app.find(true),
        KeyCode::Char('N') => app.find(false),
        KeyCode::Char('c') => {
            let pane = app.selected_pane();
            pane.lines.clear();
            if let Some(screen) = &mut pane.screen {
                screen.clear();
            }
            app.search.current = None;
        }
        KeyCode::Char('t') => app.timestamps = !app.timestamps,
        KeyCode::Char('i') => hand_keyboard(app),
        KeyCode::Char('?') => app.help = true,
        _ => {}
    }
    None
}

/// `i`: the keyboard goes to the selected process, if it is on a terminal
/// (and, in a viewer, if the view may act on the host).
fn hand_keyboard(app: &mut App) {
    let on_terminal = app.panes[app.selected].screen.is_some();
    let read_only = app.remote.as_ref().is_some_and(|remote| !remote.control);
    app.message = Some(match &app.panes[app.selected].kind {
        PaneKind::Build => "the build takes no keys".to_string(),
        PaneKind::Process(_) if read_only => "read-only: attach with --control".to_string(),
        PaneKind::Process(view) if !on_terminal => {
            format!("{} has no terminal (not started yet)", view.name)
        }
        PaneKind::Process(_) => {
            app.typing = Some(app.selected);
            app.selected_pane().lines.follow();
            return;
        }
    });
}

/// A key while the keyboard is a process's: all but Ctrl-Z go to it.
fn typed(app: &mut App, key: KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('z') {
        app.typing = None;
        return None;
    }
    let typing = app.typing.and_then(|index| app.panes.get_mut(index));
    if let Some(screen) = typing.and_then(|pane| pane.screen.as_mut()) {
        screen.settle();
    }
    let application_cursor = app
        .typing_screen()
        .is_some_and(vt100::Screen::application_cursor);
    let bytes = super::keys::encode(key, application_cursor)?;
    app.type_into(bytes)
}

/// A paste: to the process the keyboard is handed to, bracketed if it asked.
pub fn handle_paste(app: &mut App, text: &str) -> Option<Action> {
    let bracketed = app
        .typing_screen()
        .is_some_and(vt100::Screen::bracketed_paste);
    app.typing?;
    app.type_into(super::keys::paste(text, bracketed))
}

fn selected_process(app: &App) -> Option<String> {
    match &app.panes[app.selected].kind {
        PaneKind::Process(view) => Some(view.name.clone()),
        PaneKind::Build => None,
    }
}

pub fn handle_mouse(app: &mut App, mouse: MouseEvent) {
    let area = Rect::new(0, 0, app.size.0, app.size.1);
    let zoomed = app.zoomed.then_some(app.selected);
    let hit = pane_areas(panes_area(area), app.panes.len(), zoomed)
        .into_iter()
        .find(|(_, rect)| rect.contains(Position::new(mouse.column, mouse.row)))
        .map(|(index, _)| index);
    let Some(index) = hit else { return };
    match mouse.kind {
        MouseEventKind::ScrollUp => app.panes[index].lines.scroll(WHEEL_LINES),
        MouseEventKind::ScrollDown => app.panes[index].lines.scroll(-WHEEL_LINES),
        MouseEventKind::Down(MouseButton::Left) => {
            app.select(index);
            app.stop_following();
        }
        _ => {}
    }
}
