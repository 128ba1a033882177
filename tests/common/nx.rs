//! The nx fixture shared by the nx end-to-end test, the warm nx test and the
//! warm bench, and the environment every nx run gets there.

/// Two libs built by `@nx/js:tsc`; its package.json pins nx.
pub const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nx-e2e");

/// No daemon, no cloud, no cache (every build really runs), plain output,
/// and plugins loaded in nx's own process (isolated plugin workers add 2-3 s
/// to each build on a loaded 2-core machine).
pub const NX_ENV: [(&str, &str); 8] = [
    ("NX_DAEMON", "false"),
    ("NX_ISOLATE_PLUGINS", "false"),
    ("NX_NO_CLOUD", "true"),
    ("NX_SKIP_NX_CACHE", "true"),
    ("NX_TUI", "false"),
    ("NX_INTERACTIVE", "false"),
    ("CI", "true"),
    ("FORCE_COLOR", "0"),
];
