//! A connection with actions of every result shape pending, fed arbitrary
//! bytes in input-chosen chunks, then EOF: no panic, and every pending
//! action completes exactly once.
#![no_main]

use std::collections::HashSet;

use asterisk_io::ami::actions::{Command, CoreShowChannels, Originate, Ping, Queues};
use asterisk_io::ami::{Connection, Input, ManagerConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let mut c =
        Connection::new(ManagerConfig::default().max_message_size(64 + data[0] as usize * 8));
    let mut ids = HashSet::new();
    ids.insert(c.send(&Ping).unwrap());
    ids.insert(c.send(&Command::new("core show uptime")).unwrap());
    ids.insert(c.send(&CoreShowChannels).unwrap());
    ids.insert(
        c.send(&Originate::to_application("Local/1@x", "Wait", "1").run_async())
            .unwrap(),
    );
    ids.insert(c.send(&Queues).unwrap());
    // Substitute our ActionIDs for "@N" so the input can reach our actions.
    let out = String::from_utf8_lossy(c.pending_output()).into_owned();
    let ours: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("ActionID: "))
        .collect();
    let prefix = ours[0].trim_end_matches(char::is_numeric).to_owned();
    let mut input = b"Asterisk Call Manager/11.0.0\r\n".to_vec();
    let body = &data[2..];
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'@' && i + 1 < body.len() {
            input.extend_from_slice(prefix.as_bytes());
            input.push(b'1' + body[i + 1] % 5);
            i += 2;
        } else {
            input.push(body[i]);
            i += 1;
        }
    }
    let step = 1 + data[1] as usize;
    let mut done = HashSet::new();
    let mut drain = |c: &mut Connection| {
        while let Some(input) = c.next_input() {
            if let Input::Done(id, _) = input {
                assert!(done.insert(id), "completed twice");
            }
        }
    };
    for chunk in input.chunks(step) {
        c.feed(chunk);
        drain(&mut c);
    }
    c.feed_eof();
    drain(&mut c);
    assert_eq!(done, ids, "every action completes once");
});
