//! A new connection every 20 ms from another thread, all through a case's
//! edits: for a server restarted on each promotion, whose gaps the
//! harness's own polling (which stops once an edit is served) would miss.

use super::http::{self, Got};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the poller met: answers (2xx), refused or reset connections, and
/// other answers.
#[derive(Debug, Default, Clone, Copy)]
pub struct Met {
    pub answered: u32,
    pub refused: u32,
    pub failed: u32,
}

pub struct Poller {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Met>,
}

impl Poller {
    pub fn start(port: u16, path: String) -> Poller {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut met = Met::default();
            while !flag.load(Ordering::Relaxed) {
                match http::get(port, &path) {
                    Got::Body(body) if body.starts_with("HTTP/1.1 2") => met.answered += 1,
                    Got::Body(_) => met.failed += 1,
                    Got::Refused => met.refused += 1,
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            met
        });
        Poller { stop, thread }
    }

    pub fn finish(self) -> Met {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("poller thread")
    }
}
