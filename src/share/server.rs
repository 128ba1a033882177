//! The attach socket: a Unix socket in the state directory, mode 0600, for
//! the user who runs devloop only (the peer's uid is checked too); nothing
//! listens on a network port. Each viewer gets a task that writes its
//! history and live queue as frames (see `frame`), and one that reads
//! its commands as lines.

use super::protocol::{self, MAX_LINE};
use super::{Chunk, Control, Joined};
use crate::engine::Input;
use crate::event::Command;
use crate::event::{Event, Stamped};
use std::io::IoSlice;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

/// A viewer has this long to say `view` or `control`.
const HELLO_WITHIN: Duration = Duration::from_secs(5);
/// The socket buffer asked for each viewer.
const SEND_BUFFER: usize = 1024 * 1024;
/// How long a dropped viewer has to take the rest of a frame, and then the
/// note: a viewer busy drawing may not read for a while.
const NOTE_WITHIN: Duration = Duration::from_secs(5);
/// Bytes of queued chunks taken into one write to a viewer.
const WRITE_BATCH: usize = 256 * 1024;
/// Connections open at once, viewers and those yet to say hello: more are
/// closed at once, so a client opening thousands cannot take devloop's file
/// descriptors (macOS gives a process 256 by default).
pub const MAX_CLIENTS: usize = 64;
/// A kind of bad client is noted at most this often; the note counts the
/// others.
const NOTE_EVERY: Duration = Duration::from_secs(10);

pub fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join("attach.sock")
}

/// Removes the socket when devloop ends.
pub struct SocketGuard {
    path: PathBuf,
    accept: Option<JoinHandle<()>>,
    /// Ends when every viewer's tasks have.
    viewers_done: mpsc::Receiver<()>,
}

impl SocketGuard {
    /// Takes no more viewers and gives those attached up to `grace` to be
    /// sent what is queued for them, the shutdown last; call it after the
    /// hub has ended, so their queues are closed.
    pub async fn close(mut self, grace: Duration) {
        let _ = std::fs::remove_file(&self.path);
        if let Some(accept) = self.accept.take() {
            accept.abort();
            let _ = accept.await;
        }
        let _ = tokio::time::timeout(grace, self.viewers_done.recv()).await;
    }
}

impl Drop for SocketGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The attach socket could not be served (devloop runs on without it).
#[derive(Debug, thiserror::Error)]
#[error("cannot serve attach on {}: {source}", path.display())]
pub struct ServeError {
    pub path: std::path::PathBuf,
    pub source: std::io::Error,
}

/// Listens on the socket in `state_dir`; called with the workspace lock
/// held, so a socket already there is a dead devloop's and is replaced.
/// Each client dropped for misbehaving is said in `events`.
pub fn serve(
    state_dir: &Path,
    hub: mpsc::Sender<Control>,
    inbox: mpsc::Sender<Input>,
    events: mpsc::Sender<Stamped>,
) -> Result<SocketGuard, ServeError> {
    let path = socket_path(state_dir);
    let failed = |source| ServeError {
        path: path.clone(),
        source,
    };
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(failed(e)),
        _ => {}
    }
    let listener = UnixListener::bind(&path).map_err(failed)?;
    let (alive, viewers_done) = mpsc::channel(1);
    let mut guard = SocketGuard {
        path: path.clone(),
        accept: None,
        viewers_done,
    };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(failed)?;
    let notes = Arc::new(Notes::new(events));
    guard.accept = Some(tokio::spawn(accept(listener, hub, inbox, alive, notes)));
    Ok(guard)
}

/// Asks for a socket buffer of SEND_BUFFER (the system may give less): a
/// writer that must wait for room waits until the host's runtime next
/// looks at its sockets, which in a flood may be a few rounds later, and
/// the viewer would sit idle meanwhile.
fn more_room(stream: &tokio::net::UnixStream) {
    let _ = rustix::net::sockopt::set_socket_send_buffer_size(stream, SEND_BUFFER);
}

