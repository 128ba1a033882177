//! Recovery from each state a killed devloop can leave, built by hand from
//! the same names and markers a promotion uses.

use std::fs;
use std::path::Path;

use crate::promote_common::{MARKER, Ws, write, ws};
use devloop::promote::{current_generation, promote, recover};

/// A whole tree of `version`, marked as generation `generation` if given.
fn tree(dir: &Path, version: &str, generation: Option<u64>) {
    write(dir, "data/src/index.js", &format!("// {version}\n"));
    write(dir, "shared/src/index.js", "x\n");
    if let Some(g) = generation {
        write(
            dir,
            MARKER,
            &format!("{g}\nprevious {}\n", g.saturating_sub(1)),
        );
    }
}

fn sibling(w: &Ws, name: &str) -> std::path::PathBuf {
    w.parent().join(format!(".libs.{name}"))
}

/// Generation 1 promoted for real: the starting point of most cases.
fn promoted_once() -> Ws {
    let w = ws();
    w.build("a");
    promote(&w.spec(3)).unwrap();
    w
}

#[test]
fn target_missing_with_marked_stage_and_backup_takes_the_new_tree() {
    // Killed between the two renames of the fallback.
    let w = promoted_once();
    tree(&sibling(&w, "stage-2"), "b", Some(2));
    fs::rename(&w.target, sibling(&w, "backup-2")).unwrap();

    let r = recover(&w.target, 3).unwrap();
    assert_eq!(w.version(), "// b\n");
    assert_eq!(current_generation(&w.target), Some(2));
    assert_eq!(r.restored_generation, Some(2));
    assert_eq!(r.restored_from, Some(sibling(&w, "stage-2")));
    assert_eq!(
        w.siblings(),
        [".libs.gen-1"],
        "the backup is kept as a generation"
    );
    assert!(r.to_string().contains("restored the missing target"), "{r}");
}

#[test]
fn target_missing_with_backup_only_restores_the_backup() {
    let w = promoted_once();
    fs::rename(&w.target, sibling(&w, "backup-2")).unwrap();
    tree(&sibling(&w, "stage-3"), "half", None); // an unmarked stage is never used

    let r = recover(&w.target, 3).unwrap();
    assert_eq!(w.version(), "// a\n");
    assert_eq!(r.restored_generation, Some(1));
    assert!(w.siblings().is_empty(), "{:?}", w.siblings());
}

#[test]
fn target_missing_with_only_generations_restores_the_newest() {
    let w = ws();
    tree(&sibling(&w, "gen-4"), "four", Some(4));
    tree(&sibling(&w, "gen-6"), "six", Some(6));
    recover(&w.target, 3).unwrap();
    assert_eq!(w.version(), "// six\n");
    assert_eq!(w.siblings(), [".libs.gen-4"]);
}

#[test]
fn unmarked_stage_is_removed_and_the_target_untouched() {
    // Killed while copying.
    let w = promoted_once();
    let before = crate::promote_common::snapshot(&w.target);
    tree(&sibling(&w, "stage-2"), "partial", None);

    let r = recover(&w.target, 3).unwrap();
    assert_eq!(r.removed, [sibling(&w, "stage-2")]);
    assert_eq!(crate::promote_common::snapshot(&w.target), before);
    assert!(w.siblings().is_empty());
}

#[test]
fn marked_stage_never_swapped_is_removed() {
    // Killed between the marker and the exchange.
    let w = promoted_once();
    tree(&sibling(&w, "stage-2"), "b", Some(2));
    recover(&w.target, 3).unwrap();
    assert_eq!(current_generation(&w.target), Some(1));
    assert!(w.siblings().is_empty());
}

#[test]
fn stage_holding_the_displaced_tree_becomes_a_generation() {
    // Killed right after the exchange, before the rename to gen-1.
    let w = promoted_once();
    tree(&sibling(&w, "stage-2"), "b", Some(2));
    fs::rename(&w.target, w.parent().join("tmp")).unwrap();
    fs::rename(sibling(&w, "stage-2"), &w.target).unwrap();
    fs::rename(w.parent().join("tmp"), sibling(&w, "stage-2")).unwrap();

    recover(&w.target, 3).unwrap();
    assert_eq!(w.version(), "// b\n");
    assert_eq!(w.siblings(), [".libs.gen-1"]);
}

#[test]
fn interrupted_rollback_renames_the_generation_it_displaced() {
    // Killed right after a rollback exchange: gen-1's name holds generation 2.
    let w = ws();
    tree(&w.target, "a", Some(1));
    tree(&sibling(&w, "gen-1"), "b", Some(2));
    recover(&w.target, 3).unwrap();
    assert_eq!(w.version(), "// a\n");
    assert_eq!(w.siblings(), [".libs.gen-2"]);
}

#[test]
fn trash_and_generations_beyond_keep_are_removed() {
    let w = ws();
    for v in ["a", "b", "c", "d", "e"] {
        w.build(v);
        promote(&w.spec(5)).unwrap();
    }
    tree(&sibling(&w, "trash-1-2-3"), "junk", Some(9));
    let r = recover(&w.target, 1).unwrap();
    assert_eq!(w.siblings(), [".libs.gen-4"]);
    assert_eq!(r.removed.len(), 4, "trash and three generations: {r:?}");
    assert_eq!(w.version(), "// e\n");
    assert!(
        recover(&w.target, 1).unwrap().is_empty(),
        "a second recovery has nothing to do"
    );
}

#[test]
fn nothing_there_is_nothing_to_do() {
    let w = ws();
    assert!(recover(&w.target, 3).unwrap().is_empty());
    let gone = w.parent().join("no/such/dir/libs");
    assert!(recover(&gone, 3).unwrap().is_empty());
}

#[test]
fn numbers_keep_growing_after_recovery() {
    let w = promoted_once();
    tree(&sibling(&w, "gen-7"), "old", Some(7));
    recover(&w.target, 3).unwrap();
    w.build("next");
    assert_eq!(promote(&w.spec(3)).unwrap().generation, 8);
}
