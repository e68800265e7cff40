//! A few lines of JSON writing for the exporters (the Chrome trace, the HTML report's
//! data): quoted strings with every character JSON requires escaped, and virtual
//! times as microseconds with nanosecond decimals.
//!
//! A leaf of the crate: it imports nothing of it. It writes; it never parses (the
//! tests parse what it writes with `serde_json`).

use std::fmt::Write as _;

/// Appends `s` as a JSON string literal. Besides `"`, `\` and the control characters,
/// `<`, `>` and `&` are escaped (`\u003c`, ...) so the text can sit inside an HTML
/// `<script>` element without ending it, and U+2028/U+2029 so it is also valid
/// JavaScript.
pub(crate) fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `s` as a JSON string literal (see [`string`]).
pub(crate) fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    string(&mut out, s);
    out
}

/// Appends nanoseconds as a JSON number of microseconds: `1250000` → `1250.000`. Exact
/// (integer arithmetic, no float formatting), so the text is the same everywhere.
pub(crate) fn micros(out: &mut String, ns: u64) {
    let _ = write!(out, "{}.{:03}", ns / 1000, ns % 1000);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_escape_what_json_and_html_script_need() {
        assert_eq!(quoted("plain"), r#""plain""#);
        assert_eq!(quoted("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(quoted("line\nnext\ttab\r"), r#""line\nnext\ttab\r""#);
        assert_eq!(quoted("\u{1}\u{1f}"), r#""\u0001\u001f""#);
        assert_eq!(
            quoted("</script><!-- & -->"),
            r#""\u003c/script\u003e\u003c!-- \u0026 --\u003e""#
        );
        assert_eq!(quoted("\u{2028}é漢🦀"), "\"\\u2028é漢🦀\"");
    }

    #[test]
    fn micros_keep_every_nanosecond() {
        let s = |ns| {
            let mut out = String::new();
            micros(&mut out, ns);
            out
        };
        assert_eq!(s(0), "0.000");
        assert_eq!(s(999), "0.999");
        assert_eq!(s(1_250_000), "1250.000");
        assert_eq!(s(3_600_000_000_001), "3600000000.001");
    }
}
