//! No text makes the configuration reader panic: truncations and byte
//! changes of a full configuration all give a config or a located error.

use super::*;

const FULL: &str = r#"[watch]
paths = ["libs"]
include = ["**/*.{ts,json}"]
exclude = ["*.spec.ts"]
debounce = "300ms"
[build]
command = "sh -c true"
output = "tmp/out"
timeout = "2m"
on_change = "queue"
[promote]
target = "dist/libs"
keep = 2
require = ["a/index.js"]
[process.api]
command = "sh server.js"
env = { PORT = 3001 }
after = ["build"]
restart = "always"
on_promote = "signal:HUP"
port = 3001
health = { http = "http://127.0.0.1:3001/", interval = "1s", timeout = "1s", retries = 2 }
stop_signal = "SIGTERM"
stop_timeout = "1s"
[process.web]
command = "true"
after = ["api"]
[ui]
scrollback = 100
"#;

fn parse(text: &str) -> Result<Config, ConfigError> {
    let dir = std::env::temp_dir().join(format!("devloop-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("libs")).unwrap();
    Config::parse(&dir.join("watch.toml"), text)
}

#[test]
fn the_full_example_parses() {
    let config = parse(FULL).unwrap();
    assert_eq!(config.processes.len(), 2);
    assert_eq!(config.processes[0].name, "api");
}

#[test]
fn truncations_never_panic() {
    for end in (0..=FULL.len()).filter(|&i| FULL.is_char_boundary(i)) {
        if let Err(error) = parse(&FULL[..end]) {
            assert!(!error.message.is_empty());
        }
    }
}

#[test]
fn byte_changes_never_panic() {
    let bytes = FULL.as_bytes();
    for at in 0..bytes.len() {
        for replacement in [b'"', b'[', b'=', b'\n', b'0', b'.', b'}', 0xC3] {
            let mut changed = bytes.to_vec();
            changed[at] = replacement;
            let text = String::from_utf8_lossy(&changed);
            if let Err(error) = parse(&text) {
                assert!(!error.to_string().is_empty());
            }
        }
    }
}
