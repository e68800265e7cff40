//! Schedule strings (`SIM_SCHEDULE`, `corosim replay --schedule`, `sim::replay`): no
//! panic, no allocation past `MAX_DECISIONS`; a parsed schedule prints back to a
//! string that parses to the same schedule; an error names a piece of its input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sim::Schedule;
use sim::sched::MAX_DECISIONS;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match text.parse::<Schedule>() {
        Ok(s) => {
            assert!(s.len() <= MAX_DECISIONS);
            let again: Schedule = s.to_string().parse().expect("a printed schedule parses");
            assert_eq!(again, s);
        }
        Err(e) => {
            assert!(e.position <= text.len(), "{e}");
            assert!(text.contains(e.found.as_str()), "{e} does not quote {text:?}");
            assert!(e.to_string().starts_with("invalid schedule string at byte"));
        }
    }
});
