//! Fault injection in the user's own code, after FoundationDB's BUGGIFY:
//! [`buggify!`](crate::buggify!) marks a rare path (an early error, an extra delay, a
//! short write) that the simulator turns on now and then.
//!
//! Each site (a `buggify!` call, by its `file:line:column`) is, at its first evaluation
//! in a run, *enabled* for the whole run with probability [`ENABLE_CHANCE`]; an enabled
//! site then *fires* at each evaluation with its own probability ([`FIRE_CHANCE`], or
//! the one given: `buggify!(0.05)`). Both draws come from the run's BUGGIFY stream of
//! the seed (so they shift neither the scheduler's nor the user's numbers), both are
//! recorded in the trace (`buggify-site`, `buggify`), and a site can be kept off
//! ([`Builder::buggify_off`](crate::Builder::buggify_off)) to see whether a failure
//! needs it. Outside a simulated run, and in runs with
//! [`Builder::buggify(false)`](crate::Builder::buggify), a site is `false` and draws
//! nothing.
//!
//! Owns the sites' per-run state; it must not draw from any other stream, nor fire a
//! site that was not enabled.
//!
//! ```
//! use std::time::Duration;
//! async fn send_with_retries() -> u32 {
//!     let mut attempts = 0;
//!     loop {
//!         attempts += 1;
//!         if sim::buggify!() {
//!             sim::time::sleep(Duration::from_millis(100)).await; // a slow path
//!             continue;                                          // and a failed attempt
//!         }
//!         return attempts;
//!     }
//! }
//! let mut fired_somewhere = false;
//! for seed in 0..40 {
//!     let mut rt = sim::Builder::new().seed(seed).build();
//!     let attempts = rt.block_on(send_with_retries()).unwrap();
//!     fired_somewhere |= attempts > 1;
//!     assert_eq!(attempts > 1, !sim::buggify::fired(rt.trace()).is_empty());
//! }
//! assert!(fired_somewhere);
//! assert!(!sim::buggify!(), "always false outside a run");
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;

use crate::ids::ResourceId;
use crate::rng::{DetRng, Stream};
use crate::runtime::context;
use crate::runtime::extension::Extension;
use crate::trace::{ResourceOp, Trace};

/// The chance that a site is enabled for a run (FoundationDB's 25%).
pub const ENABLE_CHANCE: f64 = 0.25;

/// The chance that an enabled site fires at one evaluation (FoundationDB's 25%).
pub const FIRE_CHANCE: f64 = 0.25;

/// The resource kind of a site in traces.
const KIND: &str = "buggify";

/// One site's state in a run.
struct Site {
    enabled: bool,
    resource: ResourceId,
}

/// The sites of one run and their generator.
struct Sites {
    rng: DetRng,
    // Keyed by the site's location (compared by value: no address order).
    sites: BTreeMap<(&'static str, u32, u32), Site>,
}

/// BUGGIFY's per-run state (a run extension).
struct Buggify(RefCell<Sites>);

impl Extension for Buggify {
    fn into_any(self: Rc<Self>) -> Rc<dyn std::any::Any> {
        self
    }
}

/// A uniform number in `[0, 1)`.
fn unit(rng: &mut DetRng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The evaluation of a site: whether it fires now. Called by [`buggify!`](crate::buggify!).
///
/// # Panics
/// When `chance` is not within `0.0..=1.0` (the message names it and the site).
#[doc(hidden)]
pub fn __evaluate(site: &'static Location<'static>, chance: f64) -> bool {
    assert!(
        (0.0..=1.0).contains(&chance),
        "sim::buggify!({chance}) at {site}: the chance must be within 0.0..=1.0"
    );
    context::try_network(|net| {
        if !net.buggify().enabled {
            return false;
        }
        let key = (site.file(), site.line(), site.column());
        let rng = net.rng(Stream::Buggify);
        let state = net.extension(|| {
            Buggify(RefCell::new(Sites {
                rng,
                sites: BTreeMap::new(),
            }))
        });
        let mut sites = state.0.borrow_mut();
        let (enabled, resource) = match sites.sites.get(&key) {
            Some(s) => (s.enabled, s.resource),
            None => {
                let name = site.to_string();
                let off = net.buggify().off.contains(&name);
                // Drawn even when kept off, so other sites draw what they drew before.
                let enabled = unit(&mut sites.rng) < ENABLE_CHANCE && !off;
                let resource = net.register(KIND, Arc::from(name), site);
                net.event(resource, ResourceOp::BuggifySite, u64::from(enabled));
                sites.sites.insert(key, Site { enabled, resource });
                (enabled, resource)
            }
        };
        if !enabled {
            return false;
        }
        let fires = unit(&mut sites.rng) < chance;
        if fires {
            net.event(resource, ResourceOp::Buggify, 0);
        }
        fires
    })
    .unwrap_or(false)
}

/// The BUGGIFY sites that fired in the run of `trace`: (`file:line:column`, how many
/// times), in the order they first fired. For reports, and for a shrinker that tries
/// the failing run with each of them off ([`Builder::buggify_off`](crate::Builder::buggify_off)).
pub fn fired(trace: &Trace) -> Vec<(String, u64)> {
    crate::net::faults::buggify_fired(trace)
}

/// `true` on a rare path the simulator should try: see the [module docs](mod@crate::buggify).
/// `buggify!()` fires an enabled site with [`FIRE_CHANCE`](crate::buggify::FIRE_CHANCE),
/// `buggify!(p)` with chance `p`. Always `false` outside a simulated run.
///
/// ```
/// # let mut rt = sim::Builder::new().seed(1).build();
/// # rt.block_on(async {
/// let short_write = sim::buggify!(0.5);
/// let len = if short_write { 1 } else { 10 };
/// # let _ = len;
/// # }).unwrap();
/// ```
#[macro_export]
macro_rules! buggify {
    () => {
        $crate::buggify::__evaluate(
            ::core::panic::Location::caller(),
            $crate::buggify::FIRE_CHANCE,
        )
    };
    ($chance:expr) => {
        $crate::buggify::__evaluate(::core::panic::Location::caller(), $chance)
    };
}
