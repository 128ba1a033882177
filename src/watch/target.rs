//! The target guard: nothing but devloop writes the promote target (SPEC
//! section 3). It watches the tree in place, recursively, and reports a
//! write that is not devloop's own as an `error` naming the paths and, where
//! it can be seen, the writer. A promotion swaps the tree away, so every
//! change devloop makes to the target ends with a fresh watcher on the tree
//! now in place; events of an older watcher, or of any moment devloop was
//! changing the target itself, are devloop's own. What was written between
//! the end of devloop's change and the new watch is found by the times of
//! change (ctime) of the tree's entries, read once the watch is in place.

use crate::child::leftovers::{PROCESSES_FILE, Record};
use crate::event::{Event, Stamped};
use crate::promote::activity;
use notify::event::{EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep_until};

/// A burst of foreign writes is reported once it has been quiet this long.
const QUIET: Duration = Duration::from_millis(300);
/// Paths named in one report; the rest are counted.
const SHOWN: usize = 5;

/// Where the guard looks, and where it reports.
pub struct Guard {
    /// Absolute: the promote target.
    pub target: PathBuf,
    /// The workspace root, for the paths shown.
    pub root: PathBuf,
    /// devloop's state directory: the records name a writer's process.
    pub state_dir: PathBuf,
    pub events: mpsc::Sender<Stamped>,
}

/// An event from the watcher of one tree (its number), or its error.
type Raw = (u64, notify::Result<notify::Event>);

impl Guard {
    /// Guards the target until the events' receiver closes.
    pub fn spawn(self) {
        tokio::spawn(self.run());
    }

    async fn run(self) {
        let mut activity = activity::subscribe();
        let (raw_tx, mut raw) = mpsc::unbounded_channel::<Raw>();
        let mut tree = 0u64;
        let mut failed = false;
        let started = std::time::SystemTime::now();
        let (mut watcher, _) = self.watch(tree, &raw_tx, started, &mut failed).await;
        let mut burst = Burst::default();
        loop {
            tokio::select! {
                changed = activity.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let now = *activity.borrow_and_update();
                    // Whatever was gathered may have been devloop's own.
                    burst = Burst::default();
                    tree += 1;
                    drop(watcher.take());
                    if now.busy == 0 {
                        let (watching, gap) = self.watch(tree, &raw_tx, now.ended, &mut failed).await;
                        watcher = watching;
                        if !gap.is_empty() {
                            burst.writers = self.writers(gap.clone()).await;
                            burst.add(gap);
                        }
                    }
                }
                Some((from, event)) = raw.recv() => {
                    if from != tree || activity.borrow().busy > 0 {
                        continue;
                    }
                    if let Ok(event) = event
                        && is_a_write(&event.kind)
                    {
                        if burst.paths.is_empty() {
                            burst.writers = self.writers(event.paths.clone()).await;
                        }
                        burst.add(event.paths);
                    }
                }
                _ = sleep_until(burst.quiet_at.unwrap_or_else(Instant::now)), if !burst.paths.is_empty() => {
                    let message = self.describe(&burst);
                    if self.events.send(Stamped::now(Event::Error { message })).await.is_err() {
                        return;
                    }
                    burst = Burst::default();
                }
            }
        }
    }

    /// A watcher on the tree now in place (None while there is none), and
    /// what changed in it after `since`, before the watch took: the
    /// entries whose ctime is later. The first failure to watch is said once
    /// (the watch limit, most likely).
    async fn watch(
        &self,
        tree: u64,
        raw: &mpsc::UnboundedSender<Raw>,
        since: SystemTime,
        failed_before: &mut bool,
    ) -> (Option<RecommendedWatcher>, Vec<PathBuf>) {
        let target = self.target.clone();
        let raw = raw.clone();
        // Watching a tree walks it: off the async threads.
        let made = tokio::task::spawn_blocking(move || {
            if !target.is_dir() {
                return Ok((None, Vec::new()));
            }
            let mut watcher = notify::recommended_watcher(move |event| {
                let _ = raw.send((tree, event));
            })?;
            watcher.watch(&target, RecursiveMode::Recursive)?;
            let mut changed = Vec::new();
            changed_since(&target, since, &mut changed);
            Ok((Some(watcher), changed))
        });
        match made.await {
            Ok(Ok(made)) => made,
            Ok(Err(error)) if !std::mem::replace(failed_before, true) => {
                let error: notify::Error = error;
                let message = format!(
                    "cannot watch {} for writes that are not promotions ({error}); they go unreported",
                    self.relative(&self.target)
                );
                let _ = self
                    .events
                    .send(Stamped::now(Event::Notice { message }))
                    .await;
                (None, Vec::new())
            }
            _ => (None, Vec::new()),
        }
    }

    /// Who has `written` open now (`pid N (program) of process NAME`), and
    /// who has other files open under the target.
    async fn writers(&self, written: Vec<PathBuf>) -> Writers {
        let target = self.target.clone();
        let records = std::fs::read_to_string(self.state_dir.join(PROCESSES_FILE));
        tokio::task::spawn_blocking(move || {
            let records: Vec<Record> = records
                .unwrap_or_default()
                .lines()
                .filter_map(Record::parse)
                .collect();
            let mut writers = Writers::default();
            for (pid, path) in crate::platform::files_open_under(&target) {
                let found = if written.contains(&path) {
                    &mut writers.certain
                } else {
                    &mut writers.nearby
                };
                let named = writer(pid, &records);
                if !found.contains(&named) {
                    found.push(named);
                }
            }
            writers
        })
        .await
        .unwrap_or_default()
    }

    fn describe(&self, burst: &Burst) -> String {
        let shown: Vec<String> = burst
            .paths
            .iter()
            .take(SHOWN)
            .map(|path| self.relative(path))
            .collect();
        let more = burst.paths.len().saturating_sub(SHOWN);
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        let Writers { certain, nearby } = &burst.writers;
        let by = if !certain.is_empty() {
            format!("written by {}", certain.join(", "))
        } else if !nearby.is_empty() {
            format!(
                "the writer had closed its files; {} had others open there",
                nearby.join(", ")
            )
        } else {
            "the writer had closed its files".to_string()
        };
        format!(
            "something other than devloop wrote into {}: {}{more}; {by}. Apps may now load a half-written library until the next promotion (b builds and promotes again); `devloop check` names the processes that build into it",
            self.relative(&self.target),
            shown.join(", ")
        )
    }

    fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

