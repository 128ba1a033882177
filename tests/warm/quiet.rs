//! A compiler that keeps writing its output for a moment after its `done`
//! line, as nx's `@nx/js:tsc --watch` rewrites package.json after tsc's
//! "Watching for file changes.": the promotion staged at `done` is not
//! quiet and is dropped, and no cycle follows to promote instead. devloop
//! must try again once the output is quiet, and promote the whole tree.

use crate::common::{Devloop, Workspace};
use std::fs;

/// One cycle of 300 files (a copy long enough to see the writes that
/// follow), then 1000 rewrites of package.json (a longer one each time),
/// then nothing more.
const COMPILER: &str = r#"echo "cycle 1: compiling"; i=0; while [ $i -lt 300 ]; do i=$((i+1)); printf $i > tmp/out/f$i.js; done; printf one > tmp/out/a.js; echo "cycle 1 done"; i=0; while [ $i -lt 1000 ]; do i=$((i+1)); printf "%*s" $i "" > tmp/out/package.json; done; sleep 600"#;

#[test]
fn a_cycle_written_to_after_its_done_is_promoted_once_the_output_is_quiet() {
    let ws = Workspace::new(&format!(
        "[watch]\npaths = [\"libs\"]\n\n[build]\ncommand = '''{COMPILER}'''\noutput = \"tmp/out\"\npersistent = true\ndone = 'cycle \\d+ done'\n\n[promote]\ntarget = \"dist/libs\"\nrequire = [\"a.js\"]\n"
    ));
    fs::create_dir_all(ws.path().join("tmp/out")).unwrap();
    let mut devloop = Devloop::start(&ws);
    let first = devloop.wait_for("promoted or promote_failed", |e| {
        e["event"] == "promoted" || e["event"] == "promote_failed"
    });
    assert_eq!(
        first["event"], "promoted",
        "the cycle was dropped and never promoted: {first}"
    );
    assert_eq!(first["build"], 1);
    let written = fs::metadata(ws.path().join("dist/libs/package.json"))
        .unwrap()
        .len();
    assert_eq!(written, 1000, "promoted only after the last write");
    assert!(devloop.stop().success());
}
