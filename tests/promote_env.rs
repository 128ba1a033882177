//! `DEVLOOP_SWAP=rename` forces the two-rename fallback for promotion and
//! rollback alike. One test in this binary, because it sets the variable.

mod promote_common;

use devloop::promote::{Strategy, current_generation, promote, rollback};
use promote_common::ws;

#[test]
fn devloop_swap_rename_forces_the_fallback() {
    // SAFETY of set_var: the only test here, set before any other thread reads it.
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
