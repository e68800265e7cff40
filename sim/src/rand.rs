//! Seeded randomness: the one ChaCha generator every random choice comes from.
//!
//! A run has one seed. Independent ChaCha8 *streams* of that seed feed the scheduler
//! (stream 0) and user code (stream 1), so replaying a recorded schedule, which makes
//! no scheduler draws, still hands user code the same numbers as the original run.
//! This module owns every draw; nothing else in the crate creates a generator.
//!
//! The public functions ([`random`], [`gen_range`], [`gen_bool`], [`fill_bytes`],
//! [`shuffle`]) draw from the current run's user stream and panic outside a run.
//! Their algorithms are our own (not `rand`'s), so a seed keeps meaning the same
//! numbers whatever version of `rand` is in the dependency tree.

use std::ops::{Range, RangeInclusive};

use crate::rng::DetRng;
use crate::runtime::context;

fn with_user_rng<R>(what: &'static str, f: impl FnOnce(&mut DetRng) -> R) -> R {
    context::user_rng(what, f)
}

/// Types [`random`] can produce.
pub trait Random: Sized {
    /// Draws one value.
    #[doc(hidden)]
    fn draw(rng: &mut DetRng) -> Self;
}

macro_rules! random_int {
    ($($t:ty),*) => {$(
        impl Random for $t {
            fn draw(rng: &mut DetRng) -> Self { rng.next_u64() as $t }
        }
    )*};
}
random_int!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

impl Random for u128 {
    fn draw(rng: &mut DetRng) -> Self {
        (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())
    }
}

impl Random for bool {
    fn draw(rng: &mut DetRng) -> Self {
        rng.next_u64() & 1 == 1
    }
}

impl Random for f64 {
    /// Uniform in `[0, 1)`.
    fn draw(rng: &mut DetRng) -> Self {
        (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

/// A random value from the current run's seed.
///
/// ```
/// # let mut rt = sim::Builder::new().seed(7).build();
/// # rt.block_on(async {
/// let coin: bool = sim::rand::random();
/// let x: u64 = sim::rand::random();
/// # let _ = (coin, x);
/// # }).unwrap();
/// ```
///
/// # Panics
/// Outside a simulated run.
pub fn random<T: Random>() -> T {
    with_user_rng("sim::rand::random", |rng| T::draw(rng))
}

/// Ranges [`gen_range`] accepts.
pub trait SampleRange<T> {
    /// Draws one value from the range. Panics on an empty range.
    #[doc(hidden)]
    fn sample(self, rng: &mut DetRng) -> T;
}

macro_rules! sample_int {
    ($($t:ty => $u:ty),*) => {$(
        impl SampleRange<$t> for Range<$t> {
            fn sample(self, rng: &mut DetRng) -> $t {
                assert!(self.start < self.end, "sim::rand::gen_range: empty range {}..{}", self.start, self.end);
                let span = self.end.wrapping_sub(self.start) as $u as u64;
                self.start.wrapping_add(rng.below(span) as $t)
            }
        }
        impl SampleRange<$t> for RangeInclusive<$t> {
            fn sample(self, rng: &mut DetRng) -> $t {
                let (start, end) = self.into_inner();
                assert!(start <= end, "sim::rand::gen_range: empty range {}..={}", start, end);
                let span = end.wrapping_sub(start) as $u as u64;
                if span == u64::MAX {
                    return rng.next_u64() as $t;
                }
                start.wrapping_add(rng.below(span + 1) as $t)
            }
        }
    )*};
}
sample_int!(u8 => u8, u16 => u16, u32 => u32, u64 => u64, usize => usize,
            i8 => u8, i16 => u16, i32 => u32, i64 => u64, isize => usize);

impl SampleRange<f64> for Range<f64> {
    fn sample(self, rng: &mut DetRng) -> f64 {
        assert!(
            self.start < self.end,
            "sim::rand::gen_range: empty range {}..{}",
            self.start,
            self.end
        );
        let x = self.start + (self.end - self.start) * f64::draw(rng);
        if x < self.end { x } else { self.start }
    }
}

/// A uniform value in `range` (`a..b` or `a..=b`) from the current run's seed.
///
/// ```
/// # let mut rt = sim::Builder::new().seed(7).build();
/// # rt.block_on(async {
/// let delay_ms = sim::rand::gen_range(1..=1000u64);
/// assert!((1..=1000).contains(&delay_ms));
/// # }).unwrap();
/// ```
///
/// # Panics
/// Outside a simulated run, or when the range is empty.
pub fn gen_range<T, R: SampleRange<T>>(range: R) -> T {
    with_user_rng("sim::rand::gen_range", |rng| range.sample(rng))
}

/// `true` with probability `p`.
///
/// # Panics
/// Outside a simulated run, or when `p` is not within `0.0..=1.0`.
pub fn gen_bool(p: f64) -> bool {
    assert!(
        (0.0..=1.0).contains(&p),
        "sim::rand::gen_bool: probability {p} is not within 0.0..=1.0"
    );
    with_user_rng("sim::rand::gen_bool", |rng| f64::draw(rng) < p)
}

/// Fills `dest` with random bytes.
///
/// # Panics
/// Outside a simulated run.
pub fn fill_bytes(dest: &mut [u8]) {
    with_user_rng("sim::rand::fill_bytes", |rng| rng.fill(dest))
}

/// Shuffles `slice` uniformly (Fisher-Yates).
///
/// # Panics
/// Outside a simulated run.
pub fn shuffle<T>(slice: &mut [T]) {
    with_user_rng("sim::rand::shuffle", |rng| {
        for i in (1..slice.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            slice.swap(i, j);
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    #[test]
    fn ranges_respect_bounds() {
        let mut r = DetRng::new(3, Stream::User);
        for _ in 0..1000 {
            let x: i32 = (-5..5).sample(&mut r);
            assert!((-5..5).contains(&x));
            let y: u8 = (250..=255u8).sample(&mut r);
            assert!(y >= 250);
            let z: u64 = (0..=u64::MAX).sample(&mut r);
            let _ = z;
            let f: f64 = (1.0..2.0).sample(&mut r);
            assert!((1.0..2.0).contains(&f));
        }
    }
}
