//! Random input to the configuration reader and the stdin command parser:
//! never a panic, and every configuration error has a line and column.

use devloop::config::Config;
use devloop::event::Command;
use proptest::prelude::*;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

const GOOD: &str = r#"[watch]
paths = ["libs"]
include = ["**/*.ts"]
debounce = "300ms"

[build]
command = "true"
output = "tmp/out"
timeout = "2m"

[promote]
target = "dist/libs"
keep = 2
auto_rollback = "20s"

[process.api]
command = "true"
after = ["build"]
health = { tcp = 3000, interval = "500ms", timeout = "1s", retries = 2 }
stop_timeout = "5s"
"#;

/// One workspace for every case: each writes its own file name.
static WORKSPACE: LazyLock<tempfile::TempDir> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("libs")).unwrap();
    dir
});

/// Writes `bytes` as watch.toml and loads it: Ok, or an error with a place.
fn load(bytes: &[u8]) -> Result<(), TestCaseError> {
    static CASE: AtomicU64 = AtomicU64::new(0);
    let n = CASE.fetch_add(1, Ordering::Relaxed);
    let file = WORKSPACE.path().join(format!("watch-{n}.toml"));
    std::fs::write(&file, bytes).unwrap();
    if let Err(error) = Config::load(&file) {
        prop_assert!(error.location.is_some(), "unlocated: {error}");
    }
    let _ = std::fs::remove_file(&file);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        load(&bytes)?;
    }

    /// A good file with a span replaced by random text: deep into validation.
    #[test]
    fn a_good_file_mutated(at in 0..GOOD.len(), len in 0usize..12, with in ".{0,12}") {
        let mut text = GOOD.as_bytes()[..at].to_vec();
        text.extend_from_slice(with.as_bytes());
        text.extend_from_slice(&GOOD.as_bytes()[(at + len).min(GOOD.len())..]);
        load(&text)?;
    }

    #[test]
    fn stdin_commands(line in "\\PC{0,40}") {
        let _ = Command::parse_line(&line);
    }
}
