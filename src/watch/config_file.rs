//! watch.toml itself, watched while devloop runs. Its directory is watched
//! rather than the file, since editors replace the file instead of writing
//! it; an edit counts once it has settled and the bytes differ.

use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// Quiet time after the last event before the file is read: an editor's
/// save is several events (backup, write, rename).
const SETTLE: Duration = Duration::from_millis(200);

/// Keeps the watch; dropping it ends it.
pub struct ConfigWatch {
    _watcher: RecommendedWatcher,
}

/// Sends on `edited` each time `file` settles with new contents.
pub fn watch_config(file: &Path, edited: mpsc::Sender<()>) -> notify::Result<ConfigWatch> {
    let (raw_tx, raw) = mpsc::unbounded_channel();
    let name = file.file_name().map(ToOwned::to_owned);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let ours = event.is_ok_and(|event| {
            event
                .paths
                .iter()
                .any(|path| path.file_name() == name.as_deref())
        });
        if ours {
            let _ = raw_tx.send(());
        }
    })?;
    let dir = file.parent().unwrap_or(Path::new("."));
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    tokio::spawn(settle(file.to_path_buf(), raw, edited));
    Ok(ConfigWatch { _watcher: watcher })
}

/// A few hundred bytes: read in place.
async fn settle(file: PathBuf, mut raw: mpsc::UnboundedReceiver<()>, edited: mpsc::Sender<()>) {
    let mut last = std::fs::read(&file).ok();
    while raw.recv().await.is_some() {
        loop {
            match tokio::time::timeout(SETTLE, raw.recv()).await {
                Ok(Some(())) => continue,
                Ok(None) => return,
                Err(_) => break,
            }
        }
        // Gone for now (a save that deletes first): the write after it counts.
        let Ok(now) = std::fs::read(&file) else {
            continue;
        };
        if last.as_ref() != Some(&now) {
            last = Some(now);
            if edited.send(()).await.is_err() {
                return;
            }
        }
    }
}
