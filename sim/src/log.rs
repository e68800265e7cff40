//! User logs in simulated tests: a `tracing` subscriber that stamps every line with the
//! virtual time and the task, e.g. `[    1.250s producer#2] INFO sent 7`.
//!
//! Call [`init`] once in a test (or in each; later calls do nothing). Seed sweeps keep
//! logs quiet (a thousand seeds of logs help nobody); replaying one seed or schedule
//! (`SIM_SEED`, `SIM_SCHEDULE`) shows the whole run's log, and `SIM_LOG=1` shows logs
//! in sweeps too. Output goes through the test harness's capture, like `println!`.
//!
//! Snapshot [`Trace`](crate::Trace) text, not this output: a global subscriber is shared
//! by every test in the process.

use std::cell::Cell;
use std::fmt;

use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, filter};

use crate::runtime::context;

thread_local! {
    static ENABLED: Cell<bool> = const { Cell::new(false) };
}

/// Turns log output on or off for this thread (the sweep decides; see module docs).
pub(crate) fn set_enabled(on: bool) {
    ENABLED.with(|e| e.set(on));
}

/// Whether logs are shown on this thread now.
pub fn enabled() -> bool {
    ENABLED.try_with(Cell::get).unwrap_or(false)
}

/// Shows logs on this thread from now on (as `SIM_LOG=1` does), e.g. for a test that
/// calls [`Runtime::block_on`](crate::Runtime::block_on) directly.
pub fn show() {
    set_enabled(true);
}

/// Installs the global subscriber; returns `false` if one was already installed (by
/// this or other code).
///
/// ```
/// sim::log::init();
/// sim::log::show();
/// let mut rt = sim::Builder::new().build();
/// rt.block_on(async {
///     sim::time::sleep(std::time::Duration::from_millis(1250)).await;
///     tracing::info!("sent {}", 7); // [    1.250s main#0] INFO sent 7
/// }).unwrap();
/// ```
pub fn init() -> bool {
    tracing_subscriber::registry()
        .with(layer(tracing_subscriber::fmt::TestWriter::new()))
        .try_init()
        .is_ok()
}

/// The formatting and filtering layer, writing to `writer`.
fn layer<S, W>(writer: W) -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + 'static,
{
    // No colour codes, whatever features `tracing-subscriber` is built with elsewhere
    // in the dependency graph (a bench-only dependency enables `ansi`): lines stay stable.
    tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .event_format(SimFormat)
        .with_writer(writer)
        .with_filter(filter::dynamic_filter_fn(|_, _| enabled()))
}

/// The line format: `[<virtual time> <task>] LEVEL message fields`.
struct SimFormat;

impl<S, N> FormatEvent<S, N> for SimFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        match context::log_stamp() {
            Some((t, task)) => write!(
                writer,
                "[{:>6}.{:03}s {task}] ",
                t.as_secs(),
                t.subsec_millis()
            )?,
            None => write!(writer, "[outside a run] ")?,
        }
        write!(writer, "{} ", event.metadata().level())?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn logged(show: bool) -> String {
        let buffer = Buffer::default();
        let out = buffer.clone();
        let subscriber = tracing_subscriber::registry().with(layer(move || out.clone()));
        tracing::subscriber::with_default(subscriber, || {
            set_enabled(show);
            let mut rt = crate::Builder::new().build();
            rt.block_on(async {
                crate::time::sleep(std::time::Duration::from_millis(1250)).await;
                tracing::info!("sent {}", 7);
                crate::task::Builder::new()
                    .name("producer")
                    .spawn(async {
                        tracing::warn!(item = 3, "full");
                    })
                    .unwrap()
                    .await
                    .unwrap();
                tracing::info!("done");
            })
            .unwrap();
            set_enabled(false);
        });
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn lines_carry_virtual_time_and_task() {
        assert_eq!(
            logged(true),
            "[     1.250s main#0] INFO sent 7\n[     1.250s producer#1] WARN full item=3\n[     1.250s main#0] INFO done\n"
        );
    }

    #[test]
    fn sweeps_stay_quiet() {
        assert_eq!(logged(false), "");
    }
}
