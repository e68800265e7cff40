//! The one generator type: ChaCha8 keyed by a run's seed, one stream per consumer
//! (the scheduler, user code, the network, BUGGIFY), or driven by input bytes
//! (`Strategy::Bytes`, for fuzzers: [`ByteSource`]). A leaf of the crate; the public
//! `sim::rand` functions and the schedulers draw from it, and nothing else creates a
//! generator.

use std::sync::{Arc, Mutex, MutexGuard};

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// Input bytes that drive a run (`Strategy::Bytes`): every scheduling decision and
/// every draw of user code takes the next bytes, in the order the run asks, so a
/// fuzzer's mutation at an offset changes whatever that offset decides. Once fewer
/// bytes remain than a request needs, the source is spent: later decisions and draws
/// come from generators seeded by the bytes taken until then ([`tail_seed`]), so every
/// input is a complete run, a function of the bytes it took. What those generators
/// decide is written down as bytes too, so [`replay_input`] is an input that replays
/// the whole run decision for decision (a fuzzer keeps that one: mutating it changes
/// one decision, not the whole tail).
///
/// [`tail_seed`]: ByteSource::tail_seed
/// [`replay_input`]: ByteSource::replay_input
pub(crate) struct ByteSource {
    data: Vec<u8>,
    /// Bytes taken so far. Invariant: `pos <= data.len()`.
    pos: usize,
    /// Set when the source is spent: the seed of what comes after.
    tail: Option<u64>,
    /// The decisions and draws made after the source was spent, as the bytes that
    /// would have made them.
    written: Vec<u8>,
    /// What the first [`CHOICES_RECORDED`] bytes taken decided, in order.
    choices: Vec<Choice>,
}

/// How many bytes at the start of an input [`ByteSource`] records the [`Choice`]s of:
/// enough for a fuzzer's fresh heads (`sim::fuzz`), cheap for long inputs.
pub(crate) const CHOICES_RECORDED: usize = 64;

/// One decision or draw that a run under `Strategy::Bytes` took from its input: where
/// its bytes are and, for a choice among a known number of options (a scheduling
/// decision among its candidates, a `sim::rand` draw below `n`), which option the
/// bytes picked and how many there were. A fuzzer that knows the options of a run's
/// first decisions can make its next inputs take the options not tried yet
/// (`sim::fuzz::Fuzzer` does, for its fresh inputs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The offset of its first byte in the input.
    pub at: usize,
    /// How many bytes it took (1, 2, 4 or 8 for a choice; any for a fill).
    pub width: usize,
    /// The option taken, in `0..arity` (the bytes' little-endian value modulo
    /// `arity`); for a raw draw, the value of a `next_u64`, 0 for a fill.
    pub index: u64,
    /// How many options there were; 0 for a draw of raw bytes (`next_u64`, `fill`),
    /// whose every value is its own option.
    pub arity: u64,
}

/// The byte source a run's scheduler and user generator share.
pub(crate) type SharedBytes = Arc<Mutex<ByteSource>>;