/// The foreign writes gathered since the last report.
#[derive(Default)]
struct Burst {
    paths: Vec<PathBuf>,
    writers: Writers,
    quiet_at: Option<Instant>,
}

/// Processes seen with files open under the target at a burst's first write.
#[derive(Default)]
struct Writers {
    /// With a written file open.
    certain: Vec<String>,
    /// With other files open there.
    nearby: Vec<String>,
}

impl Burst {
    fn add(&mut self, paths: Vec<PathBuf>) {
        for path in paths {
            if !self.paths.contains(&path) {
                self.paths.push(path);
            }
        }
        self.quiet_at = Some(Instant::now() + QUIET);
    }
}

/// Entries under `dir` changed (their ctime) after `since`, devloop's own
/// marker excepted. A removal shows as its directory's change.
fn changed_since(dir: &Path, since: SystemTime, out: &mut Vec<PathBuf>) {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        let ctime =
            UNIX_EPOCH + Duration::new(meta.ctime().max(0) as u64, meta.ctime_nsec() as u32);
        if ctime > since && entry.file_name() != crate::promote::MARKER {
            out.push(entry.path());
        }
        if meta.is_dir() {
            changed_since(&entry.path(), since, out);
        }
    }
}

/// Creations, removals, renames and content changes count; a new time
/// (devloop's nudge), a read or a close does not.
fn is_a_write(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}

/// `pid N (program) of process NAME`, the process found by its group.
fn writer(pid: u32, records: &[Record]) -> String {
    let program = crate::platform::program_name(pid).unwrap_or_else(|| "?".into());
    let group = crate::platform::process(pid).map(|p| p.pgid);
    match records.iter().find(|r| Some(r.pgid) == group) {
        Some(record) => format!("pid {pid} ({program}) of process `{}`", record.name),
        None => format!("pid {pid} ({program})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_changed_before_the_watch_took_is_found_by_its_ctime() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("lib/old.js");
        std::fs::create_dir_all(old.parent().unwrap()).unwrap();
        std::fs::write(&old, "old").unwrap();
        std::fs::write(dir.path().join(crate::promote::MARKER), "1\n").unwrap();
        // ctime has the kernel's clock tick for its grain.
        std::thread::sleep(Duration::from_millis(20));
        let since = SystemTime::now();
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(dir.path().join("lib/new.js"), "new").unwrap();
        std::fs::write(dir.path().join(crate::promote::MARKER), "2\n").unwrap();
        let mut changed = Vec::new();
        changed_since(dir.path(), since, &mut changed);
        changed.sort();
        let lib = dir.path().join("lib");
        assert_eq!(
            changed,
            [lib.clone(), lib.join("new.js")],
            "the new file and its directory"
        );
    }
}
