//! Strategy strings (`SIM_STRATEGY`, `#[sim::test(strategy = ..)]`, `--strategy`), through
//! the one parser every source uses: no panic; a parsed strategy prints back to a
//! string that parses to the same strategy, which the runtime accepts; an error names
//! its input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sim::Strategy;
use sim::config::{Key, Source, parse};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse::strategy(Source::Env, text) {
        Ok(s) => {
            let again: Strategy = s.to_string().parse().expect("a printed strategy parses");
            assert_eq!(again, s);
            // Whatever parses is a strategy the builder takes (its checks would panic).
            let _ = sim::Builder::new().strategy(s);
        }
        Err(e) => {
            assert_eq!(e.key, Key::Strategy);
            assert!(text.starts_with(e.value.as_str()), "{e}");
            assert!(e.to_string().starts_with("invalid SIM_STRATEGY="), "{e}");
        }
    }
    if let Err(e) = text.parse::<Strategy>() {
        assert!(e.to_string().contains("accepted forms"), "{e}");
    }
});
