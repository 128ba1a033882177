//! Which process commands cannot see a promotion by themselves, so need
//! `on_promote = "restart"`: read from the command's words, for `check` and
//! `init`. Measured in tests/real_servers.rs; see docs/promotion.md.

/// Dev tools run as `node <path to their script>` that do watch their
/// imports: such a command is not a plain node server.
const WATCHING_TOOLS: [&str; 9] = [
    "next",
    "vite",
    "tsx",
    "nodemon",
    "nx",
    "webpack",
    "rspack",
    "ts-node-dev",
    "astro",
];

/// Why the process run by `command` needs `on_promote = "restart"`, or None
/// when it is not known to (it watches its imports, or the command does not
/// tell).
pub fn restart_reason(command: &str) -> Option<&'static str> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
    let at = words
        .iter()
        .position(|w| matches!(base(w).as_str(), "node" | "ts-node" | "nest"))?;
    let program = base(words[at]);
    let rest = &words[at + 1..];
    let watch = rest.iter().any(|w| w.starts_with("--watch") || *w == "-w");
    match program.as_str() {
        "nest" if rest.first() == Some(&"start") => Some(if watch {
            "`nest start --watch` watches the app's own sources, not the libraries it imports (nestjs/nest#15098)"
        } else {
            "`nest start` loads the libraries once and never reloads them"
        }),
        "node" if watch => Some(
            "`node --watch` stops watching a file once it is replaced (nodejs/node#51621), so it misses promotions",
        ),
        "node" => {
            let script = rest.iter().find(|w| !w.starts_with('-'))?;
            let name = base(script);
            let stem = name.split('.').next().unwrap_or_default();
            let tool = script.contains("node_modules") || WATCHING_TOOLS.contains(&stem);
            (!tool)
                .then_some("a plain `node` server loads the libraries once and never reloads them")
        }
        "ts-node" => {
            Some("a plain `ts-node` server loads the libraries once and never reloads them")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::restart_reason;

    #[test]
    fn servers_that_cannot_see_a_promotion_are_named() {
        for needs in [
            "node --watch server.js",
            "node --watch-path=src dist/main.js",
            "env PORT=3000 node server.js",
            "/usr/bin/node dist/apps/api/main.js",
            "npx ts-node src/main.ts",
            "nest start --watch",
            "npx nest start",
        ] {
            assert!(restart_reason(needs).is_some(), "{needs}");
        }
        for fine in [
            "next dev",
            "vite",
            "tsx watch server.ts",
            "node node_modules/next/dist/bin/next dev",
            "node ../../node_modules/vite/bin/vite.js --port 3000",
            "npx nx serve web",
            "npm run dev",
            "node",
            "nest build",
        ] {
            assert_eq!(restart_reason(fine), None, "{fine}");
        }
    }
}
