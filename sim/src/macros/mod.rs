//! tokio's macros for one task waiting on several futures: [`select!`](crate::select),
//! [`join!`](crate::join), [`try_join!`](crate::try_join), [`pin!`](crate::pin); and
//! the hidden support their expansions (and `#[sim::main]`'s) call.
//!
//! The syntax is rewritten by `sim-macros`; what happens at run time lives here. The one
//! random choice, `select!`'s branch order, is drawn from the run's generator for user
//! code (`sim::rand`), so it follows the seed and replays with it; nothing here reads a
//! thread-local generator or the clock.

/// Waits on several futures at once and runs the handler of the first to complete
/// whose output matches its pattern; the other futures are dropped (mirrors
/// `tokio::select!`, with the same grammar and rules).
///
/// ```text
/// select! {
///     [biased;]
///     <pattern> = <async expression> [, if <precondition>] => <handler>,
///     ...
///     [else => <expression>]
/// }
/// ```
///
/// Every precondition is evaluated first (a false one disables its branch), then every
/// async expression (disabled ones too, unpolled). The enabled futures are polled, each
/// poll starting from a branch drawn from the run's seed (through the run's generator,
/// so a seed replays the same order) or, after `biased;`, in the order written. An
/// output that does not match its pattern disables its branch. When every branch is
/// disabled the `else` expression is the result (no `else`: a panic). The futures are
/// dropped before the handler runs. Outside a run the order is the written one.
///
/// ```
/// use sim::sync::mpsc;
/// use sim::time::{Duration, sleep};
/// let mut rt = sim::Builder::new().seed(5).build();
/// rt.block_on(async {
///     let (tx, mut rx) = mpsc::channel::<u32>(4);
///     sim::spawn(async move {
///         for i in 0..3 {
///             tx.send(i).await.unwrap();
///         }
///     });
///     let mut got = Vec::new();
///     loop {
///         sim::select! {
///             Some(v) = rx.recv() => got.push(v),
///             _ = sleep(Duration::from_secs(1)) => break, // the sender is long gone
///             else => break, // the channel closed: `Some(v)` no longer matches
///         }
///     }
///     assert_eq!(got, [0, 1, 2]);
/// }).unwrap();
/// ```
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {{
        use $crate::macros::support as __sim_support;
        __sim_support::select_inner! { $($tokens)* }
    }};
}

/// Waits for every future, polled concurrently in the current task, and returns their
/// outputs as a tuple (mirrors `tokio::join!`). Each poll starts one future further
/// than the last (tokio's rotation), or always at the first after `biased;`.
///
/// ```
/// let mut rt = sim::Builder::new().build();
/// rt.block_on(async {
///     let (a, b) = sim::join!(async { 1 }, async {
///         sim::time::sleep(std::time::Duration::from_millis(5)).await;
///         "two"
///     });
///     assert_eq!((a, b), (1, "two"));
/// }).unwrap();
/// ```
#[macro_export]
macro_rules! join {
    ($($tokens:tt)*) => {{
        use $crate::macros::support as __sim_support;
        __sim_support::join_inner! { $($tokens)* }
    }};
}

/// Like [`join!`](crate::join) for futures of `Result<T, E>` with one `E`: `Ok` with
/// every output, or the first `Err`, at once, dropping the other futures (mirrors
/// `tokio::try_join!`).
///
/// ```
/// let mut rt = sim::Builder::new().build();
/// rt.block_on(async {
///     let slow = async {
///         sim::time::sleep(std::time::Duration::from_secs(60)).await;
///         Ok::<u32, &str>(1)
///     };
///     let failing = async { Err::<u32, &str>("no") };
///     assert_eq!(sim::try_join!(slow, failing), Err("no"));
///     assert_eq!(sim::time::Instant::now().since_start().as_secs(), 0); // `slow` was dropped
/// }).unwrap();
/// ```
#[macro_export]
macro_rules! try_join {
    ($($tokens:tt)*) => {{
        use $crate::macros::support as __sim_support;
        __sim_support::try_join_inner! { $($tokens)* }
    }};
}

/// Pins values on the stack, shadowing each variable with a `Pin<&mut _>` to it
/// (mirrors `tokio::pin!`). Takes variable names, or `let` statements.
///
/// ```
/// let mut rt = sim::Builder::new().build();
/// rt.block_on(async {
///     let sleep = sim::time::sleep(std::time::Duration::from_millis(1));
///     sim::pin!(sleep);
///     (&mut sleep).await; // awaited by reference: `sleep` is still usable
///     assert!(sleep.is_elapsed());
///     sim::pin! {
///         let answer = async { 42 };
///     }
///     assert_eq!(answer.await, 42);
/// }).unwrap();
/// ```
#[macro_export]
macro_rules! pin {
    ($($name:ident),* $(,)?) => {
        $(
            let mut $name = ::core::pin::pin!($name);
        )*
    };
    ($(let $name:ident = $init:expr;)*) => {
        $(
            let mut $name = ::core::pin::pin!($init);
        )*
    };
}

/// What the expansions of `sim`'s macros call; not an API.
#[doc(hidden)]
pub mod support {
    use std::future::Future;

    pub use crate::unsafe_parts::pin_pair;
    pub use futures::future::maybe_done;
    pub use sim_macros::{join_inner, select_inner, try_join_inner};

    /// The branch a `select!` poll starts from: drawn from the run's generator for user
    /// code, or the first branch outside a run.
    pub fn branch_start(branches: usize) -> usize {
        if branches < 2 || crate::runtime::context::current_run_id().is_none() {
            return 0;
        }
        crate::rand::gen_range(0..branches)
    }

    /// Whether a `select!` poll must yield before it polls any branch, as tokio's:
    /// the task has spent its cooperative budget in this poll (then this is the
    /// yielding scheduling point: the task is woken to run again). Never outside a run.
    pub fn budget_spent(cx: &mut std::task::Context<'_>) -> bool {
        !crate::task::coop::has_budget_remaining() && crate::runtime::context::point(cx.waker())
    }

    /// `#[sim::main]`: runs `future` as one run configured by the `SIM_` variables (the
    /// runtime named `name`, the attribute's `name`); a failure prints its report and
    /// exits with status 101.
    #[track_caller]
    pub fn run_main<F: Future>(name: Option<&str>, future: F) -> F::Output {
        let mut rt = match crate::runtime::run::Builder::from_env() {
            Ok(builder) => named(builder, name).build(),
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        };
        match rt.block_on(future) {
            Ok(output) => output,
            Err(failure) => {
                eprintln!("{failure}");
                std::process::exit(101);
            }
        }
    }

    /// `#[sim::main]` on a function other than `main` (a helper a test calls, a method,
    /// as tokio's attribute allows): one run like [`run_main`], but a failure panics
    /// with its report instead of ending the process (the test fails, not the whole
    /// binary).
    #[track_caller]
    pub fn run_fn<F: Future>(name: Option<&str>, future: F) -> F::Output {
        let builder = crate::runtime::run::Builder::from_env().unwrap_or_else(|e| panic!("{e}"));
        named(builder, name)
            .build()
            .block_on(future)
            .unwrap_or_else(|failure| panic!("{failure}"))
    }

    #[track_caller]
    fn named(builder: crate::Builder, name: Option<&str>) -> crate::Builder {
        match name {
            Some(name) => builder.name(name),
            None => builder,
        }
    }
}
