//! `DEVLOOP_SWAP=rename` forces the two-rename fallback for promotion and
//! rollback alike. The tests of this binary take turns: it
//! sets the variable.

use crate::promote_common::ws;
use devloop::promote::{Strategy, current_generation, promote, rollback};

#[test]
fn devloop_swap_rename_forces_the_fallback() {
    let _alone = crate::alone();
    // SAFETY of set_var: the other test that reads the environment waits.
    unsafe { std::env::set_var("DEVLOOP_SWAP", "rename") };
    let w = ws();
    for (i, v) in ["a", "b", "c"].iter().enumerate() {
        w.build(v);
        let p = promote(&w.spec(3)).unwrap();
        assert_eq!(p.strategy, Strategy::Rename, "promotion {i}");
        assert_eq!(w.version(), format!("// {v}\n"));
    }
    assert_eq!(
        w.siblings(),
        [".libs.gen-1", ".libs.gen-2"],
        "no backup left behind"
    );
    assert_eq!(rollback(&w.target).unwrap(), 2);
    assert_eq!(current_generation(&w.target), Some(2));
    assert_eq!(w.siblings(), [".libs.gen-1", ".libs.gen-3"]);
    unsafe { std::env::remove_var("DEVLOOP_SWAP") };
}
