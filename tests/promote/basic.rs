//! Promotion on a real filesystem: exact copies, require paths, keep-N,
//! the forced fallback, and the output left as the build wrote it.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::PathBuf;

use crate::promote_common::{snapshot, write, ws};
use devloop::promote::{
    PromoteError, PromoteSpec, Strategy, StrategyPref, current_generation, promote,
};

#[test]
fn first_promotion_is_an_exact_copy_and_leaves_the_output_alone() {
    let w = ws();
    w.build("one");
    write(&w.out, "bin/run.sh", "#!/bin/sh\n");
    fs::set_permissions(w.out.join("bin/run.sh"), fs::Permissions::from_mode(0o751)).unwrap();
    fs::set_permissions(w.out.join("bin"), fs::Permissions::from_mode(0o700)).unwrap();
    symlink("../shared/src/index.js", w.out.join("bin/link.js")).unwrap();
    symlink("nowhere", w.out.join("dangling")).unwrap();
    write(&w.out, "empty.txt", "");
    write(&w.out, ".devloop-generation", "99\n"); // a build must not fake completion
    let before = snapshot(&w.out);

    let p = promote(&w.spec(3)).expect("promote");
    assert_eq!(p.generation, 1);
    assert_eq!(p.strategy, Strategy::Rename, "nothing to exchange with");
    assert!(!p.fallback, "a first rename is no fallback");
    assert_eq!(p.target, w.target);
    assert_eq!(
        p.files, 5,
        "regular files copied (the output's marker is skipped)"
    );
    assert_eq!(snapshot(&w.target), before);
    assert_eq!(
        snapshot(&w.out),
        before,
        "the output is left as the build wrote it"
    );
    assert_eq!(current_generation(&w.target), Some(1));

    // Every file is its own inode: never a hard link to the output.
    let a = fs::metadata(w.out.join("shared/src/index.js")).unwrap();
    let b = fs::metadata(w.target.join("shared/src/index.js")).unwrap();
    assert_ne!(a.ino(), b.ino());
    assert_eq!(b.nlink(), 1);
    assert_eq!(a.mtime(), b.mtime(), "modification times follow the build");
    assert!(
        w.siblings().is_empty(),
        "nothing left beside: {:?}",
        w.siblings()
    );
}

