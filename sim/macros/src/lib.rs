//! The macros of `sim`: the attributes `#[sim::test]` (a seed sweep, [`sim::Check`]) and
//! `#[sim::main]` (one run), their tokio-named twins for the `corosim-tokio` facade,
//! and the engines of `sim::select!`, `sim::join!` and `sim::try_join!`.
//!
//! This crate only rewrites syntax; everything it generates calls the public `sim` API
//! (attribute arguments are validated at run time by `sim::Check::attr`, with errors
//! naming the argument). Unknown arguments and wrong literal types are compile errors
//! here. It draws no random numbers: `select!`'s branch order is drawn at run time
//! from the run's generator, through `sim::macros::support`.
//!
//! [`sim::Check`]: https://docs.rs/sim

mod entry;
mod join;
mod select;

use proc_macro::TokenStream;

use entry::{Flavor, Kind};

/// Runs an `async fn` test over many seeds on the deterministic runtime.
///
/// ```text
/// #[sim::test]
/// async fn transfers_conserve_money() { /* ... */ }
///
/// #[sim::test(seeds = 1000, strategy = "pct", max_time = "10s")]
/// async fn no_deadlock() -> Result<(), String> { Ok(()) }
/// ```
///
/// Arguments: `seeds`, `start_seed`, `max_steps`, `pct_steps`, `shrink_budget`
/// (integers); `strategy` (`"random"`, `"pct"`, `"pct:<depth>"`, `"round-robin"`,
/// `"bytes:<hex>"`), `max_time` (`"10s"`, `"250ms"`), `unhandled_panic` (`"ignore"`),
/// `regressions` (`"off"` or a file path), `name` (the runtime's name, for
/// `Handle::name`, as tokio's), `crate` (the path of `sim` where it is renamed)
/// (strings). The body may return `()` or `Result<(), E: Debug>`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(Kind::Test, Flavor::Sim, args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Runs an `async fn main` (or any other `async fn`, a method taking `self` included)
/// as one simulated run, for examples and programs: the seed and bounds come from the `SIM_` variables
/// (`SIM_SEED`, `SIM_STRATEGY`, `SIM_MAX_TIME`, ...), and a failure of `main` prints
/// its report and exits with status 101 (on any other function, such as a helper a
/// test calls, it panics with the report).
///
/// ```text
/// #[sim::main]
/// async fn main() {
///     let h = sim::spawn(async { 2 });
///     assert_eq!(h.await.unwrap(), 2);
/// }
/// ```
///
/// Arguments: `name` (the runtime's name, for `Handle::name`, as tokio's); `crate`
/// (the path of `sim` where it is renamed); tokio's `flavor`, `worker_threads` and
/// `start_paused`, accepted and ignored.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(Kind::Main, Flavor::Sim, args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// `#[tokio::test]` of the `corosim-tokio` facade under `--cfg corosim`: a seed sweep
/// like `#[sim::test]`, taking tokio's arguments (`flavor`, `worker_threads`,
/// `start_paused` are accepted and change nothing: a run is one thread with a paused
/// clock; `unhandled_panic`; `name`, the runtime's name; `crate`, the path of the
/// facade, default `tokio`).
#[doc(hidden)]
#[proc_macro_attribute]
pub fn tokio_test(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(Kind::Test, Flavor::Tokio, args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// `#[tokio::main]` of the `corosim-tokio` facade under `--cfg corosim`: one run like
/// `#[sim::main]`, taking tokio's arguments (see [`macro@tokio_test`]).
#[doc(hidden)]
#[proc_macro_attribute]
pub fn tokio_main(args: TokenStream, item: TokenStream) -> TokenStream {
    entry::expand(Kind::Main, Flavor::Tokio, args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The engine of `sim::select!` (call that instead: it brings the support paths).
#[doc(hidden)]
#[proc_macro]
pub fn select_inner(input: TokenStream) -> TokenStream {
    select::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The engine of `sim::join!` (call that instead: it brings the support paths).
#[doc(hidden)]
#[proc_macro]
pub fn join_inner(input: TokenStream) -> TokenStream {
    join::expand(input.into(), false)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The engine of `sim::try_join!` (call that instead: it brings the support paths).
#[doc(hidden)]
#[proc_macro]
pub fn try_join_inner(input: TokenStream) -> TokenStream {
    join::expand(input.into(), true)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
