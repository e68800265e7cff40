//! Pictures of a run: a self-contained HTML report ([`HtmlReport`]) with the report
//! text, a zoomable timeline of the tasks on the run's axis of events, the context
//! switches of its schedule, a deadlock's wait-for graph, and the last events.
//!
//! The page loads nothing: its style, its data (a JSON element) and the script that
//! draws the timeline from it are inline, the wait-for graph is an inline SVG laid
//! out by [`DeadlockFailure::to_svg`](crate::DeadlockFailure::to_svg). It opens from
//! disk, offline, in any current browser. The same run always gives the same bytes:
//! nothing in it comes from the wall clock, the machine or a hash order.
//!
//! This module renders what a finished run left (its trace, its failure); it never
//! runs anything. `#[sim::test]` writes one for a failing test next to its schedule
//! and trace files; `corosim replay --html` and `corosim run --html` write them too.

mod data;
pub(crate) mod graph;

use std::fmt::Write as _;

use crate::Failure;
use crate::trace::timeline::Timeline;
use crate::trace::{Trace, fmt_time};

/// The most events a report's timeline draws: the last ones before the run stopped
/// (the page says when it leaves some out; the Chrome export keeps them all).
pub const WINDOW: usize = 10_000;

/// The stylesheet shared by every page.
const STYLE: &str = include_str!("report.css");
/// The script that draws the timeline from the page's JSON.
const SCRIPT: &str = include_str!("report.js");
/// Trace lines in the "last events" section.
const LAST_EVENTS: usize = 40;

/// `text` with `&`, `<`, `>`, `"` and `'` replaced by entities, for HTML text and
/// attribute values.
///
/// ```
/// assert_eq!(sim::report::escape("<a href=\"x\">&</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;");
/// ```
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole HTML document around `body` (HTML, already escaped), with the reports'
/// stylesheet: for pages that list reports, like `corosim run --html`'s summary.
///
/// ```
/// let page = sim::report::page("sweep", "<p>ok</p>");
/// assert!(page.starts_with("<!DOCTYPE html>"));
/// assert!(page.contains("<title>sweep</title>") && page.contains("<p>ok</p>"));
/// ```
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    )
}

/// A self-contained HTML report of one run. See the [module docs](self).
///
/// ```
/// let failure = sim::Builder::new().seed(1).build().block_on(async {
///     let lock = std::rc::Rc::new(sim::sync::Mutex::new(()));
///     let _held = lock.lock().await;
///     let again = lock.clone();
///     sim::spawn(async move { drop(again.lock().await) }).await.unwrap();
/// }).unwrap_err();
/// let html = sim::report::HtmlReport::failure(&failure).title("a lock held across a join").render();
/// assert!(html.contains("<h1>a lock held across a join</h1>"));
/// assert!(html.contains("class=\"wfg\"")); // the wait-for graph
/// ```
#[derive(Clone, Debug)]
pub struct HtmlReport<'a> {
    trace: &'a Trace,
    failure: Option<&'a Failure>,
    title: String,
    text: Option<String>,
}

impl<'a> HtmlReport<'a> {
    /// The report of a run from its trace alone (a run that passed, say): its
    /// timeline and last events.
    pub fn run(trace: &'a Trace) -> Self {
        HtmlReport {
            trace,
            failure: None,
            title: "corosim: a run".to_string(),
            text: None,
        }
    }

    /// The report of a failing run: the failure marked on the timeline, the wait-for
    /// graph of a deadlock, the failure's report as its text (see [`text`](Self::text)),
    /// the context switches of the failing schedule.
    pub fn failure(failure: &'a Failure) -> Self {
        HtmlReport {
            trace: &failure.run().trace,
            failure: Some(failure),
            title: format!("corosim: {}", failure.kind()),
            text: None,
        }
    }