#[test]
fn missing_require_path_leaves_the_target_untouched() {
    let w = ws();
    w.build("one");
    promote(&w.spec(3)).expect("first");
    let before = snapshot(&w.target);
    let siblings = w.siblings();

    w.build("two");
    fs::remove_file(w.out.join("shared/src/index.js")).unwrap();
    let spec = PromoteSpec {
        require: vec![
            PathBuf::from("shared/package.json"),
            PathBuf::from("shared/src/index.js"),
        ],
        ..w.spec(3)
    };
    let err = promote(&spec).expect_err("must refuse");
    assert!(
        matches!(err, PromoteError::MissingRequire { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("shared/src/index.js"),
        "names the path: {text}"
    );
    assert!(text.contains("nothing was promoted"), "{text}");
    assert_eq!(snapshot(&w.target), before);
    assert_eq!(current_generation(&w.target), Some(1));
    assert_eq!(w.siblings(), siblings, "no staging left behind");
}

#[test]
fn missing_output_is_an_error_naming_it() {
    let w = ws();
    fs::remove_dir_all(&w.out).unwrap();
    let err = promote(&w.spec(3)).expect_err("no output");
    assert!(matches!(err, PromoteError::OutputMissing { .. }));
    assert!(err.to_string().contains(&w.out.display().to_string()));
    assert!(!w.target.exists());
}

#[test]
fn keeps_exactly_n_generations_and_nothing_else() {
    let w = ws();
    for (i, v) in ["a", "b", "c", "d", "e", "f"].iter().enumerate() {
        w.build(v);
        let p = promote(&w.spec(2)).expect("promote");
        assert_eq!(p.generation, i as u64 + 1);
        assert_eq!(snapshot(&w.target), snapshot(&w.out), "after {v}");
        let want = i.min(2);
        assert_eq!(w.siblings().len(), want, "after {v}: {:?}", w.siblings());
        let expected = if i == 0 {
            Strategy::Rename
        } else {
            Strategy::Exchange
        };
        assert_eq!(p.strategy, expected, "after {v}");
    }
    assert_eq!(w.siblings(), [".libs.gen-4", ".libs.gen-5"]);
    let kept = fs::read_to_string(w.parent().join(".libs.gen-5/data/src/index.js")).unwrap();
    assert_eq!(
        kept, "// e\n",
        "a kept generation is the whole previous tree"
    );

    // keep = 0: no generation survives the next swap, and none is recycled.
    w.build("g");
    promote(&w.spec(0)).expect("promote");
    assert_eq!(w.siblings(), Vec::<String>::new());
    w.build("h");
    promote(&w.spec(0)).expect("promote");
    assert_eq!(w.siblings(), Vec::<String>::new());
    assert_eq!(w.version(), "// h\n");
}

#[test]
fn a_spare_left_by_an_older_devloop_is_recycled_then_never_made_again() {
    let w = ws();
    for v in ["a", "b"] {
        w.build(v);
        promote(&w.spec(1)).unwrap();
    }
    fs::rename(
        w.parent().join(".libs.gen-1"),
        w.parent().join(".libs.spare"),
    )
    .unwrap();
    w.build("c");
    promote(&w.spec(1)).unwrap();
    assert_eq!(w.siblings(), [".libs.gen-2"]);
    assert_eq!(w.version(), "// c\n");
}

#[test]
fn a_recycled_generation_becomes_an_exact_copy() {
    let w = ws();
    w.build("a");
    write(&w.out, "x/old.js", "old");
    write(&w.out, "turns-into-dir", "file");
    symlink("a", w.out.join("link")).unwrap();
    for _ in 0..3 {
        promote(&w.spec(1)).expect("keep one generation to recycle");
    }
    assert_eq!(w.siblings().len(), 1);

    w.build("b");
    write(&w.out, "turns-into-dir/inner.js", "now a dir");
    symlink("b", w.out.join("link")).unwrap();
    fs::set_permissions(
        w.out.join("shared/package.json"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let p = promote(&w.spec(1)).expect("promote over the recycled generation");
    assert_eq!(snapshot(&w.target), snapshot(&w.out));
    assert!(
        !w.target.join("x").exists(),
        "entries gone from the output are gone"
    );
    assert_eq!(p.files, 4);
}

#[test]
fn forced_fallback_reports_rename() {
    let w = ws();
    w.build("one");
    let spec = PromoteSpec {
        strategy: StrategyPref::Rename,
        ..w.spec(3)
    };
    // No target yet: a plain rename either way.
    assert_eq!(promote(&spec).unwrap().strategy, Strategy::Rename);
    w.build("two");
    let p = promote(&spec).expect("fallback promote");
    assert_eq!(p.strategy, Strategy::Rename);
    assert!(p.fallback);
    assert_eq!(w.version(), "// two\n");
    assert_eq!(
        w.siblings(),
        [".libs.gen-1"],
        "the backup became a generation"
    );
    assert_eq!(serde_json::to_string(&p.strategy).unwrap(), "\"rename\"");
    assert_eq!(
        serde_json::to_string(&Strategy::Exchange).unwrap(),
        "\"exchange\""
    );
}

#[test]
fn a_target_devloop_did_not_make_is_kept_as_generation_zero() {
    let w = ws();
    write(&w.target, "index.js", "hand made");
    w.build("one");
    let p = promote(&w.spec(3)).expect("promote");
    assert_eq!(p.generation, 1);
    assert_eq!(w.siblings(), [".libs.gen-0"]);
}

#[test]
fn changed_bytes_are_written_over_in_place_except_native_code_and_executables() {
    let w = ws();
    let build = |text: &str| {
        write(&w.out, "lib/index.js", text);
        write(&w.out, "lib/addon.node", text);
        write(&w.out, "lib/cli", text);
        fs::set_permissions(w.out.join("lib/cli"), fs::Permissions::from_mode(0o755)).unwrap();
    };
    let first = "a long first version\n".repeat(100);
    build(&first);
    for _ in 0..3 {
        promote(&w.spec(1)).expect("keep one generation to recycle");
    }
    // Held open the way a process holds a file it maps or runs.
    let recycled = w.parent().join(&w.siblings()[0]);
    let held = |name: &str| fs::File::open(recycled.join("lib").join(name)).unwrap();
    let (plain, addon, cli) = (held("index.js"), held("addon.node"), held("cli"));

    build("short\n");
    promote(&w.spec(1)).expect("promote over the recycled generation");
    assert_eq!(
        snapshot(&w.target),
        snapshot(&w.out),
        "shorter bytes, cut to length"
    );
    let bytes = |mut f: &fs::File| {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut f, &mut s).unwrap();
        s
    };
    assert_eq!(
        bytes(&plain),
        "short\n",
        "plain file: the same inode, new bytes"
    );
    assert_eq!(
        bytes(&addon),
        first,
        "native code: a new inode, the old one intact"
    );
    assert_eq!(
        bytes(&cli),
        first,
        "executable: a new inode, the old one intact"
    );
}
