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
}

/// tsc's watch reporter (also what nx's `@nx/js:tsc --watch` prints).
const TSC: Preset = Preset {
    name: "tsc --watch",
    start: Some(r"Starting (incremental )?compilation"),
    done: r"Watching for file changes\.",
    failed: r"error TS\d+",
};

pub const PRESETS: &[Preset] = &[
    TSC,
    Preset {
        name: "nx @nx/js:tsc --watch",
        ..TSC
    },
    Preset {
        name: "tsup --watch",
        start: None,
        done: r"Build success in \d+",
        failed: r"Build failed|error TS\d+",
    },
    Preset {
        name: "esbuild --watch",
        start: None,
        done: r"\[watch\] build finished",
        failed: r"\[ERROR\]",
    },
    // Rollup's watcher prints no "built in" line after an error, so the
    // error line ends the cycle too.
    Preset {
        name: "vite build --watch",
        start: None,
        done: r"built in \d+(\.\d+)?\s*m?s|error during build|Build failed",
        failed: r"error during build|Build failed|RollupError|\[vite\]: Rollup failed",
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
pub fn compile(pattern: &str) -> Result<Regex, String> {
    let syntax = regex_automata::util::syntax::Config::new()
        .unicode(false)
        .utf8(false);
    Regex::builder()
        .syntax(syntax)
        .build(pattern)
        .map_err(|e| e.to_string())
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

    /// Lines as the tools print them (tsc 5.9, esbuild 0.25, tsup 8, vite 6).
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
            (2, "ESM ⚡️ Build success in 12ms", true, false),
            (2, "ESM Build failed", false, true),
            (
                3,
                "[watch] build finished, watching for changes...",
                true,
                false,
            ),
            (3, "✘ [ERROR] Expected \";\" but found \"}\"", false, true),
            (
                3,
                "[watch] build started (change: \"src/a.ts\")",
                false,
                false,
            ),
            (4, "✓ built in 312ms.", true, false),
            (4, "built in 1.20 s", true, false),
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
    }
}
