//! The attach socket's messages. Host to viewer, in frames (see `frame`):
//! a hello, the history and then the live events, output lines in binary
//! and the rest as the same JSON objects as `--json`, with a few lines of
//! its own marked `"attach"`. Viewer to host, in lines: first `view` or
//! `control`, then (control only) the commands standard input takes.

use crate::event::Stamped;
use serde::{Deserialize, Serialize};

/// Ends the history: what follows happens now.
pub const LIVE: &str = r#"{"attach":"live"}"#;
/// The last line to a viewer that fell behind.
pub const DROPPED: &str = r#"{"attach":"dropped"}"#;
/// Longest line a viewer may send.
pub const MAX_LINE: usize = 4096;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    /// `user@machine, pid N`
    pub host: String,
    pub processes: Vec<String>,
    pub scrollback: usize,
    pub viewers: usize,
    pub selected: usize,
}

impl Hello {
    pub fn new(processes: &[String], scrollback: usize) -> Hello {
        Hello {
            host: host_name(),
            processes: processes.to_vec(),
            scrollback,
            viewers: 0,
            selected: 0,
        }
    }

    pub fn to_line(&self) -> String {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        value["attach"] = "hello".into();
        value.to_string()
    }
}

pub fn viewers_line(count: usize) -> String {
    format!(r#"{{"attach":"viewers","count":{count}}}"#)
}

pub fn selected_line(pane: usize) -> String {
    format!(r#"{{"attach":"selected","pane":{pane}}}"#)
}

/// One line from the host, read.
#[derive(Debug)]
pub enum Message {
    Hello(Hello),
    Event(Stamped),
    Live,
    Viewers(usize),
    Selected(usize),
    Dropped,
    /// A line this viewer does not know: ignored, for newer hosts.
    Other,
}

impl Message {
    pub fn parse(line: &str) -> Message {
        if !line.starts_with(r#"{"attach":"#) {
            return Stamped::from_json(line).map_or(Message::Other, Message::Event);
        }
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            return Message::Other;
        };
        let number = |key: &str| value.get(key).and_then(|v| v.as_u64()).map(|n| n as usize);
        match value["attach"].as_str() {
            Some("hello") => {
                serde_json::from_value(value.clone()).map_or(Message::Other, Message::Hello)
            }
            Some("live") => Message::Live,
            Some("dropped") => Message::Dropped,
            Some("viewers") => number("count").map_or(Message::Other, Message::Viewers),
            Some("selected") => number("pane").map_or(Message::Other, Message::Selected),
            _ => Message::Other,
        }
    }
}

/// `user@machine, pid N`: who a viewer is looking at.
fn host_name() -> String {
    let user = std::env::var("USER")
        .unwrap_or_else(|_| format!("uid {}", rustix::process::geteuid().as_raw()));
    let mut buffer = [0u8; 256];
    // SAFETY: gethostname writes at most the given length into the buffer.
    let ok = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) } == 0;
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    let machine = if ok {
        String::from_utf8_lossy(&buffer[..end]).into_owned()
    } else {
        "localhost".into()
    };
    format!("{user}@{machine}, pid {}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back() {
        let hello = Hello::new(&["web".into()], 10);
        match Message::parse(&hello.to_line()) {
            Message::Hello(back) => assert_eq!(back.processes, vec!["web".to_string()]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(Message::parse(LIVE), Message::Live));
        assert!(matches!(
            Message::parse(&viewers_line(3)),
            Message::Viewers(3)
        ));
        assert!(matches!(
            Message::parse(&selected_line(2)),
            Message::Selected(2)
        ));
        assert!(matches!(Message::parse("garbage"), Message::Other));
        assert!(matches!(Message::parse(r#"{"attach":5}"#), Message::Other));
    }
}
