//! Hostile attach clients (issue 23): random bytes, a frame header that
//! announces 4 GiB, half a hello then silence, 1,000 connections opened and
//! held, and a viewer that never reads through a 400,000-line flood (twice
//! what its queue and socket take). Each
//! is dropped with a note in devloop's output (a few notes, however many
//! clients), devloop's memory stays bounded, a command typed meanwhile is
//! taken at once (the time is printed), and a well-behaved viewer sees
//! everything to the end.

use crate::common::noise::noise;
use crate::common::{Devloop, Workspace, config_with_build};
use devloop::event::Event;
use devloop::share::frame::Reader;
use devloop::share::protocol::Message;
use serde_json::{Value, json};
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn socket(workspace: &Workspace) -> std::path::PathBuf {
    workspace.path().join(".devloop/attach.sock")
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A viewer that reads every frame on a thread; the build numbers it saw
/// finish, until `stop`.
fn good_viewer(workspace: &Workspace, stop: Arc<AtomicBool>) -> Arc<Mutex<Vec<u64>>> {
    let mut stream = UnixStream::connect(socket(workspace)).expect("connect");
    stream.write_all(b"view\n").unwrap();
    let finished = Arc::new(Mutex::new(Vec::new()));
    let seen = finished.clone();
    std::thread::spawn(move || {
        let mut frames = Reader::new(stream);
        while !stop.load(Ordering::SeqCst) {
            let Ok(message) = frames.read() else { return };
            if let Message::Hello(hello) = &message {
                frames.set_processes(&hello.processes);
            }
            // Matched, not printed: a viewer of a debug build that turned
            // every event into JSON would fall behind the flood itself.
            if let Message::Event(stamped) = &message
                && let Event::BuildFinished { build, .. } = &stamped.event
            {
                seen.lock().unwrap().push(*build);
            }
        }
    });
    finished
}

#[test]
fn hostile_attach_clients_are_dropped_with_a_note_and_hold_nothing_up() {
    let build =
        "if [ -f libs/flood ]; then seq 400000 | sed 's/^/flood line /'; else echo quiet; fi";
    let workspace = Workspace::new(&config_with_build(build));
    let mut devloop = Devloop::start(&workspace);
    devloop.wait_event("build_finished", &[("build", json!(1))]);
    let stop = Arc::new(AtomicBool::new(false));
    let good = good_viewer(&workspace, stop.clone());
    let pid = devloop.pid();
    let rss_before = rss_kib(pid);

    let connect = || UnixStream::connect(socket(&workspace));
    let mut held = Vec::new();
    // One that says `view` and never reads.
    let mut never_reads = connect().unwrap();
    never_reads.write_all(b"view\n").unwrap();
    held.push(never_reads);
    // Random bytes; a header announcing 4 GiB; half a hello, then silence.
    let mut random = connect().unwrap();
    let _ = random.write_all(&noise(1 << 20));
    held.push(random);
    let mut huge = connect().unwrap();
    let _ = huge.write_all(&[0xff, 0xff, 0xff, 0xff, 0x01, 0x02]);
    held.push(huge);
    let mut half = connect().unwrap();
    half.write_all(b"vie").unwrap();
    held.push(half);
    // 1,000 connections held open, saying nothing.
    let many: Vec<UnixStream> = (0..1_000).filter_map(|_| connect().ok()).collect();
    eprintln!("hostile: {} connections held", many.len());

    // The flood, with a command typed in the middle of it all: `x` cancels.
    workspace.write("libs/flood", "1");
    devloop.wait_event("build_output", &[("build", json!(2))]);
    let typed = Instant::now();
    devloop.send("x");
    let cancelled = devloop.wait_event("build_finished", &[("build", json!(2))]);
    let cancel_ms = typed.elapsed().as_millis();
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    // The whole flood, this time.
    devloop.send("b");
    let flood = devloop.wait_for_within(Duration::from_secs(60), "build 3's end", |e| {
        e["event"] == "build_finished" && e["build"] == 3
    });
    assert_eq!(flood["status"], "ok", "{flood}");
    let rss_during = rss_kib(pid);

    // Each kind of bad client is noted; the silent ones after the hello wait.
    let note = |devloop: &mut Devloop, words: &str| {
        let says = |e: &Value| {
            e["event"] == "notice" && e["message"].as_str().is_some_and(|m| m.contains(words))
        };
        if !devloop.seen.iter().any(says) {
            devloop.wait_for_within(Duration::from_secs(30), words, says);
        }
    };
    note(
        &mut devloop,
        "clients are connected already; one more was refused",
    );
    note(
        &mut devloop,
        "began with something other than `view` or `control`",
    );
    note(&mut devloop, "said neither `view` nor `control` within");
    note(&mut devloop, "stopped reading and fell too far behind");
    let notes = devloop
        .all("notice")
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("attach:"))
        })
        .count();
    assert!(notes <= 12, "{notes} notes for about 1,000 bad clients");

    // The well-behaved viewer saw both builds end.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !good.lock().unwrap().contains(&3) {
        assert!(
            Instant::now() < deadline,
            "the good viewer saw {:?}",
            good.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let rss_after = rss_kib(pid);
    eprintln!(
        "hostile: devloop RSS {rss_before} KiB before, {rss_during} during the flood, {rss_after} after; `x` typed during the attack and the flood cancelled the build in {cancel_ms} ms; {notes} notes"
    );
    assert!(
        rss_during < rss_before + 64 * 1024,
        "RSS grew from {rss_before} to {rss_during} KiB"
    );
    stop.store(true, Ordering::SeqCst);
    drop(held);
    drop(many);
    assert!(devloop.stop().success());
}
