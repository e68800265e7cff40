//! The one generator type: ChaCha8 keyed by a run's seed, one stream per consumer
//! (the scheduler, user code, the network, BUGGIFY). A leaf of the crate; the public `sim::rand` functions
//! and the schedulers draw from it, and nothing else creates a generator.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// Which stream of the run's seed a generator draws from.
#[derive(Clone, Copy)]
pub(crate) enum Stream {
    Scheduler = 0,
    User = 1,
    /// The simulated network's draws (latency, loss, splits, swarm parameters), so
    /// that network traffic never shifts the scheduler's or the user's numbers.
    Network = 2,
    /// BUGGIFY sites' draws (enabled for the run, firing).
    Buggify = 3,
}

/// A deterministic generator: ChaCha8 keyed by the run's seed, on one stream.
pub struct DetRng(ChaCha8Rng);

impl DetRng {
    pub(crate) fn new(seed: u64, stream: Stream) -> Self {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        let mut rng = ChaCha8Rng::from_seed(key);
        rng.set_stream(stream as u64);
        DetRng(rng)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A uniform number in `0..n` (Lemire's nearly-divisionless method, unbiased).
    /// Panics if `n == 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "DetRng::below(0)");
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        if (m as u64) < n {
            let threshold = n.wrapping_neg() % n;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
            }
        }
        (m >> 64) as u64
    }

    pub fn fill(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_independent_and_stable() {
        let mut a = DetRng::new(42, Stream::Scheduler);
        let mut b = DetRng::new(42, Stream::User);
        let mut a2 = DetRng::new(42, Stream::Scheduler);
        let xa: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        let xb: Vec<u64> = (0..4).map(|_| b.next_u64()).collect();
        let xa2: Vec<u64> = (0..4).map(|_| a2.next_u64()).collect();
        assert_eq!(xa, xa2);
        assert_ne!(xa, xb);
    }

    #[test]
    fn below_is_in_range_and_covers_it() {
        let mut r = DetRng::new(1, Stream::User);
        let mut seen = [0u32; 7];
        for _ in 0..7000 {
            seen[r.below(7) as usize] += 1;
        }
        assert!(seen.iter().all(|&c| c > 800), "{seen:?}");
    }
}