/// Each viewer's tasks hold a clone of `alive` (nothing is sent on it), so
/// `SocketGuard::close` sees when they have all ended.
async fn accept(
    listener: UnixListener,
    hub: mpsc::Sender<Control>,
    inbox: mpsc::Sender<Input>,
    alive: mpsc::Sender<()>,
    notes: Arc<Notes>,
) {
    let me = rustix::process::geteuid().as_raw();
    let slots = Arc::new(Semaphore::new(MAX_CLIENTS));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors, say: wait rather than spin.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        // The mode keeps others out; the uid check holds even if it changes.
        if stream.peer_cred().map(|c| c.uid()).ok() != Some(me) {
            continue;
        }
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            notes.note(Bad::TooMany);
            continue;
        };
        more_room(&stream);
        let (read, write) = stream.into_split();
        let viewer = viewer(
            read,
            write,
            hub.clone(),
            inbox.clone(),
            alive.clone(),
            notes.clone(),
        );
        tokio::spawn(async move {
            viewer.await;
            drop(slot);
        });
    }
}

async fn viewer(
    read: OwnedReadHalf,
    write: OwnedWriteHalf,
    hub: mpsc::Sender<Control>,
    inbox: mpsc::Sender<Input>,
    alive: mpsc::Sender<()>,
    notes: Arc<Notes>,
) {
    let mut read = BufReader::new(read);
    let mut first = Vec::new();
    let hello = tokio::time::timeout(HELLO_WITHIN, read_line(&mut read, &mut first)).await;
    let control = match (hello, first.trim_ascii()) {
        (Ok(Ok(true)), b"control") => true,
        (Ok(Ok(true)), b"view") => false,
        (Err(_), _) => return notes.note(Bad::Silent),
        (Ok(Ok(false)), _) | (Ok(Err(_)), _) => return,
        (Ok(Ok(true)), _) => return notes.note(Bad::Garbage),
    };
    let (reply, joined) = oneshot::channel();
    if hub.send(Control::Join { reply }).await.is_err() {
        return;
    }
    let Ok(joined) = joined.await else { return };
    let id = joined.id;
    let writer_alive = alive.clone();
    let writer = tokio::spawn(async move {
        if write_viewer(write, joined).await {
            notes.note(Bad::Slow);
        }
        drop(writer_alive);
    });
    let commands = read_commands(read, control, inbox);
    tokio::pin!(commands);
    tokio::select! {
        _ = writer => {}
        _ = &mut commands => {}
    }
    let _ = hub.send(Control::Leave(id)).await;
}

/// Reads one line of at most MAX_LINE bytes into `line`; false at the end.
async fn read_line(
    read: &mut BufReader<OwnedReadHalf>,
    line: &mut Vec<u8>,
) -> std::io::Result<bool> {
    line.clear();
    let mut limited = read.take(MAX_LINE as u64 + 1);
    let count = limited.read_until(b'\n', line).await?;
    Ok(count > 0)
}

/// A control viewer's lines become commands; anything else is ignored, so
/// a viewer sending garbage changes nothing.
async fn read_commands(
    mut read: BufReader<OwnedReadHalf>,
    control: bool,
    inbox: mpsc::Sender<Input>,
) {
    let mut line = Vec::new();
    while let Ok(true) = read_line(&mut read, &mut line).await {
        let Ok(text) = std::str::from_utf8(&line) else {
            continue;
        };
        if !control || line.len() > MAX_LINE {
            continue;
        }
        if let Ok(mut command) = Command::parse_line(text) {
            if let Command::Quit { reason } = &mut command {
                *reason = "quit from an attached viewer".into();
            }
            if inbox.send(Input::Command(command)).await.is_err() {
                return;
            }
        }
    }
}

/// How a viewer's writing ended.
enum Sent {
    /// All of it: the hub closed the queue.
    All,
    /// The hub dropped the viewer for falling behind.
    Dropped,
    /// Dropped, and too slow to take the rest of its frame: nothing more
    /// can be said to it.
    Stuck,
    /// The viewer is gone.
    Failed,
}

/// The history, then the live queue. Dropped by the hub: a last frame
/// saying so, if the viewer still reads, then the end (true).
async fn write_viewer(mut write: OwnedWriteHalf, joined: Joined) -> bool {
    // The queue is gone by then: a stopped viewer holds no memory while
    // the note waits.
    match write_all_queued(&mut write, joined).await {
        Sent::All => {
            let _ = write.shutdown().await;
            false
        }
        Sent::Dropped => {
            said_dropped(write).await;
            true
        }
        Sent::Stuck => true,
        Sent::Failed => false,
    }
}