/// The source behind `bytes` (a run is single-threaded: the lock is never contended;
/// it is a mutex only so that values holding a generator, such as the network's
/// sockets, can be `Send` like tokio's).
pub(crate) fn source(bytes: &SharedBytes) -> MutexGuard<'_, ByteSource> {
    bytes
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ByteSource {
    /// A source over `data`, shared.
    pub(crate) fn shared(data: Vec<u8>) -> SharedBytes {
        Arc::new(Mutex::new(ByteSource {
            data,
            pos: 0,
            tail: None,
            written: Vec::new(),
            choices: Vec::new(),
        }))
    }

    /// The next `width` bytes (1 to 8) as a little-endian number, or `None` when the
    /// source is spent (it is from the first request fewer bytes remain for). The
    /// value is a choice among `arity` options (0: a raw draw), for
    /// [`choices`](Self::choices).
    pub(crate) fn take(&mut self, width: usize, arity: u64) -> Option<u64> {
        if self.tail.is_some() {
            return None;
        }
        let Some(chunk) = self.data.get(self.pos..self.pos + width) else {
            self.spend();
            return None;
        };
        let value = chunk
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        self.record(width, value, arity);
        self.pos += width;
        Some(value)
    }

    /// Notes the choice of the next `width` bytes of the replay input, about to be
    /// taken or written: their `value`, a choice among `arity` options (0: raw).
    fn record(&mut self, width: usize, value: u64, arity: u64) {
        let at = self.pos + self.written.len();
        if at < CHOICES_RECORDED {
            self.choices.push(Choice {
                at,
                width,
                index: if arity == 0 { value } else { value % arity },
                arity,
            });
        }
    }

    /// What the bytes taken from the start of the input (its first
    /// [`CHOICES_RECORDED`]) decided, in order.
    pub(crate) fn choices(&self) -> &[Choice] {
        &self.choices
    }

    /// Copies the next bytes into the front of `dest`; returns how many (the source is
    /// spent if that is fewer than `dest.len()`).
    fn take_into(&mut self, dest: &mut [u8]) -> usize {
        if self.tail.is_some() {
            return 0;
        }
        let n = dest.len().min(self.data.len() - self.pos);
        dest[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        if n > 0 {
            self.record(n, 0, 0);
        }
        self.pos += n;
        if n < dest.len() {
            self.spend();
        }
        n
    }

    /// No request can be met any more: fixes the seed of what follows from the bytes
    /// taken so far, and leaves the rest unread.
    fn spend(&mut self) {
        if self.tail.is_none() {
            self.tail = Some(tail_seed_of(&self.data[..self.pos]));
        }
    }

    /// Once spent, the seed the run's later decisions and draws come from (made from
    /// the bytes taken, not the ones left unread).
    pub(crate) fn tail_seed(&self) -> Option<u64> {
        self.tail
    }

    /// Writes down a value decided past the end of the input, as the `width` bytes
    /// (little-endian) that would have decided it.
    pub(crate) fn write(&mut self, value: u64, width: usize, arity: u64) {
        self.record(width, value, arity);
        self.written
            .extend_from_slice(&value.to_le_bytes()[..width]);
    }

    /// The input that replays the run so far decision for decision: the bytes it took,
    /// then what was decided past their end.
    pub(crate) fn replay_input(&self) -> Vec<u8> {
        let mut input = self.data[..self.pos].to_vec();
        input.extend_from_slice(&self.written);
        input
    }
}

/// The tail seed of a source spent after taking `taken` (see
/// [`ByteSource::tail_seed`]): what a fuzzer computes to choose the shape of the tail
/// of a fresh input.
pub(crate) fn tail_seed_of(taken: &[u8]) -> u64 {
    fnv(taken)
}

/// FNV-1a of some bytes.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// How many bytes a choice among `n` takes: 1 up to 256 choices, 2 up to 65,536,
/// 4 up to 2^32, else 8.
pub(crate) fn byte_width(n: u64) -> usize {
    match n {
        0..=256 => 1,
        257..=65_536 => 2,
        65_537..=0x1_0000_0000 => 4,
        _ => 8,
    }
}

/// Which stream of the run's seed a generator draws from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stream {
    Scheduler = 0,
    User = 1,
    /// The fuzzer's mutations (`sim::fuzz`), keyed by the fuzzing seed.
    Fuzzer = 2,
    /// The simulated network's draws (latency, loss, splits, swarm parameters), so
    /// that network traffic never shifts the scheduler's or the user's numbers.
    Network = 3,
    /// BUGGIFY sites' draws (enabled for the run, firing).
    Buggify = 4,
}

/// A deterministic generator: ChaCha8 keyed by the run's seed, on one stream; or,
/// for user draws under `Strategy::Bytes`, the input bytes first (see [`ByteSource`]).
pub struct DetRng {
    chacha: ChaCha8Rng,
    /// The input to draw from first, for a generator driven by bytes.
    bytes: Option<SharedBytes>,
    /// Whether `chacha` has been keyed by the spent source's tail seed.
    reseeded: bool,
    stream: Stream,
}

impl DetRng {
    pub(crate) fn new(seed: u64, stream: Stream) -> Self {
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        let mut chacha = ChaCha8Rng::from_seed(key);
        chacha.set_stream(stream as u64);
        DetRng {
            chacha,
            bytes: None,
            reseeded: false,
            stream,
        }
    }

    /// A generator that draws from `bytes` while they last, then (on `stream`) from a
    /// generator seeded by the bytes the run took, writing its draws down in `bytes`.
    pub(crate) fn from_bytes(bytes: SharedBytes, stream: Stream) -> Self {
        DetRng {
            bytes: Some(bytes),
            ..DetRng::new(0, stream)
        }
    }

