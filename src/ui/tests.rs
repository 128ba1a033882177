//! Rendering tests on ratatui's TestBackend: the grid, zoom, titles in each
//! state, search highlighting and the help overlay.

use super::app::{App, PaneKind};
use super::input::handle_key;
use super::render::render;
use super::state::ProcessState;
use crate::event::{BuildReason, BuildStatus, Event, Stamped, Stream};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn event(secs: u64, event: Event) -> Stamped {
    Stamped {
        at: at(secs),
        event,
    }
}

fn app() -> App {
    let mut app = App::new(&["web".to_string(), "api".to_string()], 100);
    app.size = (100, 20);
    app.apply(&event(
        0,
        Event::Watching {
            paths: vec!["libs".into()],
            dirs: 12,
            ms: 3,
        },
    ));
    app.apply(&event(
        1,
        Event::BuildStarted {
            build: 1,
            reason: BuildReason::Startup,
        },
    ));
    app.apply(&event(
        2,
        Event::BuildOutput {
            build: 1,
            stream: Stream::Stdout,
            line: "compiled \x1b[32mshared\x1b[0m".into(),
        },
    ));
    app.apply(&event(
        3,
        Event::BuildFinished {
            build: 1,
            status: BuildStatus::Ok,
            exit_code: Some(0),
            ms: 1500,
            failure: None,
        },
    ));
    app
}

fn set_process(app: &mut App, index: usize, state: ProcessState, pid: u32, restarts: u64) {
    if let PaneKind::Process(view) = &mut app.panes[index].kind {
        view.state = state;
        view.pid = Some(pid);
        view.restarts = restarts;
        view.since = Some(at(60));
    }
}

fn screen(app: &App) -> String {
    let mut terminal = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    terminal.draw(|frame| render(app, frame, at(125))).unwrap();
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn key(app: &mut App, code: KeyCode) {
    handle_key(app, KeyEvent::new(code, KeyModifiers::NONE));
}

#[test]
fn grid_shows_every_pane_with_its_title() {
    let mut app = app();
    set_process(&mut app, 1, ProcessState::Ready, 4242, 0);
    set_process(&mut app, 2, ProcessState::Failed, 4343, 4);
    app.size = (130, 20);
    insta::assert_snapshot!("grid_wide", screen(&app));
    app.size = (80, 24);
    insta::assert_snapshot!("grid_narrow", screen(&app));
}

#[test]
fn titles_read_in_every_state() {
    let mut app = app();
    let states = [
        ProcessState::Waiting,
        ProcessState::Starting,
        ProcessState::Running,
        ProcessState::Ready,
        ProcessState::Restarting,
        ProcessState::Exited,
        ProcessState::Failed,
        ProcessState::Blocked,
        ProcessState::Stopped,
    ];
    let titles: Vec<String> = states
        .iter()
        .map(|state| {
            set_process(&mut app, 1, *state, 7, 2);
            app.title(1, at(125))
        })
        .collect();
    insta::assert_snapshot!("process_titles", titles.join("\n"));
    app.apply(&event(
        130,
        Event::BuildStarted {
            build: 2,
            reason: BuildReason::Change,
        },
    ));
    let running = app.title(0, at(133));
    app.apply(&event(
        140,
        Event::BuildFinished {
            build: 2,
            status: BuildStatus::Failed,
            exit_code: Some(2),
            ms: 900,
            failure: None,
        },
    ));
    let failed = app.title(0, at(141));
    app.apply(&event(
        150,
        Event::BuildFinished {
            build: 3,
            status: BuildStatus::Skipped,
            exit_code: None,
            ms: 0,
            failure: None,
        },
    ));
    let skipped = app.title(0, at(151));
    insta::assert_snapshot!("build_titles", [running, failed, skipped].join("\n"));
}

#[test]
fn zoom_shows_the_selected_pane_alone() {
    let mut app = app();
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('z'));
    let zoomed = screen(&app);
    assert!(zoomed.contains("web … waiting"), "{zoomed}");
    assert!(
        !zoomed.contains("build #1"),
        "other panes still shown:\n{zoomed}"
    );
    key(&mut app, KeyCode::Enter);
    assert!(screen(&app).contains("build #1"));
}

#[test]
fn search_highlights_matches_and_moves_between_them() {
    let mut app = app();
    for i in 0..30 {
        let line = if i % 10 == 0 {
            format!("error number {i}")
        } else {
            format!("fine {i}")
        };
        app.apply(&event(
            10 + i,
            Event::BuildOutput {
                build: 1,
                stream: Stream::Stderr,
                line,
            },
        ));
    }
    key(&mut app, KeyCode::Char('/'));
    for c in "ERROR".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    assert!(screen(&app).lines().last().unwrap().starts_with("/ERROR"));
    key(&mut app, KeyCode::Enter);
    let newest = app.search.current.unwrap();
    assert!(
        app.panes[0]
            .lines
            .get(newest)
            .unwrap()
            .plain()
            .contains("error number 20")
    );
    key(&mut app, KeyCode::Char('n'));
    let older = app.search.current.unwrap();
    assert!(
        app.panes[0]
            .lines
            .get(older)
            .unwrap()
            .plain()
            .contains("error number 10")
    );
    assert!(!app.panes[0].lines.following(), "moving to a match scrolls");
    key(&mut app, KeyCode::Char('N'));
    assert_eq!(app.search.current, Some(newest));

    let mut terminal = Terminal::new(TestBackend::new(100, 20)).unwrap();
    terminal.draw(|frame| render(&app, frame, at(125))).unwrap();
    let buffer = terminal.backend().buffer();
    let highlighted: String = (0..20)
        .flat_map(|y| (0..100).map(move |x| (x, y)))
        .filter(|&(x, y)| buffer[(x, y)].bg == Color::LightYellow)
        .map(|(x, y)| buffer[(x, y)].symbol().to_string())
        .collect();
    assert_eq!(highlighted, "error", "the current match is highlighted");
}

