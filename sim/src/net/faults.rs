//! What a link does to the messages it carries, as data: [`Latency`] distributions,
//! [`LinkConfig`] (latency, loss, duplication, reordering, segment splitting) and
//! [`Faults`], the parameters a swarm run draws from its seed (and that a report
//! prints so `Builder::net_faults` restores them).
//!
//! Also the run's BUGGIFY configuration ([`BuggifyConfig`]), and what a trace says about
//! both ([`faults_of`], [`buggify_fired`], [`report_lines`]): the data the runtime's
//! configuration and a failure report need, kept here so that neither depends on the
//! network's sockets.
//!
//! Owns the parsing, printing and sampling of these values; it draws only from the
//! generator it is handed (the network's stream) and knows nothing of sockets.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::rng::DetRng;
use crate::trace::{EventKind, ResourceOp, Trace};

/// BUGGIFY's configuration for a run (see [`Builder::buggify`](crate::Builder::buggify)).
#[derive(Clone, Debug)]
pub(crate) struct BuggifyConfig {
    pub(crate) enabled: bool,
    /// Sites (`file:line:column`) kept off.
    pub(crate) off: Vec<String>,
}

impl Default for BuggifyConfig {
    fn default() -> Self {
        BuggifyConfig {
            enabled: true,
            off: Vec::new(),
        }
    }
}

/// The network faults a run of `trace` applied with [`swarm`](crate::net::swarm), if any.
pub fn faults_of(trace: &Trace) -> Option<Faults> {
    trace
        .resources()
        .iter()
        .find(|r| r.kind == "net-faults")
        .and_then(|r| r.name.as_deref()?.parse().ok())
}

/// The BUGGIFY sites that fired in the run of `trace`: (`file:line:column`, how many
/// times), in the order they first fired ([`crate::buggify::fired`]).
pub(crate) fn buggify_fired(trace: &Trace) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = Vec::new();
    for e in trace.events() {
        if let EventKind::Resource {
            resource,
            op: ResourceOp::Buggify,
            ..
        } = e.kind
        {
            let Some(info) = trace.resources().get(resource.as_u32() as usize) else {
                continue;
            };
            let name = info.name.as_deref().unwrap_or("?").to_string();
            match out.iter_mut().find(|(n, _)| *n == name) {
                Some((_, count)) => *count += 1,
                None => out.push((name, 1)),
            }
        }
    }
    out
}

/// The lines a failure report adds for the network and BUGGIFY of the run of `trace`:
/// the swarm faults it applied (in the form `SIM_NET_FAULTS`, `Builder::net_faults` and
/// `Faults::from_str` take back) and the BUGGIFY sites that fired. Empty for a run
/// without either.
///
/// ```
/// let mut rt = sim::Builder::new().seed(4).build();
/// rt.block_on(async { sim::net::swarm(); }).unwrap();
/// let lines = sim::net::report_lines(rt.trace());
/// assert!(lines[0].starts_with("network faults (swarm): latency="));
/// ```
pub fn report_lines(trace: &Trace) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(f) = faults_of(trace) {
        out.push(format!(
            "network faults (swarm): {f} (fix them with SIM_NET_FAULTS={f} or Builder::net_faults(\"{f}\".parse()?))"
        ));
    }
    for (site, n) in buggify_fired(trace) {
        out.push(format!(
            "buggify fired at {site} ({n} time(s); keep it off with SIM_BUGGIFY_OFF={site})"
        ));
    }
    out
}

/// How long a message takes on a link, drawn per message from the network's stream.
///
/// ```
/// use std::time::Duration;
/// use sim::net::Latency;
/// let lan = Latency::uniform(Duration::from_micros(200), Duration::from_millis(2));
/// let wan: Latency = "20ms..80ms+500ms@0.01".parse().unwrap(); // a 1% tail up to +500ms
/// assert_eq!(wan.to_string(), "20ms..80ms+500ms@0.01");
/// assert_eq!(lan.max(), Duration::from_millis(2));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Latency {
    min: Duration,
    max: Duration,
    /// A long tail: with `tail_chance`, up to `tail` more.
    tail: Duration,
    tail_chance: f64,
}

impl Latency {
    /// Always `d`.
    pub const fn fixed(d: Duration) -> Self {
        Latency {
            min: d,
            max: d,
            tail: Duration::ZERO,
            tail_chance: 0.0,
        }
    }

    /// Uniform in `min..=max`.
    ///
    /// # Panics
    /// When `min > max` (the message names both).
    pub fn uniform(min: Duration, max: Duration) -> Self {
        assert!(
            min <= max,
            "sim::net::Latency::uniform({min:?}, {max:?}): the minimum is above the maximum"
        );
        Latency {
            min,
            max,
            tail: Duration::ZERO,
            tail_chance: 0.0,
        }
    }