    /// A value of `width` bytes: from the input while it lasts, else from `draw` on
    /// the generator keyed by the spent input (written down in the source).
    #[inline]
    fn draw_bytes(
        &mut self,
        width: usize,
        arity: u64,
        draw: impl FnOnce(&mut ChaCha8Rng) -> u64,
    ) -> u64 {
        let Some(bytes) = &self.bytes else {
            return draw(&mut self.chacha);
        };
        if let Some(v) = source(bytes).take(width, arity) {
            return v;
        }
        let bytes = bytes.clone();
        self.reseed(&bytes);
        let v = draw(&mut self.chacha);
        source(&bytes).write(v, width, arity);
        v
    }

    /// Keys the generator by the spent source's tail seed, once.
    #[cold]
    fn reseed(&mut self, bytes: &SharedBytes) {
        if !self.reseeded {
            let seed = source(bytes)
                .tail_seed()
                .expect("a spent source has a tail seed");
            self.chacha = DetRng::new(seed, self.stream).chacha;
            self.reseeded = true;
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        self.draw_bytes(8, 0, |c| c.next_u64())
    }

    /// A uniform number in `0..n` (Lemire's nearly-divisionless method, unbiased;
    /// from input bytes, the next [`byte_width`] bytes modulo `n`).
    /// Panics if `n == 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "DetRng::below(0)");
        self.draw_bytes(byte_width(n), n, |c| lemire(c, n)) % n
    }

    pub fn fill(&mut self, dest: &mut [u8]) {
        let Some(bytes) = self.bytes.clone() else {
            return self.chacha.fill_bytes(dest);
        };
        let taken = source(&bytes).take_into(dest);
        if taken < dest.len() {
            self.reseed(&bytes);
            self.chacha.fill_bytes(&mut dest[taken..]);
            let mut source = source(&bytes);
            for &b in &dest[taken..] {
                source.write(u64::from(b), 1, 0);
            }
        }
    }
}

/// A uniform number in `0..n` from `rng` (Lemire's nearly-divisionless method).
fn lemire(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    let mut m = u128::from(rng.next_u64()) * u128::from(n);
    if (m as u64) < n {
        let threshold = n.wrapping_neg() % n;
        while (m as u64) < threshold {
            m = u128::from(rng.next_u64()) * u128::from(n);
        }
    }
    (m >> 64) as u64
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

    #[test]
    fn bytes_come_first_then_a_generator_seeded_by_them() {
        let bytes = ByteSource::shared(vec![7, 1, 0, 0, 0, 0, 0, 0, 0, 9]);
        let mut r = DetRng::from_bytes(bytes.clone(), Stream::User);
        assert_eq!(r.below(10), 7); // one byte for 10 choices
        assert_eq!(r.next_u64(), 1); // eight bytes, little-endian
        let mut buf = [0u8; 3];
        r.fill(&mut buf);
        assert_eq!(buf[0], 9); // the last byte, then the generator
        let (x, y) = (r.below(1000), r.next_u64());
        // The replay input makes every draw from bytes: the same values, no tail.
        let replay = source(&bytes).replay_input();
        assert_eq!(replay.len(), 10 + 2 + 2 + 8);
        let again = ByteSource::shared(replay);
        let mut r2 = DetRng::from_bytes(again.clone(), Stream::User);
        let mut buf2 = [0u8; 3];
        assert_eq!((r2.below(10), r2.next_u64()), (7, 1));
        r2.fill(&mut buf2);
        assert_eq!((buf2, r2.below(1000), r2.next_u64()), (buf, x, y));
        assert!(source(&again).tail_seed().is_none());
        // Past the end, the bytes taken decide: unread bytes change nothing.
        let cut = ByteSource::shared(vec![7, 1, 0, 0, 0, 0, 0, 0, 0]);
        let mut r3 = DetRng::from_bytes(cut, Stream::User);
        let longer = ByteSource::shared(vec![7, 1, 0, 0, 0, 0, 0, 0, 0, 200]);
        let mut r4 = DetRng::from_bytes(longer, Stream::User);
        r3.below(10);
        r4.below(10);
        r3.next_u64();
        r4.next_u64();
        assert_eq!(r3.next_u64(), r4.next_u64());
    }

    #[test]
    fn widths_grow_with_the_choice() {
        assert_eq!(byte_width(2), 1);
        assert_eq!(byte_width(256), 1);
        assert_eq!(byte_width(257), 2);
        assert_eq!(byte_width(70_000), 4);
        assert_eq!(byte_width(u64::MAX), 8);
    }
}
