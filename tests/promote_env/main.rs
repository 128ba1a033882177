//! Promotion under environment variables (DEVLOOP_SWAP, DEVLOOP_TEST_FREE_BYTES): the tests take turns, since the environment is the whole process's.

#[path = "../promote_common/mod.rs"]
mod promote_common;

mod space;
mod swap_env;

/// Each test here sets a variable the whole process reads: they take turns.
fn alone() -> std::sync::MutexGuard<'static, ()> {
    static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ALONE.lock().unwrap_or_else(|e| e.into_inner())
}
