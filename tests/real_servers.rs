//! Real dev servers see every promotion (issue 9): pinned Next.js (webpack
//! and Turbopack), Vite, `tsx watch` and `node --watch` from npm, each run as
//! a `[process]` of a temporary workspace whose app imports `@demo/shared`
//! from `dist/libs`, ten lib edits each, polled over HTTP from devloop's
//! `promoted` event until served. Each server's reload of its own file is
//! measured in the same run as the reference. Next.js webpack also runs
//! restarted on each promotion behind devloop's proxy, which must refuse no
//! connection. `REAL_SERVERS=vite,tsx` runs a subset. Skips (and passes) only when node or npm cannot be found.

mod common;
#[path = "common/npm.rs"]
mod npm;
mod servers;

use servers::{Case, EDITS, Figures, installed, median, run_case};

const NODE_APP_LIB: &str = "/";
/// Restarted on each promotion behind devloop's proxy (issue 14).
const PROXIED_NEXT: &str = "next dev --webpack, on_promote = restart, proxy = true";

fn cases() -> Vec<Case> {
    let next = |name, mode| Case {
        name,
        app: "next",
        command: mode,
        extra: "",
        lib_url: "/api/v",
        own_url: "/api/v",
        own_file: "pages/api/v.js",
        proxied: false,
    };
    vec![
        next(
            "next dev --webpack",
            "node {bin}/next/dist/bin/next dev --webpack -p {port} -H 127.0.0.1",
        ),
        next(
            "next dev --turbopack",
            "node {bin}/next/dist/bin/next dev --turbopack -p {port} -H 127.0.0.1",
        ),
        Case {
            name: PROXIED_NEXT,
            // $PORT: each instance listens on its own private port.
            command: "node {bin}/next/dist/bin/next dev --webpack -p $PORT -H 127.0.0.1",
            extra: "on_promote = \"restart\"\nproxy = true\nport = {port}\n\
                    health = { http = \"http://127.0.0.1:{port}/api/v\", timeout = \"30s\" }",
            proxied: true,
            ..next("", "")
        },
        Case {
            name: "vite",
            app: "vite",
            command: "node {bin}/vite/bin/vite.js --port {port}",
            extra: "",
            lib_url: "/@fs{ws}/dist/libs/shared/index.js",
            own_url: "/main.js",
            own_file: "main.js",
            proxied: false,
        },
        Case {
            name: "tsx watch",
            app: "node",
            command: "node {bin}/tsx/dist/cli.mjs watch server.js",
            extra: "",
            lib_url: NODE_APP_LIB,
            own_url: NODE_APP_LIB,
            own_file: "server.js",
            proxied: false,
        },
        Case {
            name: "node --watch, on_promote = restart",
            app: "node",
            command: "node --watch server.js",
            extra: "on_promote = \"restart\"",
            lib_url: NODE_APP_LIB,
            own_url: NODE_APP_LIB,
            own_file: "server.js",
            proxied: false,
        },
    ]
}

#[test]
fn every_promotion_reaches_the_real_dev_servers() {
    let Some(node_modules) = installed() else {
        return;
    };
    let only = std::env::var("REAL_SERVERS").unwrap_or_default();
    let mut all: Vec<Figures> = Vec::new();
    for case in cases() {
        if !only.is_empty() && !only.split(',').any(|o| case.name.starts_with(o.trim())) {
            continue;
        }
        let figures = run_case(&node_modules, &case);
        eprintln!("real_servers: {figures:?}");
        all.push(figures);
    }
    eprintln!(
        "real_servers: {EDITS} lib edits each, on_promote = \"none\" unless named\n{}",
        Figures::HEADER
    );
    for f in &all {
        eprintln!("{}", f.row());
    }
    for f in &all {
        assert_eq!(f.served, EDITS, "{}: edits missed: {f:?}", f.name);
        assert!(f.errors.is_empty(), "{}: errors: {:?}", f.name, f.errors);
        if f.name == PROXIED_NEXT {
            // Restarted on every promotion, yet the proxy refused nothing.
            let met = f.poller.expect("the proxied case's poller");
            assert!(met.answered > 100, "{}: the poller ran: {met:?}", f.name);
            assert_eq!(
                f.refused + met.refused,
                0,
                "{}: refused or reset: {f:?}",
                f.name
            );
            assert_eq!(
                f.failed + met.failed,
                0,
                "{}: failed requests: {f:?}",
                f.name
            );
            assert_eq!(f.starts, 1 + EDITS as usize, "{}: restarts: {f:?}", f.name);
            eprintln!(
                "real_servers: {}: promoted to new instance serving, median {} ms; \
                 a new connection every 20 ms: {} answered, {} refused or reset, {} failed",
                f.name,
                median(&f.delays_ms),
                met.answered,
                met.refused,
                met.failed
            );
        } else if f.name.starts_with("next") || f.name == "vite" {
            assert_eq!(f.refused, 0, "{}: refused connections: {f:?}", f.name);
            assert_eq!(f.starts, 1, "{}: the server restarted: {f:?}", f.name);
            // The goal: at most its own reload plus 100 ms, median.
            eprintln!(
                "real_servers: {} median {} ms vs own {} ms",
                f.name,
                median(&f.delays_ms),
                median(&f.own_ms)
            );
        }
    }
}

/// Vite in a pane of the TUI (issue 22): on a terminal it prints its
/// shortcut hint and takes its keys once `i` hands it the keyboard; `h`
/// shows its help, `r` restarts its server (its own message), and Ctrl-Z
/// gives the keys back to devloop.
#[test]
fn vite_in_a_pane_shows_its_shortcuts_and_takes_its_keys() {
    let Some(node_modules) = installed() else {
        return;
    };
    let port = common::free_port();
    // Vite binds its shortcuts only where CI is unset or empty.
    let config = format!(
        "[watch]\npaths = [\"libs\"]\n\n[build]\ncommand = \"true\"\n\n\
         [process.vite]\ncommand = \"node {}/vite/bin/vite.js app --port {port} --strictPort\"\nenv = {{ CI = \"\" }}\n",
        node_modules.display()
    );
    let workspace = common::Workspace::new(&config);
    workspace.write("app/index.html", "<h1>devloop</h1>\n");
    let script = common::tmux::devloop_script("", "", &workspace.config());
    let Some(tmux) = common::tmux::Tmux::start("tui", 120, 30, &script) else {
        return;
    };
    tmux.wait_for("tui", "press h + enter to show help");
    tmux.keys("tui", &["Tab", "i"]);
    tmux.wait_for("tui", "keys go to vite");
    tmux.keys("tui", &["h", "Enter"]);
    tmux.wait_for("tui", "press r + enter to restart the server");
    tmux.keys("tui", &["r", "Enter"]);
    tmux.wait_for("tui", "[vite] server restarted.");
    tmux.keys("tui", &["C-z"]);
    tmux.wait_for("tui", "Tab select");
    tmux.keys("tui", &["q"]);
    tmux.wait_for("tui", "EXIT=0");
}
