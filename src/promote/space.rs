//! The free-space check made before anything is copied, so a full disk ends
//! a promotion with figures instead of half a staging tree.

use std::path::Path;

use super::{PromoteError, io_err};

/// Test hook, in debug builds only (what `cargo test` builds): pretend the
/// target's filesystem has this many bytes free. Used where a small tmpfs
/// cannot be mounted (not running as root).
#[cfg(debug_assertions)]
pub const FREE_BYTES_ENV: &str = "DEVLOOP_TEST_FREE_BYTES";

#[cfg(debug_assertions)]
fn pretended_free_bytes() -> Option<u64> {
    std::env::var(FREE_BYTES_ENV).ok()?.parse().ok()
}

#[cfg(not(debug_assertions))]
fn pretended_free_bytes() -> Option<u64> {
    None
}

/// Fails unless `dir`'s filesystem can take `size` bytes plus a margin: a
/// tenth for filesystem overhead, and at least 256 KiB.
pub fn check(dir: &Path, size: u64) -> Result<(), PromoteError> {
    let needed = size.saturating_add((size / 10).max(256 * 1024));
    let available = match pretended_free_bytes() {
        Some(bytes) => bytes,
        None => {
            let vfs = rustix::fs::statvfs(dir)
                .map_err(|e| io_err("read the free space of", dir)(e.into()))?;
            vfs.f_bavail.saturating_mul(vfs.f_frsize)
        }
    };
    if needed > available {
        return Err(PromoteError::NoSpace {
            dir: dir.to_path_buf(),
            needed,
            available,
        });
    }
    Ok(())
}

/// "104857600 bytes (100.0 MiB)": exact for scripts, readable for people.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = "";
    for u in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    if unit.is_empty() {
        format!("{bytes} bytes")
    } else {
        format!("{bytes} bytes ({value:.1} {unit})")
    }
}
