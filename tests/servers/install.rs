//! The pinned packages of `tests/fixtures/real-servers/package.json`,
//! installed once per manifest and lockfile into
//! `target/tmp/real-servers-cache/<hash>` (as the nx end-to-end test does).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The cache's node_modules, or None (with the reason printed) when node
/// or npm cannot be found.
pub fn installed() -> Option<PathBuf> {
    let (Ok(node), Ok(npm)) = (which::which("node"), which::which("npm")) else {
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
    let manifest = std::fs::read(Path::new(super::FIXTURE).join("package.json")).expect("manifest");
    let lock = std::fs::read(Path::new(super::FIXTURE).join("package-lock.json")).expect("lock");
    let key = format!("{:016x}", fnv1a(&[&manifest, &lock]));
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("real-servers-cache");
    let done = cache.join(&key);
    let node_modules = done.join("node_modules");
    let ready = |nm: &Path| {
        ["next", "vite", "tsx"]
            .iter()
            .all(|p| nm.join(p).join("package.json").exists())
    };
    if ready(&node_modules) {
        return Some(node_modules);
    }
    // Installed beside and renamed into place: never a partial cache.
    let staging = cache.join(format!("{key}.partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).expect("create the npm cache directory");
    std::fs::write(staging.join("package.json"), &manifest).expect("write package.json");
    std::fs::write(staging.join("package-lock.json"), &lock).expect("write package-lock.json");
    eprintln!("real_servers: npm install into {}", staging.display());
    let started = Instant::now();
    // `npm install`, not `npm ci`: the lockfile pins every version but lists
    // only the platform packages the registry had when it was made.
    let output = Command::new(npm)
        .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&staging)
        .env("npm_config_update_notifier", "false")
        .stdin(Stdio::null())
        .output()
        .expect("run npm install");
    assert!(
        output.status.success(),
        "npm install failed in {}: {}{}",
        staging.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("real_servers: npm install took {:.1?}", started.elapsed());
    if std::fs::rename(&staging, &done).is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    assert!(
        ready(&node_modules),
        "npm install did not install the servers into {}",
        node_modules.display()
    );
    Some(node_modules)
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