    /// The page's title and heading.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// The report text shown on the page (default: the failure's report, or nothing);
    /// `#[sim::test]` passes its whole report, with the shrinking and the files.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// The HTML document.
    pub fn render(&self) -> String {
        let ending = self.failure.map(Failure::ending);
        let timeline = Timeline::new(self.trace, ending.as_ref());
        let headline = self.failure.map(Failure::headline_line);
        let kind = self.failure.map(|f| f.kind().as_str());
        let mark = match (kind, &headline) {
            (Some(kind), Some(headline)) => Some(data::FailureMark { kind, headline }),
            _ => None,
        };
        let json = data::timeline_json(self.trace, &timeline, mark.as_ref());

        let mut body = String::new();
        let _ = writeln!(body, "<header>\n<h1>{}</h1>", escape(&self.title));
        if let Some(h) = &headline {
            let _ = writeln!(
                body,
                "<p class=\"headline\" id=\"failure-headline\">{}</p>",
                escape(h)
            );
        }
        let last = timeline.events[..timeline.end].last();
        let _ = writeln!(
            body,
            "<p class=\"facts\">{} tasks · {} events · {} steps · {} context switches · virtual \
             time {}</p>\n</header>",
            self.trace.tasks().len(),
            timeline.end,
            last.map_or(0, |e| e.step),
            timeline.switches.len(),
            fmt_time(last.map_or_else(Default::default, |e| e.time))
        );

        body.push_str(
            "<section id=\"timeline-section\">\n<h2>Timeline</h2>\n<div class=\"toolbar\">\
             <button type=\"button\" id=\"zoom-in\" title=\"zoom in (+, or ctrl + wheel)\">+</button>\
             <button type=\"button\" id=\"zoom-out\" title=\"zoom out (-)\">−</button>\
             <button type=\"button\" id=\"zoom-fit\" title=\"fit the whole run\">fit</button>\
             <label><input type=\"checkbox\" id=\"show-wakes\" checked> wakes</label>\
             <label><input type=\"checkbox\" id=\"show-messages\" checked> messages</label>\
             <label><input type=\"checkbox\" id=\"show-spawns\" checked> spawns</label>\
             <label><input type=\"checkbox\" id=\"show-marks\" checked> events</label>\
             </div>\n<div class=\"legend\">\
             <span><i class=\"key poll\"></i>poll</span>\
             <span><i class=\"key wait\"></i>wait</span>\
             <span><i class=\"key blocked\"></i>blocked at the end</span>\
             <span><i class=\"key runnable\"></i>runnable</span>\
             <span><i class=\"key arrow wake\"></i>wake → poll</span>\
             <span><i class=\"key arrow message\"></i>send → receive</span>\
             <span><i class=\"key arrow spawn\"></i>spawn → first poll</span>\
             <span><i class=\"key switch\"></i>context switch</span>\
             <span><i class=\"key failure\"></i>failure</span>\
             </div>\n<div id=\"timeline\" class=\"timeline\"><noscript>The timeline is drawn by \
             the page's script: allow JavaScript for this file.</noscript></div>\n",
        );
        let _ = writeln!(
            body,
            "<p class=\"note\">One column per event, in order; the clock's moves are gaps \
             labelled with the new virtual time. Hover for details.{}</p>\n</section>",
            if timeline.end > WINDOW {
                format!(
                    " Only the last {WINDOW} of the run's {} events before the stop are drawn \
                     (the Perfetto export has them all).",
                    timeline.end
                )
            } else {
                String::new()
            }
        );

        if let Some(Failure::Deadlock(d)) = self.failure {
            let _ = writeln!(
                body,
                "<section id=\"wait-for\">\n<h2>Wait-for graph</h2>\n<p class=\"note\">A solid \
                 arrow: the task waits on it; a dashed arrow: held by that task. The cycle is \
                 red.</p>\n<div class=\"graph\">\n{}</div>\n</section>",
                d.to_svg()
            );
        }

        let text = match (&self.text, self.failure) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(f)) => Some(f.to_string()),
            (None, None) => None,
        };
        if let Some(text) = text {
            let _ = writeln!(
                body,
                "<section id=\"report\">\n<h2>Report</h2>\n<pre>{}</pre>\n</section>",
                escape(&text)
            );
        }
        let _ = writeln!(
            body,
            "<section id=\"last-events\">\n<h2>Last events</h2>\n<pre>{:>6} {:>14} {:<18} event\n{}</pre>\n</section>",
            "step",
            "time",
            "task",
            escape(&self.trace.tail(timeline.end, LAST_EVENTS).join("\n"))
        );
        let _ = writeln!(
            body,
            "<script type=\"application/json\" id=\"timeline-data\">{json}</script>\n<script>\n{SCRIPT}</script>"
        );
        page(&self.title, &body)
    }
}
