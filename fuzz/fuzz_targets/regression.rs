//! Regression files (`sim-regressions/<target>.<test>.txt`), as bytes: no panic; text
//! that is not UTF-8 is an error, never an empty file; a malformed line is an error
//! naming a line of the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sim::check::regression::parse_bytes;

fuzz_target!(|data: &[u8]| {
    match parse_bytes(data) {
        Ok(entries) => {
            let text = std::str::from_utf8(data).expect("only UTF-8 parses");
            assert!(entries.len() <= text.lines().count());
        }
        Err(e) => match e.line {
            Some(line) => {
                let text = std::str::from_utf8(data).expect("a line number means UTF-8");
                assert!(line >= 1 && line <= text.lines().count(), "{e}");
            }
            None => assert!(std::str::from_utf8(data).is_err(), "{e}"),
        },
    }
});