    /// Adds a long tail: with probability `chance`, a message takes up to `extra` more
    /// (uniform), as on a congested network.
    ///
    /// # Panics
    /// When `chance` is not within `0.0..=1.0`.
    pub fn with_tail(mut self, extra: Duration, chance: f64) -> Self {
        assert!(
            (0.0..=1.0).contains(&chance),
            "sim::net::Latency::with_tail: chance {chance} is not within 0.0..=1.0"
        );
        self.tail = extra;
        self.tail_chance = chance;
        self
    }

    /// The shortest latency.
    pub fn min(&self) -> Duration {
        self.min
    }

    /// The longest latency without the tail.
    pub fn max(&self) -> Duration {
        self.max
    }

    /// One draw.
    pub(crate) fn sample(&self, rng: &mut DetRng) -> Duration {
        let mut d = self.min;
        let span = nanos(self.max - self.min);
        if span > 0 {
            d += Duration::from_nanos(rng.below(span + 1));
        }
        if self.tail_chance > 0.0 && chance(rng, self.tail_chance) && !self.tail.is_zero() {
            d += Duration::from_nanos(rng.below(nanos(self.tail) + 1));
        }
        d
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `true` with probability `p` (one draw; none when `p` is 0 or 1).
pub(crate) fn chance(rng: &mut DetRng, p: f64) -> bool {
    if p <= 0.0 {
        return false;
    }
    if p >= 1.0 {
        return true;
    }
    ((rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)) < p
}

impl fmt::Display for Latency {
    /// `5ms`, `1ms..5ms`, with a tail `1ms..5ms+200ms@0.05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", fmt_duration(self.min))?;
        if self.max != self.min {
            write!(f, "..{}", fmt_duration(self.max))?;
        }
        if self.tail_chance > 0.0 {
            write!(f, "+{}@{}", fmt_duration(self.tail), self.tail_chance)?;
        }
        Ok(())
    }
}

impl FromStr for Latency {
    type Err = String;

    /// The form [`Display`](fmt::Display) prints: `5ms`, `1ms..5ms`, `1ms..5ms+200ms@0.05`
    /// (units `ns`, `us`, `ms`, `s`).
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |why: &str| {
            format!(
                "malformed latency {s:?}: {why} (expected e.g. `5ms`, `1ms..5ms`, `1ms..5ms+200ms@0.05`)"
            )
        };
        let (range, tail) = match s.split_once('+') {
            Some((r, t)) => (r, Some(t)),
            None => (s, None),
        };
        let (min, max) = match range.split_once("..") {
            Some((a, b)) => (
                parse_duration(a).ok_or_else(|| bad("bad minimum"))?,
                parse_duration(b).ok_or_else(|| bad("bad maximum"))?,
            ),
            None => {
                let d = parse_duration(range).ok_or_else(|| bad("bad duration"))?;
                (d, d)
            }
        };
        if min > max {
            return Err(bad("the minimum is above the maximum"));
        }
        let mut l = Latency::uniform(min, max);
        if let Some(t) = tail {
            let (extra, p) = t
                .split_once('@')
                .ok_or_else(|| bad("a tail needs `@chance`"))?;
            let extra = parse_duration(extra).ok_or_else(|| bad("bad tail"))?;
            let p: f64 = p.parse().map_err(|_| bad("bad tail chance"))?;
            if !(0.0..=1.0).contains(&p) {
                return Err(bad("the tail chance is not within 0..=1"));
            }
            l = l.with_tail(extra, p);
        }
        Ok(l)
    }
}

/// `1500us`-style: the largest unit that divides the duration exactly.
pub(crate) fn fmt_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    for (unit, per) in [("s", 1_000_000_000u128), ("ms", 1_000_000), ("us", 1_000)] {
        if ns >= per && ns % per == 0 {
            return format!("{}{unit}", ns / per);
        }
    }
    format!("{ns}ns")
}

/// `10ms`, `2s`, `500us`, `7ns`.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    Some(match unit {
        "ns" => Duration::from_nanos(n),
        "us" => Duration::from_micros(n),
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        _ => return None,
    })
}

/// Checks that `p` is a probability; the message names `what` and the value.
fn probability(what: &str, p: f64) -> f64 {
    assert!(
        (0.0..=1.0).contains(&p),
        "sim::net::LinkConfig::{what}({p}): a probability must be within 0.0..=1.0"
    );
    p
}

