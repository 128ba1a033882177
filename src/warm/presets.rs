//! The done/failed lines of the watch-mode compilers devloop knows, so that
//! `persistent = true` needs nothing more for them (`check` and `init` say
//! which preset applied).

use regex_automata::meta::Regex;

/// A watch-mode compiler's cycle lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub name: &'static str,
    /// Regex: a compiler starts a cycle. With several compilers in one
    /// command (nx --watch runs one per lib) the cycle ends at the last done.
    pub start: Option<&'static str>,
    /// Regex: the line that ends a cycle.
    pub done: &'static str,
    /// Regex: a line that fails the cycle it is in.
    pub failed: &'static str,
    /// Once the compiler's first cycle ended, only a start line (or a change
    /// devloop saw) opens a cycle: what the tool prints between cycles (a
    /// stack trace after a failure, "watching..." notes) opens none.
    pub only_start_opens: bool,
}

/// tsc's watch reporter (also what nx's `@nx/js:tsc --watch` prints).
const TSC: Preset = Preset {
    name: "tsc --watch",
    start: Some(r"Starting (incremental )?compilation"),
    done: r"Watching for file changes\.",
    failed: r"error TS\d+",
    only_start_opens: false,
};

pub const PRESETS: &[Preset] = &[
    TSC,
    Preset {
        name: "nx @nx/js:tsc --watch",
        ..TSC
    },
    // tsup 8.5: one "<FORMAT> Build start" per format (CJS, ESM, DTS...), each
    // ending at "Build success in" or "Build failed"/"Build error"; after a
    // failure it prints esbuild's error again with a stack trace.
    Preset {
        name: "tsup --watch",
        start: Some(r"^\S+ Build start$"),
        done: r"Build success in \d+|^\S+ Build (failed|error)$",
        failed: r"^\S+ Build (failed|error)$|\[ERROR\]|error TS\d+",
        only_start_opens: true,
    },
    // esbuild 0.27 (on stderr): "[watch] build started (change: ...)", the
    // errors, "[watch] build finished" (also after errors).
    Preset {
        name: "esbuild --watch",
        start: Some(r"^\[watch\] build started"),
        done: r"^\[watch\] build finished",
        failed: r"\[ERROR\]",
        only_start_opens: true,
    },
    // vite 8 (rolldown): "build started...", then "built in 8ms." or, on
    // stderr, "Build failed with 1 error:". vite 7 (rollup) prints no line
    // after an error but the error itself: "[vite:esbuild] Transform failed
    // ..." or "file: <path>:<line>:<column>", which end the cycle too.
    Preset {
        name: "vite build --watch",
        start: Some(r"^build started\.\.\."),
        done: r"built in \d+(\.\d+)?\s*m?s|^Build failed with \d+ error|^\[vite:[\w:-]+\] |^file: \S+:\d+:\d+",
        failed: r"^Build failed with \d+ error|^\[vite:[\w:-]+\] |^file: \S+:\d+:\d+|^error during build",
        only_start_opens: true,
    },
];

/// How long the output must be left alone after a cycle's `done` before it
/// is staged: nx's `@nx/js:tsc` writes each lib's package.json a few
/// milliseconds after tsc's done line, silently, and a cycle promoted
/// without it breaks `require` of the lib (Node caches the miss).
pub fn settle(preset: Option<&str>) -> std::time::Duration {
    match preset {
        Some("nx @nx/js:tsc --watch") => std::time::Duration::from_millis(100),
        _ => std::time::Duration::ZERO,
    }
}

/// Compiles a done/failed regex. Classes are ASCII (`\d`, `\w`): no
/// Unicode tables are linked in, and the lines matched are ASCII where it counts.
pub fn compile(pattern: &str) -> Result<Regex, Box<regex_automata::meta::BuildError>> {
    let syntax = regex_automata::util::syntax::Config::new()
        .unicode(false)
        .utf8(false);
    Regex::builder()
        .syntax(syntax)
        .build(pattern)
        .map_err(Box::new)
}

/// The preset for a command, when its tool is one of the known compilers
/// and it runs in watch mode.
pub fn preset_for(command: &str) -> Option<&'static Preset> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let watching = words
        .iter()
        .any(|w| *w == "-w" || *w == "--watch" || w.starts_with("--watch="));
    if !watching {
        return None;
    }
    let tool = |name: &str| {
        words
            .iter()
            .any(|w| w.rsplit('/').next() == Some(name) || w.starts_with(&format!("{name}@")))
    };
    let index = if tool("tsc") {
        0
    } else if tool("nx") {
        1
    } else if tool("tsup") {
        2
    } else if tool("esbuild") {
        3
    } else if tool("vite") && words.contains(&"build") {
        4
    } else {
        return None;
    };
    Some(&PRESETS[index])
}

