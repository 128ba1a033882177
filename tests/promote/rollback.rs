//! Rollback: an undo that walks back through what was in place, with the
//! same exchange as a promotion.

use crate::promote_common::ws;
use devloop::promote::{PromoteError, current_generation, promote, rollback};

#[test]
fn rollback_without_a_previous_generation_says_so() {
    let w = ws();
    let err = rollback(&w.target).expect_err("nothing at all");
    assert!(
        matches!(err, PromoteError::NoPreviousGeneration { .. }),
        "{err:?}"
    );

    w.build("one");
    promote(&w.spec(3)).unwrap();
    let err = rollback(&w.target).expect_err("only the current generation");
    assert!(
        matches!(err, PromoteError::NoPreviousGeneration { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("no previous generation"), "{err}");
    assert_eq!(w.version(), "// one\n", "the target is untouched");
}

#[test]
fn rollback_walks_back_one_generation_at_a_time() {
    let w = ws();
    for v in ["a", "b", "c", "d"] {
        w.build(v);
        promote(&w.spec(3)).unwrap();
    }
    assert_eq!(rollback(&w.target).unwrap(), 3);
    assert_eq!(w.version(), "// c\n");
    assert_eq!(current_generation(&w.target), Some(3));
    assert!(
        w.siblings().contains(&".libs.gen-4".to_string()),
        "rolled-away tree kept"
    );

    assert_eq!(rollback(&w.target).unwrap(), 2, "twice goes two steps back");
    assert_eq!(w.version(), "// b\n");
    assert_eq!(rollback(&w.target).unwrap(), 1);
    assert_eq!(w.version(), "// a\n");
    let err = rollback(&w.target).expect_err("nothing older than 1");
    assert!(matches!(err, PromoteError::NoPreviousGeneration { .. }));
    assert_eq!(w.version(), "// a\n");
}

#[test]
fn rollback_after_a_new_build_returns_to_what_ran_before_it() {
    let w = ws();
    for v in ["a", "b", "c"] {
        w.build(v);
        promote(&w.spec(3)).unwrap();
    }
    // c is broken: roll back to b, fix, build d.
    assert_eq!(rollback(&w.target).unwrap(), 2);
    w.build("d");
    assert_eq!(promote(&w.spec(3)).unwrap().generation, 4);
    // Rolling back d returns to b (what ran before d), not to the broken c.
    assert_eq!(rollback(&w.target).unwrap(), 2);
    assert_eq!(w.version(), "// b\n");
}

#[test]
fn rollback_with_the_forced_fallback_still_works() {
    // DEVLOOP_SWAP is read per call; this binary's other tests do not set it,
    // so the fallback is forced here through a separate process instead.
    let w = ws();
    for v in ["a", "b"] {
        w.build(v);
        promote(&w.spec(3)).unwrap();
    }
    let exe = std::env::current_exe().unwrap();
    let status = std::process::Command::new(exe)
        .args([
            "--exact",
            crate::common::test_name(module_path!(), "child_rollback").as_str(),
            "--nocapture",
        ])
        .env("DEVLOOP_SWAP", "rename")
        .env("ROLLBACK_TARGET", &w.target)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(w.version(), "// a\n");
    assert_eq!(w.siblings(), [".libs.gen-2"]);
}

/// Runs only as the child of the test above.
#[test]
fn child_rollback() {
    if let Some(target) = std::env::var_os("ROLLBACK_TARGET") {
        assert_eq!(rollback(std::path::Path::new(&target)).unwrap(), 1);
    }
}
