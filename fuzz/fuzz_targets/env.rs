//! The `SIM_` variables, read through a fake environment: the input is a list of
//! (variable, value) pairs, each value arbitrary bytes (not always UTF-8). No panic;
//! an error names a variable that was set and quotes its value. `SIM_SCHEDULE=@path`
//! reads a file: the fuzzer's paths are kept off the filesystem (those reads are
//! bounded and unit-tested, `@/dev/zero` included).
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use libfuzzer_sys::fuzz_target;
use sim::config::{Key, Settings, Source};

fuzz_target!(|data: &[u8]| {
    // Pairs separated by 0xff: a first byte naming the variable, then its value.
    let vars: Vec<(&'static str, Vec<u8>)> = data
        .split(|&b| b == 0xff)
        .filter_map(|pair| {
            let (&which, value) = pair.split_first()?;
            let names: Vec<&'static str> = Key::ALL.iter().filter_map(|k| k.env()).collect();
            let name = names[usize::from(which) % names.len()];
            let off_disk = !(name == "SIM_SCHEDULE" && value.trim_ascii_start().starts_with(b"@"));
            off_disk.then(|| (name, value.to_vec()))
        })
        .collect();
    let lookup = |name: &str| {
        vars.iter()
            .rev() // the last assignment wins, as in a shell
            .find(|(n, _)| *n == name)
            .map(|(_, v)| OsString::from_vec(v.clone()))
    };
    match Settings::from_vars(lookup) {
        Ok(settings) => {
            // What parses, the runtime takes.
            let _ = sim::Builder::new().settings(&settings);
        }
        Err(e) => {
            assert_eq!(e.source, Source::Env);
            let var = e.key.env().expect("read from a variable");
            assert_eq!(e.origin(), var);
            let value = lookup(var).expect("the variable was set");
            let value = value.to_string_lossy();
            assert!(value.starts_with(e.value.as_str()), "{e}");
        }
    }
});
