//! Durations (`SIM_MAX_TIME`, `#[sim::test(max_time = ..)]`, `--max-time`): the one
//! grammar never panics, whatever the number's size; what parses prints back (in
//! nanoseconds) to the same duration; `max_time` rejects zero; an error names its
//! input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sim::config::{Source, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = parse::duration(text);
    if let Ok(d) = parsed {
        assert_eq!(parse::duration(&format!("{}ns", d.as_nanos())), Ok(d));
    }
    match parse::max_time(Source::Flag, text) {
        Ok(d) => assert_eq!((Ok(d), d.is_zero()), (parsed, false)),
        Err(e) => {
            assert!(parsed.is_err() || parsed == Ok(std::time::Duration::ZERO));
            assert!(text.starts_with(e.value.as_str()), "{e}");
            assert!(e.to_string().starts_with("invalid --max-time="), "{e}");
        }
    }
});
