//! The AGI reply framer and parser, and the environment block parser, on
//! arbitrary bytes: no panic, and every byte accounted for.
#![no_main]

use asterisk_io::agi::codec::{parse_all, Env};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (_frames, consumed) = parse_all(data);
    assert!(consumed <= data.len());
    let _ = Env::parse(data);
});
