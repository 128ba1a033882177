//! The cycles with plain values: lines, changes and times passed in.

use super::*;

const SEC: Duration = Duration::from_secs(1);

struct Clock {
    now: Instant,
    wall: SystemTime,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            now: Instant::now(),
            wall: SystemTime::UNIX_EPOCH + 1000 * SEC,
        }
    }
    fn tick(&mut self, by: Duration) {
        self.now += by;
        self.wall += by;
    }
}

fn feed(c: &mut Cycles, clock: &Clock, line: &str) -> Step {
    let matched = Matched {
        start: line.contains("Starting"),
        done: line.contains("Watching"),
        failed: line.contains("error TS"),
    };
    c.line(line, matched, clock.now, clock.wall)
}

#[test]
fn lines_open_and_end_cycles_and_a_failed_line_fails_its_own() {
    let mut c = Cycles::new(600 * SEC);
    let mut clock = Clock::new();
    let step = feed(&mut c, &clock, "Starting compilation in watch mode...");
    assert_eq!(step.opened, Some((1, BuildReason::Startup)));
    let opened = clock.now;
    clock.tick(SEC);
    let step = feed(&mut c, &clock, "Found 0 errors. Watching for file changes.");
    assert_eq!(
        step.ended,
        Some(Ended {
            build: 1,
            failure: None,
            ms: 1000,
            dones: 1,
            started: opened,
        })
    );
    assert_eq!(
        feed(&mut c, &clock, "  ").opened,
        None,
        "a blank line opens nothing"
    );
    let step = feed(&mut c, &clock, "File change detected.");
    assert_eq!(step.opened, Some((2, BuildReason::Change)));
    feed(&mut c, &clock, "a.ts(1,7): error TS2322: no");
    let ended = feed(&mut c, &clock, "Found 1 error. Watching for file changes.")
        .ended
        .unwrap();
    assert_eq!(
        ended.failure.as_deref(),
        Some("a.ts(1,7): error TS2322: no")
    );
    feed(&mut c, &clock, "File change detected.");
    let ended = feed(&mut c, &clock, "Found 0 errors. Watching for file changes.").ended;
    assert_eq!(ended.unwrap().failure, None, "the next cycle starts clean");
}

#[test]
fn with_several_compilers_the_last_done_ends_the_cycle() {
    let mut c = Cycles::new(600 * SEC);
    let mut clock = Clock::new();
    feed(
        &mut c,
        &clock,
        "alpha: File change detected. Starting incremental compilation...",
    );
    feed(
        &mut c,
        &clock,
        "beta: File change detected. Starting incremental compilation...",
    );
    let step = feed(
        &mut c,
        &clock,
        "alpha: Found 0 errors. Watching for file changes.",
    );
    assert_eq!(step.ended, None, "beta is still compiling");
    clock.tick(SEC);
    let step = feed(
        &mut c,
        &clock,
        "beta: Found 0 errors. Watching for file changes.",
    );
    let ended = step.ended.expect("beta's done ends it");
    assert_eq!(ended.build, 1);
    assert_eq!(ended.dones, 2, "both compilers' writes after done count");
    assert_eq!(ended.started + SEC, clock.now);
}

#[test]
fn with_only_start_opening_what_follows_a_cycle_opens_none() {
    let mut c = Cycles::new(600 * SEC).only_start_opens(true);
    let clock = Clock::new();
    assert_eq!(
        feed(&mut c, &clock, "CLI tsup v8").opened.map(|o| o.0),
        Some(1)
    );
    feed(&mut c, &clock, "Starting");
    assert!(feed(&mut c, &clock, "Watching").ended.is_some());
    let step = feed(&mut c, &clock, "CLI Watching for changes");
    assert_eq!((step.opened, step.build), (None, 1), "shown with build 1");
    assert_eq!(
        feed(&mut c, &clock, "Starting").opened.map(|o| o.0),
        Some(2)
    );
    feed(&mut c, &clock, "a.ts(1,1): error TS1005");
    assert!(
        feed(&mut c, &clock, "Watching")
            .ended
            .unwrap()
            .failure
            .is_some()
    );
    let step = feed(&mut c, &clock, "    at a stack trace");
    assert_eq!((step.opened, step.build), (None, 2), "no cycle opens");
    assert_eq!(c.deadline(), None, "nothing is left open to get stuck");
    c.starting(BuildReason::Manual);
    let step = feed(&mut c, &clock, "CLI tsup v8");
    assert_eq!(
        step.opened,
        Some((3, BuildReason::Manual)),
        "a restart's first line opens"
    );
}

#[test]
fn a_change_the_compiler_already_built_opens_nothing() {
    let mut c = Cycles::new(600 * SEC);
    let mut clock = Clock::new();
    let saved = clock.wall;
    clock.tick(SEC / 4);
    feed(&mut c, &clock, "File change detected.");
    feed(&mut c, &clock, "Watching for file changes.");
    clock.tick(SEC / 2);
    assert_eq!(c.changed(saved, clock.now), None);
    assert_eq!(c.deadline(), None);
}

#[test]
fn a_change_before_the_compiler_reacts_opens_the_cycle_its_lines_continue() {
    let mut c = Cycles::new(600 * SEC);
    let mut clock = Clock::new();
    feed(&mut c, &clock, "Starting");
    feed(&mut c, &clock, "Watching for file changes.");
    clock.tick(SEC);
    assert_eq!(
        c.changed(clock.wall, clock.now),
        Some((2, BuildReason::Change))
    );
    clock.tick(SEC);
    let step = feed(&mut c, &clock, "File change detected.");
    assert_eq!(
        (step.opened, step.build),
        (None, 2),
        "the lines join the open cycle"
    );
    assert_eq!(
        feed(&mut c, &clock, "Watching for file changes.")
            .ended
            .unwrap()
            .build,
        2
    );
    assert_eq!(c.deadline(), None, "the change is covered");
}

#[test]
fn a_change_during_an_older_cycle_waits_for_the_next_one() {
    let mut c = Cycles::new(10 * SEC);
    let mut clock = Clock::new();
    feed(&mut c, &clock, "File change detected.");
    clock.tick(SEC);
    assert_eq!(c.changed(clock.wall, clock.now), None, "a cycle is open");
    feed(&mut c, &clock, "Watching for file changes.");
    assert_eq!(c.deadline(), Some(clock.now + 10 * SEC), "still not built");
    clock.tick(SEC);
    feed(&mut c, &clock, "File change detected.");
    feed(&mut c, &clock, "Watching for file changes.");
    assert_eq!(c.deadline(), None);
}

#[test]
fn a_change_no_cycle_follows_is_stuck_at_the_timeout() {
    let mut c = Cycles::new(10 * SEC);
    let clock = Clock::new();
    let opened = c.changed(clock.wall, clock.now).unwrap();
    assert_eq!(c.deadline(), Some(clock.now + 10 * SEC));
    assert_eq!(c.expire(), Some(opened.0));
    assert_eq!(c.deadline(), None);
    assert_eq!(c.interrupted(), None);
}
