//! Rings that keep at most a given number of items (a pane's lines, the
//! history a newcomer gets).

use std::collections::VecDeque;

/// Call before pushing onto a ring that keeps at most `max` items: it grows
/// by doubling, as VecDeque would, but never past `max + 1` (the push comes
/// before the oldest goes), so 10,000 lines never take the 16,384 slots of
/// the next power of two.
pub fn make_room<T>(ring: &mut VecDeque<T>, max: usize) {
    if ring.len() < ring.capacity() {
        return;
    }
    let bound = max.saturating_add(1).max(ring.len() + 1);
    let want = ring.capacity().saturating_mul(2).max(8).min(bound);
    ring.reserve_exact(want - ring.len());
}

#[cfg(test)]
mod tests {
    use super::make_room;
    use std::collections::VecDeque;

    #[test]
    fn grows_by_doubling_up_to_its_bound_and_no_further() {
        let mut ring = VecDeque::new();
        let mut grew = 0;
        for i in 0..25_000 {
            let before = ring.capacity();
            make_room(&mut ring, 10_000);
            grew += usize::from(ring.capacity() != before);
            ring.push_back(i);
            if ring.len() > 10_000 {
                ring.pop_front();
            }
        }
        assert_eq!(ring.capacity(), 10_001);
        assert!(grew <= 12, "doubling: {grew} reallocations");
        // Bounds below 8, and below what it holds, never panic.
        make_room(&mut ring, 5);
        ring.push_back(0);
        let mut small = VecDeque::new();
        make_room(&mut small, 2);
        small.push_back(1);
        assert_eq!(small.capacity(), 3);
    }
}
