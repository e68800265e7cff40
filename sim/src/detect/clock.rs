//! Vector clocks for happens-before.

/// A vector clock: component `i` counts task `i`'s release operations known here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct VectorClock(Vec<u32>);

impl VectorClock {
    pub(crate) fn get(&self, task: usize) -> u32 {
        self.0.get(task).copied().unwrap_or(0)
    }

    pub(crate) fn set(&mut self, task: usize, value: u32) {
        if task >= self.0.len() {
            self.0.resize(task + 1, 0);
        }
        self.0[task] = value;
    }

    pub(crate) fn tick(&mut self, task: usize) {
        let v = self.get(task) + 1;
        self.set(task, v);
    }

    /// `self = max(self, other)` componentwise.
    pub(crate) fn join(&mut self, other: &VectorClock) {
        if other.0.len() > self.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, &b) in self.0.iter_mut().zip(&other.0) {
            *a = (*a).max(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_takes_the_componentwise_max() {
        let mut a = VectorClock::default();
        a.set(0, 3);
        a.set(2, 1);
        let mut b = VectorClock::default();
        b.set(1, 5);
        b.set(2, 4);
        a.join(&b);
        assert_eq!((a.get(0), a.get(1), a.get(2), a.get(7)), (3, 5, 4, 0));
        a.tick(7);
        assert_eq!(a.get(7), 1);
    }
}
