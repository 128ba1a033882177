use super::*;
use std::process::{Child, Command};

/// `sleep` leading a group of its own, as devloop's children do.
fn group_leader() -> Child {
    use std::os::unix::process::CommandExt;
    Command::new("sleep")
        .arg("60")
        .process_group(0)
        .spawn()
        .unwrap()
}

fn gone(child: &mut Child) -> bool {
    // The test is the parent: reap, then ask. An error means another test
    // (the reaper's) collected it: gone too.
    !matches!(child.try_wait(), Ok(None))
}

#[test]
fn records_round_trip() {
    let record = Record {
        pgid: 12,
        start_time: 345,
        sid: 6,
        signal: 15,
        timeout_ms: 10_000,
        name: "web".into(),
    };
    assert_eq!(Record::parse(&record.line()), Some(record));
    assert_eq!(Record::parse("12 x 6 15 1 web"), None);
    assert_eq!(Record::parse(""), None);
    assert_eq!(Record::parse("99999999999 1 1 1 1 x"), None);
}

#[test]
fn a_record_matches_only_its_own_start_time() {
    let mut child = group_leader();
    let pid = child.id();
    let record = record_of(pid, Signal::TERM, Duration::from_secs(1), "x").unwrap();
    assert!(still_ours(&record));
    let reused = Record {
        start_time: record.start_time + 1,
        ..record.clone()
    };
    assert!(!still_ours(&reused), "same pid, another start: not ours");
    let _ = child.kill();
    let _ = child.wait();
    assert!(!still_ours(&record), "a gone group is nobody's");
}

#[tokio::test]
async fn stops_recorded_groups_and_spares_the_rest() {
    let state = tempfile::tempdir().unwrap();
    let mut ours = group_leader();
    let mut other = group_leader();
    let mut records = Records::new(state.path(), PROCESSES_FILE);
    let grace = Duration::from_millis(200);
    records.add(record_of(ours.id(), Signal::TERM, grace, "ours").unwrap());
    let mut foreign = record_of(other.id(), Signal::TERM, grace, "other").unwrap();
    foreign.start_time += 1;
    records.add(foreign);
    let reports = stop_leftovers(state.path(), PROCESSES_FILE).await;
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].contains("`ours`"), "{reports:?}");
    // Our group was signalled; give the zombie a moment to show as exited.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !gone(&mut ours) {
        assert!(std::time::Instant::now() < deadline, "our group survived");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!gone(&mut other), "a group with another start time was hit");
    let _ = other.kill();
    let _ = other.wait();
}

#[test]
fn removing_rewrites_the_file() {
    let state = tempfile::tempdir().unwrap();
    let mut records = Records::new(state.path(), PROCESSES_FILE);
    let record = |pgid| Record {
        pgid,
        start_time: 1,
        sid: 1,
        signal: 15,
        timeout_ms: 1,
        name: "n".into(),
    };
    records.add(record(10));
    records.add(record(11));
    records.remove(10);
    let text = std::fs::read_to_string(state.path().join(PROCESSES_FILE)).unwrap();
    assert_eq!(text, record(11).line());
}
