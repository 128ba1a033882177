//! The nx 23 workspace of `tests/fixtures/nx23-apps` as `tests/nx_serve.rs`
//! and `benches/nx_serve.rs` run it: installed once per machine, copied into
//! the install's folder, its apps polled on fresh connections, its lib
//! edited, its promote target watched for writes that are not promotions.
#![allow(dead_code)]

use crate::common::{Workspace, free_port};
use crate::npm;
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nx23-apps");
pub const ON_SOURCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/nx23-apps-on-source/apps"
);
/// One app of the fixture, on the port watch.toml gives it.
pub struct App {
    pub name: &'static str,
    pub port: u16,
    pub path: &'static str,
}

pub fn installed() -> Option<PathBuf> {
    let started = Instant::now();
    let node_modules = npm::installed(Path::new(FIXTURE), "nx23-apps-cache", "nx")?;
    eprintln!(
        "nx_serve: packages ready in {:.1?} at {}",
        started.elapsed(),
        node_modules.display()
    );
    Some(node_modules)
}

/// `devloop ARGS` in the workspace; its stdout (exit 0 asserted).
pub fn devloop_in(ws: &Workspace, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_devloop"))
        .args(args)
        .current_dir(ws.path())
        .env("NX_NO_CLOUD", "true")
        .output()
        .expect("run devloop");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "devloop {args:?}: {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("nx_serve: devloop {}:\n{stdout}", args.join(" "));
    stdout
}

/// The apps and their ports, from the watch.toml init wrote.
pub fn apps_of(ws: &Workspace) -> Vec<App> {
    let config: toml::Table = toml::from_str(&ws.read("watch.toml")).expect("watch.toml");
    ["api", "nest", "web"]
        .into_iter()
        .map(|name| {
            let port = config["process"][name]["port"]
                .as_integer()
                .unwrap_or_else(|| panic!("{name} has no port in watch.toml"));
            App {
                name,
                port: u16::try_from(port).unwrap(),
                path: "/api/libs",
            }
        })
        .collect()
}

/// A type error in the lib that edit `n` rewrites (alpha for odd `n`, beta
/// for even): devloop's build fails, and the apps must never serve it (an
/// app on the libs' source would: `alpha=typo7`). Edit `n` fixes it.
pub fn break_lib(root: &Path, n: u32) {
    let (lib, constant) = lib_of(n);
    std::fs::write(
        root.join(format!("libs/{lib}/src/value.ts")),
        format!("// tests/nx_serve.rs rewrites this line.\nexport const {constant}: number = \"typo\" + 7;\n"),
    )
    .expect("edit the lib");
}

fn lib_of(n: u32) -> (&'static str, &'static str) {
    if n % 2 == 1 {
        ("alpha", "ALPHA")
    } else {
        ("beta", "BETA")
    }
}

/// The workspace: the fixture (with its libs' and apps' package files; with
/// the apps on the libs' source when `on_source`), inside the package cache
/// so that Next.js's Turbopack, whose root is the folder of the nearest
/// lockfile, finds node_modules within its root; `node_modules` linked for
/// `npx` and nx. The apps' default ports are moved to free ones (init reads
/// them from each main.ts); no watch.toml yet.
pub fn workspace(node_modules: &Path, on_source: bool) -> Workspace {
    let cache = node_modules.parent().expect("cache dir");
    let ws = Workspace::new_in(cache, "");
    std::fs::remove_file(ws.config()).unwrap();
    copy_fixture(Path::new(FIXTURE), ws.path());
    if on_source {
        copy_fixture(Path::new(ON_SOURCE), &ws.path().join("apps"));
    }
    std::os::unix::fs::symlink(node_modules, ws.path().join("node_modules"))
        .expect("link node_modules");
    for (app, default) in [("api", "3333"), ("nest", "3000")] {
        let main = format!("apps/{app}/src/main.ts");
        let text = ws.read(&main);
        assert!(text.contains(default), "{main} has no {default}");
        ws.write(&main, &text.replace(default, &free_port().to_string()));
    }
    ws
}

/// The value every app serves after edit `n` (0: the fixture's).
pub fn expected(n: u32) -> String {
    // Odd edits change alpha, even ones beta, to 100 + n.
    let alpha = (1..=n).rev().find(|k| k % 2 == 1).map_or(1, |k| 100 + k);
    let beta = (1..=n).rev().find(|k| k % 2 == 0).map_or(1, |k| 100 + k);
    format!("alpha={alpha} alpha={alpha} beta={beta}")
}

pub fn apply_edit(root: &Path, n: u32) {
    let (lib, constant) = lib_of(n);
    std::fs::write(
        root.join(format!("libs/{lib}/src/value.ts")),
        format!(
            "// tests/nx_serve.rs rewrites this line.\nexport const {constant}: number = {};\n",
            100 + n
        ),
    )
    .expect("edit the lib");
}

