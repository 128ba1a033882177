//! npm packages for tests with real tools: a fixture's package.json and
//! lockfile installed once into `target/tmp/<name>/<hash>` (renamed into
//! place whole, so an interrupted run never leaves half a cache), then
//! linked into each temporary workspace.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// node_modules of `fixture`'s pinned packages, or None (with a note) when
/// node or npm cannot be found. `bin` must exist in node_modules/.bin.
pub fn installed(fixture: &Path, cache_name: &str, bin: &str) -> Option<PathBuf> {
    // Tests of one binary install one at a time (the staging name is per process).
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _installing = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let (Ok(_), Ok(npm)) = (which::which("node"), which::which("npm")) else {
        eprintln!("SKIPPED: node and npm are needed on PATH for this test with real tools");
        return None;
    };
    let manifest = std::fs::read(fixture.join("package.json")).expect("package.json");
    let lock = std::fs::read(fixture.join("package-lock.json")).expect("package-lock.json");
    let key = format!("{:016x}", fnv1a(&[&manifest, &lock]));
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join(cache_name);
    let done = cache.join(&key);
    let node_modules = done.join("node_modules");
    if node_modules.join(".bin").join(bin).exists() {
        return Some(node_modules);
    }
    let staging = cache.join(format!("{key}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).expect("create the npm cache directory");
    std::fs::write(staging.join("package.json"), &manifest).unwrap();
    std::fs::write(staging.join("package-lock.json"), &lock).unwrap();
    let output = Command::new(npm)
        .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&staging)
        .env("npm_config_update_notifier", "false")
        .stdin(Stdio::null())
        .output()
        .expect("run npm install");
    assert!(
        output.status.success(),
        "npm install failed in {}: {}",
        staging.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    if std::fs::rename(&staging, &done).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    assert!(
        node_modules.join(".bin").join(bin).exists(),
        "npm did not install {bin}"
    );
    Some(node_modules)
}

/// Copies a fixture's files (not its package files) into `to`, and links
/// `node_modules` there.
pub fn workspace_from(fixture: &Path, to: &Path, node_modules: &Path) {
    copy_dir(fixture, to);
    std::os::unix::fs::symlink(node_modules, to.join("node_modules")).expect("link node_modules");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name();
        if name == "package.json" || name == "package-lock.json" || name == "node_modules" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for part in parts {
        for byte in part.iter().chain(b"\0") {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}
