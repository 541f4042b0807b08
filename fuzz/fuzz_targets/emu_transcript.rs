//! The emulator's transcript parser on arbitrary bytes: no panic; what it
//! reads writes back to text that reads back the same; and a replay session
//! fed the same bytes as client input never panics either.
#![no_main]

use std::time::Instant;

use asterisk_io::emu::replay::{ReplaySession, Timing};
use asterisk_io::emu::transcript::Transcript;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = Transcript::parse(data) {
        let again = Transcript::parse(&t.to_text()).expect("written text reads back");
        assert_eq!(again, t);
        let now = Instant::now();
        for conn in &t.connections {
            let mut s = ReplaySession::new(conn, Timing::Drop, now);
            s.handle_input(data, now);
            s.handle_timeout(now);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Transcript::from_capture(text);
    }
});