/// Writes until the queue closes or the viewer is dropped or gone; each
/// write takes all that is queued, up to WRITE_BATCH.
async fn write_all_queued(write: &mut OwnedWriteHalf, joined: Joined) -> Sent {
    let Joined {
        first,
        live,
        queued,
        dropped,
        ..
    } = joined;
    let mut queue = Queue {
        live,
        dropped,
        hub_gone: false,
    };
    match queue.flush(write.write_all(&first)).await {
        Sent::All => {}
        other => return other,
    }
    drop(first);
    let mut pending: Vec<Chunk> = Vec::new();
    loop {
        let chunk = match queue.recv().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => return Sent::All,
            Err(ended) => return ended,
        };
        let mut taken = chunk.len();
        pending.push(chunk);
        while taken < WRITE_BATCH {
            match queue.live.try_recv() {
                Ok(chunk) => {
                    taken += chunk.len();
                    pending.push(chunk);
                }
                Err(_) => break,
            }
        }
        queued.fetch_sub(taken, Ordering::Relaxed);
        match queue.flush(write_chunks(write, &pending)).await {
            Sent::All => pending.clear(),
            other => return other,
        }
    }
}

/// A viewer's side of the hub: its live queue and the signal that it was
/// dropped (which errs when the hub is gone).
struct Queue {
    live: mpsc::UnboundedReceiver<Chunk>,
    dropped: oneshot::Receiver<()>,
    hub_gone: bool,
}

impl Queue {
    /// The next chunk; None when the hub closed the queue, Err when it
    /// dropped the viewer.
    async fn recv(&mut self) -> Result<Option<Chunk>, Sent> {
        loop {
            tokio::select! {
                chunk = self.live.recv() => return Ok(chunk),
                result = &mut self.dropped, if !self.hub_gone => match result {
                    Ok(()) => return Err(Sent::Dropped),
                    Err(_) => self.hub_gone = true,
                },
            }
        }
    }

    /// Runs `writing`. When the viewer is dropped meanwhile, its queue is
    /// freed and the write goes on for up to NOTE_WITHIN, so that it ends
    /// on a whole frame and the note that follows is read as one.
    async fn flush(&mut self, writing: impl Future<Output = std::io::Result<()>>) -> Sent {
        // One write future throughout: restarting it could repeat bytes.
        tokio::pin!(writing);
        let written = loop {
            tokio::select! {
                result = &mut writing => break result.is_ok(),
                result = &mut self.dropped, if !self.hub_gone => match result {
                    Ok(()) => {
                        self.live.close();
                        while self.live.try_recv().is_ok() {}
                        let finished = tokio::time::timeout(NOTE_WITHIN, &mut writing).await;
                        return match finished {
                            Ok(Ok(())) => Sent::Dropped,
                            Ok(Err(_)) => Sent::Failed,
                            Err(_) => Sent::Stuck,
                        };
                    }
                    Err(_) => self.hub_gone = true,
                },
            }
        };
        if written { Sent::All } else { Sent::Failed }
    }
}

/// Writes `chunks` whole, as few system calls as the socket allows and
/// without copying them together.
async fn write_chunks(write: &mut OwnedWriteHalf, chunks: &[Chunk]) -> std::io::Result<()> {
    let (mut index, mut offset) = (0, 0);
    while index < chunks.len() {
        let slices: Vec<IoSlice> = std::iter::once(IoSlice::new(&chunks[index][offset..]))
            .chain(chunks[index + 1..].iter().map(|chunk| IoSlice::new(chunk)))
            .take(64)
            .collect();
        let mut written = write.write_vectored(&slices).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while written > 0 {
            let left = chunks[index].len() - offset;
            if written < left {
                offset += written;
                break;
            }
            written -= left;
            (index, offset) = (index + 1, 0);
        }
    }
    Ok(())
}

async fn said_dropped(mut write: OwnedWriteHalf) {
    let mut note = Vec::new();
    super::frame::json_line(&mut note, protocol::DROPPED);
    let _ = tokio::time::timeout(NOTE_WITHIN, write.write_all(&note)).await;
    let _ = write.shutdown().await;
}

/// What a client did wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    TooMany,
    Silent,
    Garbage,
    Slow,
}