#[test]
fn help_overlay_lists_the_keys() {
    let mut app = app();
    key(&mut app, KeyCode::Char('?'));
    insta::assert_snapshot!("help", screen(&app));
    key(&mut app, KeyCode::Char('x'));
    assert!(!screen(&app).contains(" keys "), "any key closes help");
}

#[test]
fn a_viewers_help_has_its_own_keys_and_says_what_read_only_refuses() {
    for control in [false, true] {
        let mut app = app();
        app.remote = Some(super::app::Remote {
            control,
            ..Default::default()
        });
        key(&mut app, KeyCode::Char('?'));
        let shown = screen(&app);
        assert!(shown.contains("follow the host's selection"), "{shown}");
        assert!(
            shown.contains("leave this view; devloop goes on"),
            "{shown}"
        );
        let refused = shown.contains("read-only: b, x, u, r, s and Q are refused");
        let acting = shown.contains("--control: b, x, u, r, s and Q act");
        assert_eq!((refused, acting), (!control, control), "{shown}");
    }
    let mut host = app();
    key(&mut host, KeyCode::Char('?'));
    assert!(!screen(&host).contains("follow the host"));
}

#[test]
fn child_colours_survive_to_the_screen() {
    let app = app();
    let mut terminal = Terminal::new(TestBackend::new(100, 20)).unwrap();
    terminal.draw(|frame| render(&app, frame, at(125))).unwrap();
    let buffer = terminal.backend().buffer();
    let green: String = (0..100)
        .filter(|&x| buffer[(x, 2)].fg == Color::Green)
        .map(|x| buffer[(x, 2)].symbol().to_string())
        .collect();
    assert_eq!(green, "shared");
}

#[test]
fn the_mouse_selects_and_scrolls_the_pane_under_it() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut app = app();
    app.size = (80, 24);
    for i in 0..50 {
        app.apply(&event(
            10 + i,
            Event::BuildOutput {
                build: 1,
                stream: Stream::Stdout,
                line: format!("l{i}"),
            },
        ));
    }
    let mouse = |kind, row| MouseEvent {
        kind,
        column: 10,
        row,
        modifiers: KeyModifiers::NONE,
    };
    // Rows 0-7 are the build pane, 8-14 web, 15-22 api (see the grid_narrow snapshot).
    super::input::handle_mouse(&mut app, mouse(MouseEventKind::Down(MouseButton::Left), 10));
    assert_eq!(app.selected, 1);
    super::input::handle_mouse(&mut app, mouse(MouseEventKind::ScrollUp, 3));
    assert!(
        !app.panes[0].lines.following(),
        "the wheel scrolls the pane under the pointer"
    );
    assert_eq!(app.selected, 1, "scrolling does not select");
    super::input::handle_mouse(&mut app, mouse(MouseEventKind::ScrollDown, 3));
    assert!(app.panes[0].lines.following());
}

#[test]
fn keys_become_engine_actions() {
    use super::app::Action;
    use crate::event::Command;
    let engine = |command| Some(Action::Engine(command));
    let mut app = app();
    let mut press = |code| handle_key(&mut app, KeyEvent::new(code, KeyModifiers::NONE));
    assert_eq!(press(KeyCode::Char('b')), engine(Command::Build));
    assert_eq!(press(KeyCode::Char('u')), engine(Command::Rollback));
    assert_eq!(press(KeyCode::Char('x')), engine(Command::Cancel));
    assert_eq!(
        press(KeyCode::Char('r')),
        engine(Command::Build),
        "r on the build pane builds"
    );
    assert_eq!(press(KeyCode::Tab), None);
    assert_eq!(
        press(KeyCode::Char('r')),
        engine(Command::Restart("web".into()))
    );
    assert_eq!(
        press(KeyCode::Char('s')),
        engine(Command::Toggle("web".into()))
    );
    let quit = engine(Command::Quit {
        reason: "quit".into(),
    });
    assert_eq!(press(KeyCode::Char('q')), quit);
}

