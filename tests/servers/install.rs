//! The pinned packages of `tests/fixtures/real-servers/package.json`,
//! installed once per manifest and lockfile into
//! `target/tmp/real-servers-cache/<hash>` by tests/common/npm.rs, once node is
//! new enough for them.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The cache's node_modules, or None (with the reason printed) when node
/// or npm cannot be found.
pub fn installed() -> Option<PathBuf> {
    let (Ok(node), Ok(_)) = (which::which("node"), which::which("npm")) else {
        eprintln!(
            "SKIPPED real_servers: node and npm are needed on PATH to install and run the \
             real dev servers (Node.js 20.19+); the test passes without running"
        );
        return None;
    };
    // Vite 7 needs node 20.19 or later.
    let version = Command::new(&node).arg("--version").output().ok()?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    let mut parts = version
        .trim_start_matches('v')
        .split('.')
        .map(|p| p.parse().unwrap_or(0));
    let (major, minor): (u32, u32) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < (20, 19) {
        eprintln!(
            "SKIPPED real_servers: node {version} is older than 20.19, which Vite 7 and \
             Next.js 16 need; the test passes without running"
        );
        return None;
    }
    // `.bin/tsx` stands for all three: the cache is renamed into place whole.
    crate::npm::installed(Path::new(super::FIXTURE), "real-servers-cache", "tsx")
}