/// What one direction of a link does to its messages. Partitions and holds are not
/// here: they come and go during a run ([`partition`](super::partition),
/// [`hold`](super::hold)).
///
/// ```
/// use std::time::Duration;
/// use sim::net::{Latency, LinkConfig};
/// let flaky = LinkConfig::default()
///     .latency(Latency::uniform(Duration::from_millis(1), Duration::from_millis(10)))
///     .loss(0.2)          // UDP: a fifth of the datagrams are lost (TCP: retransmitted later)
///     .duplicate(0.05)    // UDP: one in twenty arrives twice
///     .reorder(0.1);      // UDP: one in ten is delayed past the ones sent after it
/// assert_eq!(flaky.loss_chance(), 0.2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkConfig {
    pub(crate) latency: Latency,
    pub(crate) loss: f64,
    pub(crate) duplicate: f64,
    pub(crate) reorder: f64,
    pub(crate) split: f64,
}

/// The default latency between two hosts: uniform 1 to 5 ms.
pub const DEFAULT_LATENCY: Latency = Latency {
    min: Duration::from_millis(1),
    max: Duration::from_millis(5),
    tail: Duration::ZERO,
    tail_chance: 0.0,
};

/// The default latency of loopback (a host to itself): uniform 10 to 100 µs.
pub const LOOPBACK_LATENCY: Latency = Latency {
    min: Duration::from_micros(10),
    max: Duration::from_micros(100),
    tail: Duration::ZERO,
    tail_chance: 0.0,
};

/// The default chance that a TCP write is cut into two segments at a random byte
/// (so that a reader may see part of a message: framing bugs show up).
pub const DEFAULT_SPLIT: f64 = 0.2;

impl Default for LinkConfig {
    /// [`DEFAULT_LATENCY`], no loss, no duplication, no reordering, writes split with
    /// [`DEFAULT_SPLIT`].
    fn default() -> Self {
        LinkConfig {
            latency: DEFAULT_LATENCY,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            split: DEFAULT_SPLIT,
        }
    }
}

impl LinkConfig {
    /// The configuration of loopback: [`LOOPBACK_LATENCY`], otherwise the default.
    pub fn loopback() -> Self {
        LinkConfig {
            latency: LOOPBACK_LATENCY,
            ..LinkConfig::default()
        }
    }

    /// Sets the latency distribution.
    pub fn latency(mut self, latency: Latency) -> Self {
        self.latency = latency;
        self
    }

    /// Sets the chance that a datagram is lost (for TCP, that a segment needs a
    /// retransmission: it arrives 200 ms later, in order).
    ///
    /// # Panics
    /// When `p` is not within `0.0..=1.0`.
    pub fn loss(mut self, p: f64) -> Self {
        self.loss = probability("loss", p);
        self
    }

    /// Sets the chance that a datagram arrives twice (TCP never duplicates).
    ///
    /// # Panics
    /// When `p` is not within `0.0..=1.0`.
    pub fn duplicate(mut self, p: f64) -> Self {
        self.duplicate = probability("duplicate", p);
        self
    }

    /// Sets the chance that a datagram is held back by up to twice the latency's
    /// maximum, past later ones (TCP stays in order).
    ///
    /// # Panics
    /// When `p` is not within `0.0..=1.0`.
    pub fn reorder(mut self, p: f64) -> Self {
        self.reorder = probability("reorder", p);
        self
    }

    /// Sets the chance that a TCP write is cut into two segments at a random byte.
    ///
    /// # Panics
    /// When `p` is not within `0.0..=1.0`.
    pub fn split(mut self, p: f64) -> Self {
        self.split = probability("split", p);
        self
    }

    /// The latency distribution.
    pub fn latency_distribution(&self) -> Latency {
        self.latency
    }

    /// The loss chance.
    pub fn loss_chance(&self) -> f64 {
        self.loss
    }
}

/// The fault parameters of a network, drawn per seed by [`swarm`](super::swarm) ("swarm
/// testing": each seed explores another kind of bad network) or fixed with
/// [`Builder::net_faults`](crate::Builder::net_faults). Printed and parsed as
/// `latency=1ms..20ms,loss=0.05,dup=0.01,reorder=0.1,clock=250ms,drift=100`.
///
/// ```
/// let f: sim::net::Faults = "latency=2ms..9ms,loss=0.1,dup=0.02,reorder=0.2,clock=50ms,drift=20"
///     .parse()
///     .unwrap();
/// assert_eq!(f.to_string().parse::<sim::net::Faults>().unwrap(), f);
/// assert!("loss=1.5".parse::<sim::net::Faults>().unwrap_err().contains("loss=1.5"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Faults {
    /// The latency of every link between two hosts.
    pub latency: Latency,
    /// The chance a datagram is lost.
    pub loss: f64,
    /// The chance a datagram is duplicated.
    pub duplicate: f64,
    /// The chance a datagram is reordered.
    pub reorder: f64,
    /// The largest clock offset of a host (drawn per host in `-clock..=clock`).
    pub clock: Duration,
    /// The largest clock drift of a host, in parts per million (drawn per host).
    pub drift_ppm: u32,
}

