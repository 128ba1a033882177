//! The hub's gathering for viewers, on paused time.

use super::*;
use crate::event::Stream;
use tokio::time::{Instant, advance};

fn line(n: usize) -> Stamped {
    Stamped::now(Event::BuildOutput {
        build: 1,
        stream: Stream::Stdout,
        line: format!("line {n}"),
    })
}

struct Running {
    events: mpsc::Sender<Stamped>,
    viewer: Joined,
    _local: mpsc::Receiver<Stamped>,
    _finish: oneshot::Sender<()>,
}

async fn hub_with_a_viewer() -> Running {
    let (local, local_rx) = mpsc::channel(LOCAL_QUEUE);
    let hub = Hub::new(&[], 10, Local::Lines(local), None);
    let (events, events_rx) = mpsc::channel(1024);
    let (control, control_rx) = mpsc::channel(4);
    let (finish, finish_rx) = oneshot::channel();
    tokio::spawn(hub.run(events_rx, control_rx, finish_rx));
    let (reply, joined) = oneshot::channel();
    control.send(Control::Join { reply }).await.unwrap();
    let mut viewer = joined.await.unwrap();
    // The viewer count, sent when it joined.
    viewer.live.recv().await.unwrap();
    Running {
        events,
        viewer,
        _local: local_rx,
        _finish: finish,
    }
}

#[tokio::test(start_paused = true)]
async fn a_lone_event_reaches_viewers_after_the_gathering_time() {
    let mut hub = hub_with_a_viewer().await;
    let sent = Instant::now();
    hub.events.send(line(1)).await.unwrap();
    let chunk = hub.viewer.live.recv().await.unwrap();
    assert_eq!(sent.elapsed(), GATHER_FOR);
    assert!(chunk.ends_with(b"line 1"));
}

#[tokio::test(start_paused = true)]
async fn a_steady_trickle_does_not_put_off_the_sending() {
    let mut hub = hub_with_a_viewer().await;
    let start = Instant::now();
    let first = loop {
        hub.events.send(line(0)).await.unwrap();
        tokio::task::yield_now().await;
        if let Ok(chunk) = hub.viewer.live.try_recv() {
            break chunk;
        }
        assert!(
            start.elapsed() <= GATHER_FOR,
            "held past the gathering time"
        );
        advance(GATHER_FOR / 4).await;
    };
    let one = first.len() / 5;
    assert_eq!(first.len(), 5 * one, "the five that came meanwhile");
}

#[tokio::test(start_paused = true)]
async fn a_flood_goes_in_chunks_of_the_gathering_size_at_once() {
    let mut hub = hub_with_a_viewer().await;
    let start = Instant::now();
    let lines = CHUNK_BYTES / 20;
    let sender = hub.events.clone();
    tokio::spawn(async move {
        for n in 0..lines {
            sender.send(line(n)).await.unwrap();
        }
    });
    let chunk = hub.viewer.live.recv().await.unwrap();
    assert!(chunk.len() >= CHUNK_BYTES, "{}", chunk.len());
    assert_eq!(start.elapsed(), Duration::ZERO, "no waiting for the timer");
}
