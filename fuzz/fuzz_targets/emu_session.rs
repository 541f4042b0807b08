//! The emulator's session parser (`ClientSession::feed`) on arbitrary
//! request bytes in input-chosen chunks, with events pushed in between: no
//! panic, output only ever consumed as it was produced, and a session that
//! closes stays closed.
#![no_main]

use std::rc::Rc;

use asterisk_io::emu::{ClientSession, EmulatorConfig, ScriptedReply};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let config = EmulatorConfig::default()
        .user("admin", "secret")
        .script(
            "CoreStatus",
            ScriptedReply::success(&[("CoreCurrentCalls", "0")]),
        )
        .script(
            "QueueStatus",
            ScriptedReply::success(&[]).list(
                "QueueStatusComplete",
                "QueueParams",
                &[&[("Queue", "q1")]],
            ),
        )
        .command("core show uptime", &["System uptime: 1 second"]);
    let mut s = ClientSession::new(Rc::new(config));
    let step = 1 + data[0] as usize;
    let mut closed = false;
    for (i, chunk) in data[2..].chunks(step).enumerate() {
        let before = s.requests;
        let effects = s.feed(chunk);
        assert!(s.requests >= before);
        if closed {
            assert!(effects.is_empty());
            assert_eq!(s.requests, before);
        }
        closed |= s.is_closing();
        if i % 3 == 0 {
            s.push_event(&[
                ("Event".to_owned(), "Newchannel".to_owned()),
                ("Channel".to_owned(), format!("PJSIP/{i}")),
            ]);
        }
        if data[1] & 1 == 1 {
            let n = s.output().len() / 2;
            s.consume_output(n);
        }
    }
    let _ = s.is_authenticated();
});
