//! One pane's scrollback: styled lines bounded in count and bytes, a scroll
//! position that follows the tail until the user scrolls up.

use super::ansi::{plain_text, styled_line};
use ratatui::text::Line;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::time::SystemTime;

/// Bytes of text kept per pane, whatever the line count allows.
pub const MAX_PANE_BYTES: usize = 4 * 1024 * 1024;

pub struct PaneLine {
    pub at: SystemTime,
    /// As the child wrote it, styled only when drawn (the lines in view):
    /// a kept line is one allocation.
    text: Box<str>,
}

impl PaneLine {
    pub fn line(&self) -> Line<'_> {
        styled_line(&self.text)
    }

    /// The text without styles, for search.
    pub fn plain(&self) -> Cow<'_, str> {
        plain_text(&self.text)
    }

    fn bytes(&self) -> usize {
        self.text.len() + std::mem::size_of::<PaneLine>()
    }
}

pub struct Scrollback {
    lines: VecDeque<PaneLine>,
    bytes: usize,
    max_lines: usize,
    max_bytes: usize,
    /// Lines between the bottom of the view and the newest line; 0 follows.
    offset: usize,
    /// Lines dropped from the front so far: index + this is a line's number
    /// for as long as the pane lives, which search remembers.
    dropped: usize,
}

impl Scrollback {
    pub fn new(max_lines: usize) -> Scrollback {
        Scrollback::with_limits(max_lines, MAX_PANE_BYTES)
    }

    /// How many lines it keeps.
    pub fn capacity(&self) -> usize {
        self.max_lines
    }

    pub fn with_limits(max_lines: usize, max_bytes: usize) -> Scrollback {
        Scrollback {
            lines: VecDeque::new(),
            bytes: 0,
            max_lines: max_lines.max(1),
            max_bytes,
            offset: 0,
            dropped: 0,
        }
    }

    pub fn push(&mut self, at: SystemTime, text: &str) {
        let line = PaneLine {
            at,
            text: text.into(),
        };
        self.bytes += line.bytes();
        crate::ring::make_room(&mut self.lines, self.max_lines);
        self.lines.push_back(line);
        if self.offset > 0 {
            // Scrolled up: keep the same lines in view while output arrives.
            self.offset += 1;
        }
        while self.lines.len() > self.max_lines
            || (self.bytes > self.max_bytes && self.lines.len() > 1)
        {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.bytes();
                self.dropped += 1;
            }
        }
        self.offset = self.offset.min(self.lines.len().saturating_sub(1));
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn get(&self, index: usize) -> Option<&PaneLine> {
        self.lines.get(index)
    }

    /// The number of the line at `index` (see `dropped`).
    pub fn number(&self, index: usize) -> usize {
        self.dropped + index
    }

    /// The index of line `number`, while it is still kept.
    pub fn index_of(&self, number: usize) -> Option<usize> {
        number
            .checked_sub(self.dropped)
            .filter(|&i| i < self.lines.len())
    }

    pub fn clear(&mut self) {
        self.dropped += self.lines.len();
        self.lines.clear();
        self.bytes = 0;
        self.offset = 0;
    }

    pub fn following(&self) -> bool {
        self.offset == 0
    }

    pub fn follow(&mut self) {
        self.offset = 0;
    }

    /// Scrolls by `delta` lines (positive: up, into the past).
    pub fn scroll(&mut self, delta: isize) {
        let max = self.lines.len().saturating_sub(1);
        self.offset = self.offset.saturating_add_signed(delta).min(max);
    }

    pub fn scroll_to_top(&mut self) {
        self.offset = self.lines.len().saturating_sub(1);
    }

    /// Puts line `index` at the bottom of the view.
    pub fn reveal(&mut self, index: usize) {
        self.offset = self.lines.len().saturating_sub(index + 1);
    }

    /// The indices of the lines in a view of `height` rows.
    pub fn visible(&self, height: usize) -> std::ops::Range<usize> {
        let end = self.lines.len().saturating_sub(self.offset);
        end.saturating_sub(height)..end
    }

    /// Index of the next line containing `query` from `from` in `direction`
    /// (+1 forward, -1 back), wrapping around.
    pub fn find(&self, query: &str, from: usize, forward: bool) -> Option<usize> {
        let count = self.lines.len();
        if count == 0 || query.is_empty() {
            return None;
        }
        (1..=count)
            .map(|step| {
                if forward {
                    (from + step) % count
                } else {
                    (from + count * 2 - step) % count
                }
            })
            .find(|&i| super::search::contains(&self.lines[i].plain(), query))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(n: usize, max_lines: usize) -> Scrollback {
        let mut s = Scrollback::new(max_lines);
        for i in 0..n {
            s.push(SystemTime::now(), &format!("line {i}"));
        }
        s
    }

    #[test]
    fn bounded_in_lines() {
        let s = filled(25_000, 10_000);
        assert_eq!(s.len(), 10_000);
        assert_eq!(s.get(0).unwrap().plain(), "line 15000");
    }

    #[test]
    fn bounded_in_bytes() {
        let mut s = Scrollback::with_limits(1_000_000, 64 * 1024);
        let long = "x".repeat(1000);
        for _ in 0..10_000 {
            s.push(SystemTime::now(), &long);
        }
        assert!(s.bytes() <= 64 * 1024, "{} bytes kept", s.bytes());
        assert!(s.len() < 70);
    }

    #[test]
    fn follows_until_scrolled_and_keeps_the_view_still() {
        let mut s = filled(100, 1000);
        assert_eq!(s.visible(10), 90..100);
        s.scroll(5);
        assert!(!s.following());
        assert_eq!(s.visible(10), 85..95);
        s.push(SystemTime::now(), "new");
        assert_eq!(s.visible(10), 85..95, "new output moved a scrolled view");
        s.follow();
        assert_eq!(s.visible(10), 91..101);
        s.scroll(-3);
        assert!(s.following());
    }

    #[test]
    fn finds_forward_and_back_with_wrap() {
        let s = filled(10, 100);
        assert_eq!(s.find("LINE 3", 0, true), Some(3));
        assert_eq!(s.find("line 3", 3, true), Some(3), "wraps to itself");
        assert_eq!(s.find("line 8", 2, false), Some(8));
        assert_eq!(s.find("nothing", 0, true), None);
    }

    #[test]
    fn line_numbers_survive_dropped_lines() {
        let mut s = filled(10, 10);
        let number = s.number(s.find("line 7", 0, true).unwrap());
        s.push(SystemTime::now(), "line 10");
        s.push(SystemTime::now(), "line 11");
        let index = s.index_of(number).unwrap();
        assert_eq!(s.get(index).unwrap().plain(), "line 7");
        assert_eq!(s.index_of(0), None, "line 0 is gone");
    }
}
