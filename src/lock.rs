//! One devloop per workspace: an exclusive flock on a file in the state
//! directory. The kernel drops it when its owner dies, so a dead devloop's
//! lock is simply taken over.

use rustix::fs::{FlockOperation, flock};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Held for as long as devloop runs.
#[derive(Debug)]
pub struct WorkspaceLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another devloop is running in this workspace (pid {}); its lock is {}", pid.map_or("unknown".to_string(), |p| p.to_string()), path.display())]
    Held { pid: Option<u32>, path: PathBuf },
    #[error("cannot take the workspace lock {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl WorkspaceLock {
    /// Takes the lock in `state_dir` (created if missing) and writes our pid.
    pub fn acquire(state_dir: &Path) -> Result<WorkspaceLock, LockError> {
        let path = state_dir.join("lock");
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(state_dir).map_err(io)?;
        let ignore = state_dir.join(".gitignore");
        if !ignore.exists() {
            // devloop's state never belongs in the repository.
            let _ = std::fs::write(ignore, "*\n");
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        if flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            return Err(LockError::Held {
                pid: text.trim().parse().ok(),
                path,
            });
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        Ok(WorkspaceLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_names_the_first_owner() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join(".devloop");
        let first = WorkspaceLock::acquire(&state).unwrap();
        match WorkspaceLock::acquire(&state) {
            Err(LockError::Held { pid, .. }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("second lock: {other:?}"),
        }
        drop(first);
        assert!(
            WorkspaceLock::acquire(&state).is_ok(),
            "a released lock is taken over"
        );
    }
}
