//! Bug detectors: who waits on what (deadlocks, leaks) and what happened before what
//! (data races).
//!
//! Architecture invariant: detectors observe; they never change a scheduling decision.
//! Primitives feed them through the core (`Core::begin_wait`, `Core::hold`,
//! `Core::hb_release`...), and the run loop asks them whether the run must stop.

pub(crate) mod clock;
pub(crate) mod race;
pub(crate) mod waits;