impl Bad {
    fn message(self) -> String {
        match self {
            Bad::TooMany => {
                format!("attach: {MAX_CLIENTS} clients are connected already; one more was refused")
            }
            Bad::Silent => format!(
                "attach: a client said neither `view` nor `control` within {}s: dropped",
                HELLO_WITHIN.as_secs()
            ),
            Bad::Garbage => {
                "attach: a client began with something other than `view` or `control`: dropped"
                    .into()
            }
            Bad::Slow => "attach: a viewer stopped reading and fell too far behind: dropped".into(),
        }
    }
}

/// Says in devloop's output that a bad client was dropped: the first of a
/// kind at once, then at most one note per NOTE_EVERY, counting the rest,
/// so that a thousand bad clients cost a few lines.
struct Notes {
    events: mpsc::Sender<Stamped>,
    /// Per kind: when it was last said, and how many since.
    said: Mutex<Vec<(Bad, tokio::time::Instant, u64)>>,
}

impl Notes {
    fn new(events: mpsc::Sender<Stamped>) -> Notes {
        Notes {
            events,
            said: Mutex::new(Vec::new()),
        }
    }

    fn note(&self, kind: Bad) {
        let now = tokio::time::Instant::now();
        let mut said = self.said.lock().unwrap_or_else(|e| e.into_inner());
        let more = match said.iter_mut().find(|(k, ..)| *k == kind) {
            Some((_, at, skipped)) if now.duration_since(*at) < NOTE_EVERY => {
                *skipped += 1;
                return;
            }
            Some((_, at, skipped)) => {
                *at = now;
                std::mem::take(skipped)
            }
            None => {
                said.push((kind, now, 0));
                0
            }
        };
        let message = match more {
            0 => kind.message(),
            n => format!(
                "{} (and {n} more like it since the last note)",
                kind.message()
            ),
        };
        let _ = self
            .events
            .try_send(Stamped::now(Event::Notice { message }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, Stamped, Stream};
    use crate::share::frame::{self, Reader};
    use crate::share::protocol::Message;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[tokio::test]
    async fn a_viewer_dropped_inside_a_frame_gets_the_rest_of_it_then_the_note() {
        let (host, viewer) = tokio::net::UnixStream::pair().unwrap();
        // A small buffer, so that writes stop inside frames.
        rustix::net::sockopt::set_socket_send_buffer_size(&host, 4096).unwrap();
        let (queue, live) = mpsc::unbounded_channel();
        let (drop_it, dropped) = oneshot::channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let mut encoder = frame::Encoder::new(&[]);
        let mut sent = 0;
        // More than one write takes, so some is still queued when dropped.
        for chunk_number in 0..400 {
            let mut chunk = Vec::new();
            for line in 0..10 {
                let line = format!("line {}: {}", chunk_number * 10 + line, "x".repeat(90));
                let event = Event::BuildOutput {
                    build: 1,
                    stream: Stream::Stdout,
                    line,
                };
                encoder.event(&mut chunk, &Stamped::now(event));
            }
            sent += chunk.len();
            queue.send(Arc::new(chunk)).unwrap();
        }
        queued.store(sent, Ordering::Relaxed);
        let joined = Joined {
            id: 1,
            first: Vec::new(),
            live,
            queued: queued.clone(),
            dropped,
        };
        let (_read, write) = host.into_split();
        let writer = tokio::spawn(write_viewer(write, joined));
        // Taken from the queue means being written: stuck on the full socket.
        while queued.load(Ordering::Relaxed) == sent {
            tokio::task::yield_now().await;
        }
        drop_it.send(()).unwrap();
        let viewer = viewer.into_std().unwrap();
        viewer.set_nonblocking(false).unwrap();
        let messages = tokio::task::spawn_blocking(move || {
            let mut reader = Reader::new(viewer);
            let mut messages = Vec::new();
            while let Ok(message) = reader.read() {
                messages.push(message);
            }
            messages
        })
        .await
        .unwrap();
        writer.await.unwrap();
        assert!(
            matches!(messages.last(), Some(Message::Dropped)),
            "{:?}",
            messages.last()
        );
        let lines = &messages[..messages.len() - 1];
        assert!(lines.len() < 4000, "what was queued is not sent");
        for (number, message) in lines.iter().enumerate() {
            let Message::Event(Stamped {
                event: Event::BuildOutput { line, .. },
                ..
            }) = message
            else {
                panic!("frame {number}: {message:?}");
            };
            assert!(line.starts_with(&format!("line {number}: ")), "{line}");
        }
    }
}