impl Default for Faults {
    /// No faults: the default latency, nothing lost, clocks in step.
    fn default() -> Self {
        Faults {
            latency: DEFAULT_LATENCY,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            clock: Duration::ZERO,
            drift_ppm: 0,
        }
    }
}

impl Faults {
    /// Draws a network's faults (swarm testing): most seeds get a mild network, some a
    /// hostile one.
    pub(crate) fn draw(rng: &mut DetRng) -> Faults {
        let pick = |rng: &mut DetRng, xs: &[f64]| xs[rng.below(xs.len() as u64) as usize];
        let min_us = [0u64, 100, 1_000, 5_000][rng.below(4) as usize];
        let spread_us = [0u64, 1_000, 10_000, 50_000][rng.below(4) as usize];
        Faults {
            latency: Latency::uniform(
                Duration::from_micros(min_us),
                Duration::from_micros(min_us + spread_us),
            ),
            loss: pick(rng, &[0.0, 0.0, 0.01, 0.05, 0.2]),
            duplicate: pick(rng, &[0.0, 0.0, 0.01, 0.1]),
            reorder: pick(rng, &[0.0, 0.0, 0.05, 0.3]),
            clock: Duration::from_millis([0u64, 10, 250, 5_000][rng.below(4) as usize]),
            drift_ppm: [0u32, 50, 1_000][rng.below(3) as usize],
        }
    }

    /// The link configuration these faults give a link between two hosts.
    pub(crate) fn link(&self) -> LinkConfig {
        LinkConfig {
            latency: self.latency,
            loss: self.loss,
            duplicate: self.duplicate,
            reorder: self.reorder,
            split: DEFAULT_SPLIT,
        }
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "latency={},loss={},dup={},reorder={},clock={},drift={}",
            self.latency,
            self.loss,
            self.duplicate,
            self.reorder,
            fmt_duration(self.clock),
            self.drift_ppm
        )
    }
}

impl FromStr for Faults {
    type Err = String;

    /// `key=value` pairs separated by commas, any subset of `latency`, `loss`, `dup`,
    /// `reorder`, `clock`, `drift` (the others keep [`Faults::default`]'s values).
    fn from_str(s: &str) -> Result<Self, String> {
        let mut f = Faults::default();
        for pair in s.split(',').filter(|p| !p.trim().is_empty()) {
            let bad = |why: String| format!("malformed network faults {s:?} at `{pair}`: {why}");
            let (k, v) = pair
                .split_once('=')
                .ok_or_else(|| bad("expected key=value".into()))?;
            let prob = |v: &str| -> Result<f64, String> {
                let p: f64 = v.parse().map_err(|_| bad("not a number".into()))?;
                if (0.0..=1.0).contains(&p) {
                    Ok(p)
                } else {
                    Err(bad("a probability must be within 0..=1".into()))
                }
            };
            match k.trim() {
                "latency" => f.latency = v.parse().map_err(bad)?,
                "loss" => f.loss = prob(v)?,
                "dup" => f.duplicate = prob(v)?,
                "reorder" => f.reorder = prob(v)?,
                "clock" => {
                    f.clock = parse_duration(v).ok_or_else(|| bad("not a duration".into()))?
                }
                "drift" => f.drift_ppm = v.parse().map_err(|_| bad("not a whole number".into()))?,
                other => {
                    return Err(bad(format!(
                        "unknown key {other:?} (expected latency, loss, dup, reorder, clock, drift)"
                    )));
                }
            }
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    #[test]
    fn latency_samples_stay_in_range_and_parse_back() {
        let mut rng = DetRng::new(1, Stream::Network);
        let l = Latency::uniform(Duration::from_millis(1), Duration::from_millis(3));
        for _ in 0..1000 {
            let d = l.sample(&mut rng);
            assert!(d >= l.min() && d <= l.max(), "{d:?}");
        }
        for s in ["5ms", "1ms..3ms", "1ms..3ms+200ms@0.05", "1500us"] {
            assert_eq!(s.parse::<Latency>().unwrap().to_string(), s);
        }
        assert!(
            "3ms..1ms"
                .parse::<Latency>()
                .unwrap_err()
                .contains("3ms..1ms")
        );
        assert!("fast".parse::<Latency>().unwrap_err().contains("fast"));
    }

    #[test]
    fn drawn_faults_round_trip() {
        let mut rng = DetRng::new(9, Stream::Network);
        for _ in 0..50 {
            let f = Faults::draw(&mut rng);
            assert_eq!(f.to_string().parse::<Faults>().unwrap(), f);
        }
        assert!("color=red".parse::<Faults>().unwrap_err().contains("color"));
    }
}