/// Copies the fixture without its lockfile (whose folder Turbopack would
/// take as its root) or node_modules.
pub fn copy_fixture(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name();
        if name == "package-lock.json" || name == "node_modules" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_fixture(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

/// What one app answered.
#[derive(Default)]
pub struct Polled {
    pub answered: usize,
    /// Connections refused, and connections reset or closed before a whole
    /// answer, each with the wall-clock time (ms since the epoch) it happened.
    pub refused: usize,
    pub reset: usize,
    pub troubles: Vec<(u128, &'static str)>,
    pub failed: usize,
    /// The poller saw `stop` and polls no more.
    pub done: bool,
    pub samples: Vec<String>,
    /// The last good body's value, and each change of it with its time.
    pub last: Option<String>,
    pub changes: Vec<(Instant, String)>,
}

/// Polls `port` on a fresh connection every 50 ms until `stop`.
pub fn poll(port: u16, path: &'static str, stop: Arc<AtomicBool>) -> Arc<Mutex<Polled>> {
    let polled = Arc::new(Mutex::new(Polled::default()));
    let shared = polled.clone();
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            let got = get(port, path);
            let mut p = shared.lock().unwrap();
            match got {
                Got::Refused => {
                    p.refused += 1;
                    p.troubles.push((epoch_ms(), "refused"));
                }
                Got::Reset => {
                    p.reset += 1;
                    p.troubles.push((epoch_ms(), "reset"));
                }
                Got::Body(raw) => {
                    p.answered += 1;
                    let ok = raw.starts_with("HTTP/1.1 200") || raw.starts_with("HTTP/1.0 200");
                    let value = raw
                        .split("\r\n\r\n")
                        .nth(1)
                        .and_then(|body| body.lines().find(|l| l.starts_with("alpha=")))
                        .map(str::trim)
                        .map(str::to_string);
                    match (ok, value) {
                        (true, Some(value)) => {
                            if p.last.as_ref() != Some(&value) {
                                p.changes.push((Instant::now(), value.clone()));
                                p.last = Some(value);
                            }
                        }
                        _ => {
                            p.failed += 1;
                            if p.samples.len() < 5 {
                                p.samples.push(raw.chars().take(300).collect());
                            }
                        }
                    }
                }
            }
            drop(p);
            std::thread::sleep(Duration::from_millis(50));
        }
        shared.lock().unwrap().done = true;
    });
    polled
}

pub enum Got {
    Body(String),
    Refused,
    /// Reset, or closed before any byte of an answer.
    Reset,
}

/// One GET on a fresh connection.
pub fn get(port: u16, path: &str) -> Got {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return Got::Refused;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return Got::Reset;
    }
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw) {
        Ok(_) if !raw.is_empty() => Got::Body(String::from_utf8_lossy(&raw).into_owned()),
        _ => Got::Reset,
    }
}

pub fn epoch_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

/// Watches `target` every 20 ms: a file or directory under it whose inode,
/// size or mtime changed while `target` itself is the same directory (no
/// swap happened) is a write that is not a promotion. (A promotion swaps
/// `target` whole; the nudge after it rewrites times to the values they
/// had, so mtimes do not change.)
pub fn watch_target(target: PathBuf, stop: Arc<AtomicBool>) -> Arc<Mutex<Vec<String>>> {
    let found = Arc::new(Mutex::new(Vec::new()));
    let shared = found.clone();
    std::thread::spawn(move || {
        let mut before: Option<Tree> = None;
        while !stop.load(Ordering::SeqCst) {
            if let Some(now) = snapshot(&target) {
                if let Some((ino, files)) = &before
                    && *ino == now.0
                    && *files != now.1
                {
                    let changed: Vec<String> = now
                        .1
                        .keys()
                        .chain(files.keys())
                        .filter(|k| now.1.get(*k) != files.get(*k))
                        .take(5)
                        .map(|k| k.display().to_string())
                        .collect();
                    shared.lock().unwrap().push(changed.join(" "));
                }
                before = Some(now);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    found
}

pub type Tree = (u64, BTreeMap<PathBuf, (u64, i64, i64, u64)>);

/// `target`'s inode and (inode, mtime, mtime ns, size) of everything under
/// it; None when a swap happened while it was read, or it is missing.
pub fn snapshot(target: &Path) -> Option<Tree> {
    let top = std::fs::metadata(target).ok()?.ino();
    let mut files = BTreeMap::new();
    let mut dirs = vec![target.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path).ok()?;
            if meta.is_dir() {
                dirs.push(path.clone());
            }
            let relative = path.strip_prefix(target).unwrap().to_path_buf();
            files.insert(
                relative,
                (meta.ino(), meta.mtime(), meta.mtime_nsec(), meta.size()),
            );
        }
    }
    (std::fs::metadata(target).ok()?.ino() == top).then_some((top, files))
}

/// Processes whose working directory is in `root` (nx, node, next...).
pub fn processes_in(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !crate::common::alive(pid) {
            continue;
        }
        if let Ok(cwd) = std::fs::read_link(format!("/proc/{pid}/cwd"))
            && cwd.starts_with(root)
        {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            found.push(format!(
                "{pid} {}",
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            ));
        }
    }
    found
}

/// The warm build init offers, taken as its comment says: its lines
/// uncommented over the cold command.
pub fn take_warm_offer(ws: &Workspace) {
    let file = ws.read("watch.toml");
    let taken: Vec<&str> = file
        .lines()
        .filter(|l| !l.starts_with("command = \"npx nx run-many"))
        .map(|l| match l.strip_prefix("# ") {
            Some(rest)
                if rest.starts_with("command = \"npx nx run ")
                    || rest.starts_with("persistent")
                    || rest.starts_with("timeout") =>
            {
                rest
            }
            _ => l,
        })
        .collect();
    ws.write("watch.toml", &taken.join("\n"));
}
