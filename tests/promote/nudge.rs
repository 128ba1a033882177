//! The nudge (issue 9): after a promotion, a watcher holding an inode of any
//! older tree gets an event for each changed path, as the dev servers'
//! watchers need (chokidar and `fs.watch` hold file inodes and re-watch by
//! path; watchpack holds directory inodes). Real inotify watches, read
//! without blocking once `promote` has returned: the events are queued by
//! then.
//!
//! Linux only: it reads inotify itself. On macOS the dev servers' watchers
//! sit on FSEvents/kqueue, and the nudge's `utimes` is what they report as a
//! change there too, but no test here can run one.
#![cfg(target_os = "linux")]

use std::mem::MaybeUninit;
use std::os::fd::OwnedFd;
use std::path::Path;

use crate::promote_common::{write, ws};
use devloop::promote::{promote, rollback};
use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};

const FILE: &str = "shared/src/index.js";

fn watcher() -> OwnedFd {
    inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC).expect("inotify")
}

fn watch(fd: &OwnedFd, path: &Path) -> i32 {
    let flags = WatchFlags::ATTRIB | WatchFlags::MODIFY | WatchFlags::CREATE | WatchFlags::DELETE;
    inotify::add_watch(fd, path, flags).expect("add watch")
}

/// The queued events: (watch, flags, name).
fn events(fd: &OwnedFd) -> Vec<(i32, ReadFlags, String)> {
    let mut buf = [MaybeUninit::uninit(); 8192];
    let mut reader = inotify::Reader::new(fd, &mut buf);
    let mut out = Vec::new();
    while let Ok(e) = reader.next() {
        let name = e.file_name().map(|n| n.to_string_lossy().into_owned());
        out.push((e.wd(), e.events(), name.unwrap_or_default()));
    }
    out
}

fn heard(events: &[(i32, ReadFlags, String)], wd: i32) -> bool {
    events.iter().any(|(w, _, _)| *w == wd)
}

#[test]
fn watchers_of_the_replaced_tree_hear_of_changed_files_only() {
    let w = ws();
    w.build("v1");
    promote(&w.spec(3)).unwrap();
    let fd = watcher();
    let file = watch(&fd, &w.target.join(FILE));
    let dir = watch(&fd, &w.target.join("shared/src"));
    let same = watch(&fd, &w.target.join("shared/package.json"));
    assert!(events(&fd).is_empty());

    w.build("v2"); // rewrites every file; package.json keeps its bytes
    promote(&w.spec(3)).unwrap();
    let seen = events(&fd);
    assert!(
        heard(&seen, file),
        "the old file inode heard nothing: {seen:?}"
    );
    assert!(
        seen.iter()
            .any(|(wd, _, name)| *wd == dir && name == "index.js"),
        "the old directory inode heard nothing of index.js: {seen:?}"
    );
    assert!(
        !heard(&seen, same),
        "an unchanged file was touched: {seen:?}"
    );
}

/// Thirty promotions cycling three values with keep = 1 (the spare holds
/// the value of three promotions ago, so the staged copy is often reused):
/// a file watcher that re-watches the path's inode after each event (as
/// chokidar does) and a directory watcher that keeps its first inode (as
/// watchpack does) both hear of every promotion, and of a rollback.
#[test]
fn every_promotion_reaches_watchers_whatever_tree_they_hold() {
    let w = ws();
    write(&w.out, FILE, "export const v = 'A';\n");
    write(&w.out, "shared/src/other.js", "// unchanged\n");
    promote(&w.spec(1)).unwrap();
    let fd = watcher();
    let mut file = watch(&fd, &w.target.join(FILE));
    let dir = watch(&fd, &w.target.join("shared/src"));
    for round in 0..30 {
        let value = ["B", "C", "A"][round % 3];
        write(&w.out, FILE, &format!("export const v = '{value}';\n"));
        promote(&w.spec(1)).unwrap();
        let seen = events(&fd);
        assert!(
            heard(&seen, file),
            "round {round}: the file watcher heard nothing"
        );
        assert!(
            heard(&seen, dir),
            "round {round}: the directory watcher heard nothing"
        );
        // Re-watch by path, as chokidar does when the inode changed.
        let _ = inotify::remove_watch(&fd, file);
        let _ = events(&fd);
        file = watch(&fd, &w.target.join(FILE));
    }
    rollback(&w.target).unwrap();
    let seen = events(&fd);
    assert!(
        heard(&seen, file),
        "rollback: the file watcher heard nothing"
    );
    assert!(
        heard(&seen, dir),
        "rollback: the directory watcher heard nothing"
    );
}

#[test]
fn added_and_removed_files_reach_the_old_directory() {
    let w = ws();
    write(&w.out, "shared/a.js", "a\n");
    promote(&w.spec(2)).unwrap();
    let fd = watcher();
    let dir = watch(&fd, &w.target.join("shared"));
    write(&w.out, "shared/b.js", "b\n");
    promote(&w.spec(2)).unwrap();
    assert!(heard(&events(&fd), dir), "an added file went unheard");
    std::fs::remove_file(w.out.join("shared/a.js")).unwrap();
    promote(&w.spec(2)).unwrap();
    assert!(heard(&events(&fd), dir), "a removed file went unheard");
}

/// A rebuild that rewrites every file (new times), one of them with new
/// bytes, after copies old enough to be trusted by size and time: only the
/// file whose bytes changed is nudged (the recycled and the previous copy
/// are twins, so one compare answers for both).
#[test]
fn a_rebuild_with_same_bytes_nudges_only_what_changed() {
    let w = ws();
    let build = |same: &str, changed: &str, age_s: u64| {
        write(&w.out, "shared/src/same.js", same);
        write(&w.out, FILE, changed);
        let when = std::time::SystemTime::now() - std::time::Duration::from_secs(age_s);
        for rel in ["shared/src/same.js", FILE] {
            let f = std::fs::File::options()
                .write(true)
                .open(w.out.join(rel))
                .unwrap();
            f.set_modified(when).unwrap();
        }
    };
    build("// same\n", "export const v = 1;\n", 100);
    for _ in 0..3 {
        promote(&w.spec(1)).unwrap();
    }
    let fd = watcher();
    let same = watch(&fd, &w.target.join("shared/src/same.js"));
    let changed = watch(&fd, &w.target.join(FILE));
    build("// same\n", "export const v = 2;\n", 50);
    promote(&w.spec(1)).unwrap();
    let seen = events(&fd);
    assert!(
        heard(&seen, changed),
        "the changed file heard nothing: {seen:?}"
    );
    assert!(
        !heard(&seen, same),
        "a file with the same bytes was nudged: {seen:?}"
    );
    assert_eq!(
        std::fs::read_to_string(w.target.join(FILE)).unwrap(),
        "export const v = 2;\n"
    );
}
