//! Not enough disk: the promotion stops before copying, says how much was
//! needed and available, and leaves the target untouched. On a real 2 MiB
//! tmpfs when this runs as root and can mount one; through the test hook
//! (`DEVLOOP_TEST_FREE_BYTES`) always. The tests of this binary take turns,
//! because the hook is an environment variable.

use std::path::Path;

use crate::promote_common::{mount_tmpfs, snapshot, write};
use devloop::promote::{PromoteError, PromoteSpec, StrategyPref, current_generation, promote};

fn check_refusal(out: &Path, target: &Path) {
    let small = out.join("small");
    write(&small, "index.js", "small\n");
    let spec = |output: &Path| PromoteSpec {
        output: output.to_path_buf(),
        target: target.to_path_buf(),
        keep: 3,
        require: vec![],
        strategy: StrategyPref::Auto,
    };
    promote(&spec(&small)).expect("a small output fits");
    let before = snapshot(target);

    let big = out.join("big");
    for i in 0..3 {
        write(&big, &format!("chunk{i}.js"), &"x".repeat(1024 * 1024));
    }
    let err = promote(&spec(&big)).expect_err("3 MiB cannot fit");
    let PromoteError::NoSpace {
        needed, available, ..
    } = err
    else {
        panic!("expected NoSpace, got {err:?}");
    };
    assert!(
        needed > 3 * 1024 * 1024 && available < needed,
        "{needed} vs {available}"
    );
    let text = err.to_string();
    assert!(
        text.contains("not enough space") && text.contains(&format!("{needed} bytes")),
        "{text}"
    );
    assert!(
        text.contains(&target.parent().unwrap().display().to_string()),
        "{text}"
    );
    assert_eq!(snapshot(target), before, "the target is untouched");
    assert_eq!(current_generation(target), Some(1));
    assert!(
        crate::promote_common::siblings(target).is_empty(),
        "nothing staged"
    );
}

#[test]
fn not_enough_space_leaves_the_target_untouched() {
    let _alone = crate::alone();
    let tmp = tempfile::tempdir().unwrap();
    let mnt = tmp.path().join("small-fs");
    match mount_tmpfs(&mnt, "2m") {
        Some(_mounted) => {
            eprintln!("using a real 2 MiB tmpfs at {}", mnt.display());
            check_refusal(&tmp.path().join("out-real"), &mnt.join("dist/libs"));
        }
        None => eprintln!("cannot mount a tmpfs here; only the injected check runs"),
    }
    // SAFETY of set_var: the other test that reads the environment waits.
    unsafe { std::env::set_var("DEVLOOP_TEST_FREE_BYTES", (2 * 1024 * 1024).to_string()) };
    check_refusal(
        &tmp.path().join("out-hook"),
        &tmp.path().join("hook/dist/libs"),
    );
    unsafe { std::env::remove_var("DEVLOOP_TEST_FREE_BYTES") };
}
