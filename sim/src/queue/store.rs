//! The orders a queue can keep its items in: FIFO, LIFO, smallest first. Pure data
//! structures; no waiting, no tracing.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

/// How a queue stores and hands out items.
pub(crate) trait Store<T> {
    fn new() -> Self;
    fn push(&mut self, item: T);
    fn pop(&mut self) -> Option<T>;
    fn len(&self) -> usize;
    fn drain_all(&mut self) -> Vec<T>;
}

/// First in, first out.
pub(crate) struct Fifo<T>(VecDeque<T>);

impl<T> Store<T> for Fifo<T> {
    fn new() -> Self {
        Fifo(VecDeque::new())
    }
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn drain_all(&mut self) -> Vec<T> {
        self.0.drain(..).collect()
    }
}

/// Last in, first out.
pub(crate) struct Lifo<T>(Vec<T>);

impl<T> Store<T> for Lifo<T> {
    fn new() -> Self {
        Lifo(Vec::new())
    }
    fn push(&mut self, item: T) {
        self.0.push(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn drain_all(&mut self) -> Vec<T> {
        std::mem::take(&mut self.0)
    }
}

/// An item with its arrival number: the heap's order is smallest item first, then
/// earliest arrival.
struct Entry<T> {
    item: T,
    seq: u64,
}

impl<T: Ord> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap is a max-heap: reverse both keys.
        other.item.cmp(&self.item).then(other.seq.cmp(&self.seq))
    }
}

impl<T: Ord> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Ord> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T: Ord> Eq for Entry<T> {}

/// Smallest first; equal items in arrival order.
pub(crate) struct Prio<T> {
    heap: BinaryHeap<Entry<T>>,
    seq: u64,
}

impl<T: Ord> Store<T> for Prio<T> {
    fn new() -> Self {
        Prio {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
    fn push(&mut self, item: T) {
        self.heap.push(Entry {
            item,
            seq: self.seq,
        });
        self.seq += 1;
    }
    fn pop(&mut self) -> Option<T> {
        self.heap.pop().map(|e| e.item)
    }
    fn len(&self) -> usize {
        self.heap.len()
    }
    fn drain_all(&mut self) -> Vec<T> {
        self.heap.drain().map(|e| e.item).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order<S: Store<(u8, char)>>(items: &[(u8, char)]) -> Vec<(u8, char)> {
        let mut s = S::new();
        items.iter().for_each(|&i| s.push(i));
        std::iter::from_fn(|| s.pop()).collect()
    }

    #[test]
    fn orders() {
        let items = [(2, 'a'), (1, 'b'), (2, 'c'), (1, 'd')];
        assert_eq!(order::<Fifo<_>>(&items), items);
        assert_eq!(
            order::<Lifo<_>>(&items),
            [(1, 'd'), (2, 'c'), (1, 'b'), (2, 'a')]
        );
        assert_eq!(
            order::<Prio<_>>(&items),
            [(1, 'b'), (1, 'd'), (2, 'a'), (2, 'c')]
        );
    }

    #[test]
    fn priority_ties_are_fifo() {
        // Ordered by priority only: the name is a payload the order cannot see.
        struct Job(u8, char);
        impl PartialEq for Job {
            fn eq(&self, o: &Self) -> bool {
                self.0 == o.0
            }
        }
        impl Eq for Job {}
        impl PartialOrd for Job {
            fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
                Some(self.cmp(o))
            }
        }
        impl Ord for Job {
            fn cmp(&self, o: &Self) -> Ordering {
                self.0.cmp(&o.0)
            }
        }
        let mut s = Prio::new();
        for (p, n) in [(3, 'a'), (1, 'b'), (1, 'c'), (3, 'd'), (1, 'e')] {
            s.push(Job(p, n));
        }
        let got: String = std::iter::from_fn(|| s.pop()).map(|j| j.1).collect();
        assert_eq!(got, "bcead");
    }
}