#[test]
fn a_viewer_leaves_with_q_follows_the_host_and_is_read_only() {
    use super::app::{Action, Feed, Remote};
    use crate::event::Command;
    let mut app = app();
    app.remote = Some(Remote::default());
    let press = |app: &mut App, code| handle_key(app, KeyEvent::new(code, KeyModifiers::NONE));
    assert_eq!(press(&mut app, KeyCode::Char('q')), Some(Action::Leave));
    assert_eq!(
        press(&mut app, KeyCode::Char('b')),
        Some(Action::Engine(Command::Build))
    );
    assert!(!app.may_send(&Command::Build));
    assert!(screen(&app).contains("read-only: attach with --control"));
    app.feed(&Feed::HostSelected(2));
    assert_eq!(app.selected, 0, "not following yet");
    press(&mut app, KeyCode::Char('f'));
    assert_eq!(app.selected, 2);
    app.feed(&Feed::HostSelected(1));
    assert_eq!(app.selected, 1);
    press(&mut app, KeyCode::Tab);
    app.feed(&Feed::HostSelected(0));
    assert_eq!(app.selected, 2, "selecting by hand stops following");
    app.remote.as_mut().unwrap().control = true;
    assert!(app.may_send(&Command::Build));
}

#[test]
fn search_in_lines_whose_case_changes_length_draws() {
    let mut app = app();
    app.apply(&event(
        10,
        Event::BuildOutput {
            build: 1,
            stream: Stream::Stdout,
            line: "ẞİ \x1b[1mİx\x1b[0m".into(),
        },
    ));
    key(&mut app, KeyCode::Char('/'));
    key(&mut app, KeyCode::Char('i'));
    key(&mut app, KeyCode::Enter);
    assert!(app.search.current.is_some());
    let mut terminal = Terminal::new(TestBackend::new(100, 20)).unwrap();
    terminal.draw(|frame| render(&app, frame, at(20))).unwrap();
    let buffer = terminal.backend().buffer();
    let highlighted: String = (0..20)
        .flat_map(|y| (0..100).map(move |x| (x, y)))
        .filter(|&(x, y)| buffer[(x, y)].bg == Color::LightYellow)
        .map(|(x, y)| buffer[(x, y)].symbol().to_string())
        .collect();
    assert_eq!(highlighted, "İİ", "each İ is matched whole");
}

#[test]
fn the_build_pane_shows_an_automatic_rollback() {
    let mut app = app();
    app.apply(&event(
        4,
        Event::RolledBack {
            generation: 6,
            reason: crate::event::RollbackReason::Auto,
            process: Some("api".into()),
        },
    ));
    let screen = screen(&app);
    assert!(screen.contains("gen 6 (rolled back)"), "{screen}");
    assert!(
        screen.contains("rolled back automatically: `api` failed"),
        "{screen}"
    );
}

#[test]
fn a_proxied_title_names_the_instance_serving() {
    let mut app = app();
    let started = |pid, restarts, port| Event::ProcessStarted {
        process: "web".into(),
        pid,
        restarts,
        port: Some(port),
    };
    let ready = |pid, port| Event::ProcessReady {
        process: "web".into(),
        ms: 100,
        pid: Some(pid),
        port: Some(port),
    };
    let exited = |pid| Event::ProcessExited {
        process: "web".into(),
        pid,
        code: Some(0),
        signal: None,
        uptime_ms: 100,
    };
    let title = |app: &App| app.title(1, at(20));
    app.apply(&event(10, started(10, 0, 4000)));
    app.apply(&event(11, ready(10, 4000)));
    app.apply(&event(12, started(11, 1, 4001)));
    assert!(
        title(&app).contains("serving pid 10 :4000"),
        "{}",
        title(&app)
    );
    app.apply(&event(13, ready(11, 4001)));
    app.apply(&event(14, exited(10)));
    assert!(title(&app).contains("✔"), "{}", title(&app));
    assert!(
        title(&app).contains("serving pid 11 :4001"),
        "{}",
        title(&app)
    );
    // A new instance that fails to start: the old one still serves.
    app.apply(&event(15, started(12, 2, 4002)));
    app.apply(&event(16, exited(12)));
    assert!(title(&app).contains("pid 11 · "), "{}", title(&app));
    assert!(title(&app).contains("serving pid 11"), "{}", title(&app));
}

#[test]
fn a_reload_adds_a_pane_per_added_process_once_and_keeps_removed_ones() {
    let mut app = app();
    let reloaded = event(
        9,
        Event::ConfigReloaded {
            sections: vec![],
            added: vec!["docs".into()],
            removed: vec!["web".into()],
            changed: vec![],
        },
    );
    app.apply(&reloaded);
    app.apply(&reloaded);
    let names: Vec<&str> = app.panes.iter().map(|p| p.name()).collect();
    assert_eq!(names, ["build", "web", "api", "docs"]);
    app.apply(&event(
        10,
        Event::ProcessOutput {
            process: "docs".into(),
            stream: Stream::Stdout,
            line: "docs up".into(),
        },
    ));
    assert_eq!(app.panes[3].lines.len(), 1);
    app.size = (160, 30);
    let screen = screen(&app);
    assert!(screen.contains("docs"), "{screen}");
    assert!(
        screen.contains("configuration reloaded: added docs; removed web"),
        "{screen}"
    );
}
