//! Whatever a client sends, the emulator's sans-IO core answers without
//! panicking: a panic is the emulator's bug, never the input's.

use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use asterisk_io::emu::{ClientSession, EmulatorConfig, Out, Pbx};
use proptest::prelude::*;

const ACTIONS: &[&str] = &[
    "Login",
    "Challenge",
    "Logoff",
    "Ping",
    "Events",
    "Command",
    "Getvar",
    "Setvar",
    "DBPut",
    "DBGet",
    "DBGetTree",
    "DBDel",
    "DBDelTree",
    "Originate",
    "Hangup",
    "Status",
    "CoreShowChannels",
    "CoreSettings",
    "CoreStatus",
    "UserEvent",
    "AGI",
    "Bogus",
];
const KEYS: &[&str] = &[
    "ActionID",
    "Username",
    "Secret",
    "AuthType",
    "Key",
    "Events",
    "EventMask",
    "Command",
    "Variable",
    "Value",
    "Channel",
    "Family",
    "Val",
    "Application",
    "Data",
    "Async",
    "CallerID",
    "Cause",
    "Variables",
    "UserEvent",
    "CommandID",
    "Exten",
    "Context",
];
const VALUES: &[&str] = &[
    "",
    "admin",
    "secret",
    "md5",
    "on",
    "off",
    "bogus",
    "2",
    "99999999999999",
    "Local/wait@lab",
    "Local/wait@lab-00000000;1",
    "Local/wait@lab-00000000;2",
    "/wait/",
    "/",
    "//",
    "Wait",
    "AGI",
    "agi:async",
    "NaN",
    "inf",
    "-1",
    "1e300",
    "true",
    "A=1,B",
    "x <y",
    "\u{e9}\u{e9}",
    "GET VARIABLE",
    "SET VARIABLE X",
    "HANGUP",
    "ASYNCAGI BREAK",
    "core show channels",
    "lab",
    "lab/sub",
];

fn request() -> impl Strategy<Value = Vec<u8>> {
    let header = (0..KEYS.len(), 0..VALUES.len())
        .prop_map(|(k, v)| format!("{}: {}\r\n", KEYS[k], VALUES[v]).into_bytes());
    prop_oneof![
        (0..ACTIONS.len(), proptest::collection::vec(header, 0..6)).prop_map(|(a, hs)| {
            let mut r = format!("Action: {}\r\n", ACTIONS[a]).into_bytes();
            hs.into_iter().for_each(|h| r.extend(h));
            r.extend_from_slice(b"\r\n");
            r
        }),
        proptest::collection::vec(any::<u8>(), 0..64),
    ]
}

proptest! {
    #[test]
    fn no_input_panics_the_emulator(reqs in proptest::collection::vec(request(), 1..30), steps in proptest::collection::vec(0u64..4000, 1..30)) {
        let start = Instant::now();
        let config = Rc::new(EmulatorConfig::default().user("admin", "secret"));
        let mut pbx = Pbx::new(config.clone(), start, SystemTime::now());
        let mut s = ClientSession::with_id(config, 1);
        s.feed_with(b"Action: Login\r\nUsername: admin\r\nSecret: secret\r\n\r\n", &mut pbx, start);
        let mut now = start;
        for (i, r) in reqs.iter().enumerate() {
            now += Duration::from_millis(steps[i % steps.len()]);
            pbx.tick(now);
            s.tick(now);
            let mut more = s.feed_with(r, &mut pbx, now);
            loop {
                for out in std::mem::take(&mut pbx.outbox) {
                    if let Out::Event { classes, bytes } = out {
                        s.push_event_bytes(classes, &bytes);
                    }
                }
                if !more { break; }
                more = s.feed_with(&[], &mut pbx, now);
            }
            let n = s.output().len();
            s.consume_output(n);
        }
        pbx.tick(now + Duration::from_secs(3600));
    }
}