/// A file the compiler writes after each `done` line, without a line of its
/// own: nx's `@nx/js:tsc` writes each lib's package.json in its
/// post-compilation callback. The staging waits for one per `done`.
pub fn written_after_done(preset: Option<&str>) -> Option<&'static str> {
    match preset {
        Some("nx @nx/js:tsc --watch") => Some("package.json"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(command: &str) -> Option<&'static str> {
        preset_for(command).map(|p| p.name)
    }

    #[test]
    fn commands_find_their_preset_only_in_watch_mode() {
        assert_eq!(name("tsc -b -w"), Some("tsc --watch"));
        assert_eq!(name("npx tsc --build --watch"), Some("tsc --watch"));
        assert_eq!(
            name("node_modules/.bin/tsc -w -p libs"),
            Some("tsc --watch")
        );
        assert_eq!(name("tsc -b"), None, "a cold tsc is no warm build");
        assert_eq!(
            name("pnpm nx run-many -t build --watch"),
            Some("nx @nx/js:tsc --watch")
        );
        assert_eq!(name("tsup --watch"), Some("tsup --watch"));
        assert_eq!(
            name("esbuild src/index.ts --bundle --watch=forever"),
            Some("esbuild --watch")
        );
        assert_eq!(name("vite build --watch"), Some("vite build --watch"));
        assert_eq!(name("vite --watch"), None, "the dev server is not a build");
        assert_eq!(name("make watch -w"), None);
    }

    /// Lines as the tools print them (tsc 5.9, tsup 8.5, esbuild 0.27,
    /// vite 8.3 and 7.3), colours stripped; the `bool`s: done, failed.
    #[test]
    fn presets_match_the_tools_lines() {
        let cases: &[(usize, &str, bool, bool)] = &[
            (
                0,
                "[9:41:07 AM] Found 0 errors. Watching for file changes.",
                true,
                false,
            ),
            (
                0,
                "libs/a/src/index.ts(3,7): error TS2322: Type 'string' is not assignable",
                false,
                true,
            ),
            (
                0,
                "[9:41:05 AM] File change detected. Starting incremental compilation...",
                false,
                false,
            ),
            (2, "CJS \u{26a1}\u{fe0f} Build success in 12ms", true, false),
            (2, "CJS Build failed", true, true),
            (2, "DTS Build error", true, true),
            (2, "Error: Build failed with 1 error:", false, false),
            (2, "CLI Watching for changes in \"libs\"", false, false),
            (
                3,
                "[watch] build finished, watching for changes...",
                true,
                false,
            ),
            (3, "[watch] build finished", true, false),
            (3, "\u{2718} [ERROR] Unexpected \";\"", false, true),
            (
                3,
                "[watch] build started (change: \"src/a.ts\")",
                false,
                false,
            ),
            (4, "built in 312ms.", true, false),
            (4, "Build failed with 1 error:", true, true),
            (
                4,
                "[vite:esbuild] Transform failed with 1 error:",
                true,
                true,
            ),
            (4, "file: /w/libs/a/src/index.ts:1:29", true, true),
            (4, "build started...", false, false),
            (4, "watching for file changes...", false, false),
        ];
        for &(index, line, done, failed) in cases {
            let preset = &PRESETS[index];
            let done_re = compile(preset.done).expect("done compiles");
            let failed_re = compile(preset.failed).expect("failed compiles");
            assert_eq!(
                done_re.is_match(line),
                done,
                "{}: done on {line}",
                preset.name
            );
            assert_eq!(
                failed_re.is_match(line),
                failed,
                "{}: failed on {line}",
                preset.name
            );
        }
        let starts: &[(usize, &str)] = &[
            (2, "CJS Build start"),
            (2, "DTS Build start"),
            (3, "[watch] build started (change: \"libs/a/src/index.ts\")"),
            (4, "build started..."),
        ];
        for &(index, line) in starts {
            let start = compile(PRESETS[index].start.unwrap()).unwrap();
            assert!(
                start.is_match(line),
                "{}: start on {line}",
                PRESETS[index].name
            );
        }
        let start = compile(PRESETS[2].start.unwrap()).unwrap();
        assert!(!start.is_match("CLI Building entry: libs/a/src/index.ts"));
    }
}
