//! The emulator against recordings of a real Asterisk 22.10.1
//! (`../shared/fixtures/asterisk-22.10.1/`): the client's recorded requests
//! are fed to the emulator's sans-IO core at their recorded times (a
//! simulated clock, so a 3-second call takes no time), and what the
//! emulator answers is compared with what Asterisk answered: the same
//! response headers in the same order, with the same values apart from ids
//! and times, and the same event names in the same order.
//!
//! Skips (passes with a note) when the fixtures are not there.

use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use asterisk_io::emu::{ClientSession, EmulatorConfig, Out, Pbx, ScriptedReply};

fn fixtures() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/asterisk-22.10.1");
    let dir = if dir.is_dir() {
        dir
    } else {
        PathBuf::from("/work/shared/fixtures/asterisk-22.10.1")
    };
    dir.is_dir().then_some(dir)
}

type Block = Vec<(String, String)>;

/// Reads a Python `bytes` repr (`b'...'` or `b"..."`).
fn unrepr(s: &str) -> Vec<u8> {
    let s = s.trim();
    let inner = &s[2..s.len() - 1];
    let b = inner.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            i += 1;
            match b[i] {
                b'r' => out.push(b'\r'),
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'x' => {
                    let h = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                    out.push(u8::from_str_radix(h, 16).unwrap());
                    i += 2;
                }
                c => out.push(c),
            }
        } else {
            out.push(b[i]);
        }
        i += 1;
    }
    out
}

/// The recorded chunks: (seconds, from_client, bytes).
fn transcript(name: &str) -> Option<Vec<(f64, bool, Vec<u8>)>> {
    let text = std::fs::read_to_string(fixtures()?.join(format!("{name}.txt"))).ok()?;
    let mut v = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let line = line.trim_start();
        let (t, rest) = line.split_once(' ')?;
        let (dir, repr) = rest.split_once(' ')?;
        v.push((t.parse().ok()?, dir == ">>", unrepr(repr)));
    }
    Some(v)
}

/// One emulated connection (plus the PBX) on a simulated clock.
struct Rig {
    pbx: Pbx,
    session: ClientSession,
    start: Instant,
}

impl Rig {
    fn new(config: EmulatorConfig) -> Rig {
        let start = Instant::now();
        let config = Rc::new(config);
        Rig {
            pbx: Pbx::new(config.clone(), start, SystemTime::now()),
            session: ClientSession::with_id(config, 1),
            start,
        }
    }

    fn deliver(&mut self) {
        for out in std::mem::take(&mut self.pbx.outbox) {
            match out {
                Out::Event { classes, bytes } => self.session.push_event_bytes(classes, &bytes),
                Out::Reply { bytes, .. } => self.session.push_raw(&bytes),
            }
        }
    }

    fn advance(&mut self, to: Instant) {
        while let Some(t) = self.pbx.next_deadline().filter(|t| *t <= to) {
            self.pbx.tick(t);
            self.deliver();
        }
        self.session.tick(to);
    }

    fn feed(&mut self, bytes: &[u8], now: Instant) {
        let mut more = self.session.feed_with(bytes, &mut self.pbx, now);
        loop {
            self.deliver();
            if !more {
                break;
            }
            more = self.session.feed_with(&[], &mut self.pbx, now);
        }
    }

    /// Plays the client side of a recording; returns what the emulator sent.
    fn play(&mut self, chunks: &[(f64, bool, Vec<u8>)], tail: f64) -> Vec<u8> {
        let mut out = Vec::new();
        let mut last = 0.0;
        for (t, from_client, bytes) in chunks {
            last = *t;
            if !from_client {
                continue;
            }
            let now = self.start + Duration::from_secs_f64(*t);
            self.advance(now);
            self.feed(bytes, now);
        }
        self.advance(self.start + Duration::from_secs_f64(last + tail));
        out.extend_from_slice(self.session.output());
        out
    }
}

fn recorded(chunks: &[(f64, bool, Vec<u8>)]) -> Vec<u8> {
    chunks
        .iter()
        .filter(|c| !c.1)
        .flat_map(|c| c.2.iter().copied())
        .collect()
}

/// Blocks of a server stream, greeting first.
fn blocks(stream: &[u8]) -> Vec<Vec<(String, String)>> {
    let text = String::from_utf8_lossy(stream);
    let (greeting, rest) = text.split_once("\r\n").unwrap_or((&text, ""));
    let mut v = vec![vec![("Greeting".to_owned(), greeting.to_owned())]];
    for block in rest.split("\r\n\r\n").filter(|b| !b.is_empty()) {
        v.push(
            block
                .split("\r\n")
                .map(|l| {
                    let (k, v) = l.split_once(": ").unwrap_or((l, ""));
                    (k.to_owned(), v.to_owned())
                })
                .collect(),
        );
    }
    v
}

/// Header values that hold ids, times or host details.
const VOLATILE: &[&str] = &[
    "Timestamp",
    "Uptime",
    "LastReload",
    "Uniqueid",
    "Linkedid",
    "EventTV",
    "SessionTV",
    "SessionID",
    "RemoteAddress",
    "CoreStartupDate",
    "CoreStartupTime",
    "CoreReloadDate",
    "CoreReloadTime",
    "Output",
    "Challenge",
];

fn responses(bs: &[Vec<(String, String)>]) -> Vec<Vec<(String, String)>> {
    bs.iter()
        .filter(|b| {
            b.first()
                .is_some_and(|h| h.0 == "Response" || h.0 == "Greeting")
        })
        .cloned()
        .collect()
}

fn event_names(bs: &[Vec<(String, String)>], skip: &[&str]) -> Vec<String> {
    bs.iter()
        .filter_map(|b| b.first().filter(|h| h.0 == "Event").map(|h| h.1.clone()))
        .filter(|n| !skip.contains(&n.as_str()))
        .collect()
}

fn same_responses(name: &str, ours: &[Vec<(String, String)>], theirs: &[Vec<(String, String)>]) {
    let (a, b) = (responses(ours), responses(theirs));
    assert_eq!(
        a.len(),
        b.len(),
        "{name}: response count\nours {a:#?}\ntheirs {b:#?}"
    );
    for (x, y) in a.iter().zip(&b) {
        let kx: Vec<&str> = x.iter().map(|h| h.0.as_str()).collect();
        let ky: Vec<&str> = y.iter().map(|h| h.0.as_str()).collect();
        assert_eq!(kx, ky, "{name}: header names\nours {x:?}\ntheirs {y:?}");
        for (hx, hy) in x.iter().zip(y) {
            if !VOLATILE.contains(&hx.0.as_str()) {
                assert_eq!(hx, hy, "{name}: header value\nours {x:?}\ntheirs {y:?}");
            }
        }
    }
}

fn lab() -> EmulatorConfig {
    EmulatorConfig::default()
        .user("lab", "labsecret")
        .user_with_classes("ro", "rosecret", "call,reporting", "none")
        .global("LABGLOBAL", "lab-global-value")
        .unreachable("Local/doesnotexist@lab")
}

/// Runs one recording; returns (ours, theirs) as blocks, and the raw streams.
fn run(name: &str, config: EmulatorConfig, tail: f64) -> Option<(Vec<Block>, Vec<Block>)> {
    let Some(chunks) = transcript(name) else {
        eprintln!("fixture {name} missing: skipped");
        return None;
    };
    let theirs = recorded(&chunks);
    // An MD5 login answers the recorded challenge.
    let challenge = blocks(&theirs)
        .iter()
        .flatten()
        .find(|h| h.0 == "Challenge")
        .map(|h| h.1.clone());
    let mut config = config;
    if let Some(c) = challenge {
        config.challenge = c;
    }
    let mut rig = Rig::new(config);
    let ours = rig.play(&chunks, tail);
    Some((blocks(&ours), blocks(&theirs)))
}

#[test]
fn single_connection_scenarios_answer_as_asterisk_does() {
    for name in [
        "ami-login",
        "ami-logoff",
        "ami-ping",
        "ami-unauthenticated",
        "ami-unknown-action",
        "ami-db",
        "ami-coresettings-corestatus",
        "ami-login-badpass",
        "ami-login-baduser",
        "ami-login-md5",
        "ami-login-md5-bad",
        "ami-originate-sync",
        "ami-framing-quirks",
        "ami-command-version",
    ] {
        let Some((ours, theirs)) = run(name, lab(), 0.0) else {
            continue;
        };
        same_responses(name, &ours, &theirs);
        eprintln!(
            "{name}: {} responses, events {:?}",
            responses(&ours).len(),
            event_names(&ours, &[])
        );
        assert_eq!(
            event_names(&ours, &[]),
            event_names(&theirs, &[]),
            "{name}: events"
        );
    }
}

#[test]
fn originate_emits_the_local_channel_sequence() {
    // Newexten events follow the lab's dialplan, which the emulator does not have.
    let skip = ["Newexten"];
    let Some((ours, theirs)) = run("ami-originate-events", lab(), 0.5) else {
        return;
    };
    same_responses("ami-originate-events", &ours, &theirs);
    assert_eq!(event_names(&ours, &skip), event_names(&theirs, &skip));
    // OriginateResponse carries the same headers (ids apart).
    let pick = |bs: &[Vec<(String, String)>]| {
        bs.iter()
            .find(|b| b[0].1 == "OriginateResponse")
            .cloned()
            .unwrap()
    };
    let (a, b) = (pick(&ours), pick(&theirs));
    let names = |b: &[(String, String)]| b.iter().map(|h| h.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b));
    for (x, y) in a.iter().zip(&b) {
        if !VOLATILE.contains(&x.0.as_str()) {
            assert_eq!(x, y);
        }
    }
}

#[test]
fn originate_to_an_extension_with_channel_ids() {
    let Some((ours, theirs)) = run("ami-originate-exten-events", lab(), 0.0) else {
        return;
    };
    let pick = |bs: &[Vec<(String, String)>], name: &str| {
        bs.iter()
            .filter(|b| b[0].1 == name)
            .cloned()
            .collect::<Vec<_>>()
    };
    // Same ids (ChannelId / OtherChannelId), same response, header for
    // header (the lab had made a Local channel before: its counter is 1).
    let ours_resp: Vec<_> = pick(&ours, "OriginateResponse")
        .into_iter()
        .map(|b| {
            b.into_iter()
                .map(|(k, v)| (k, v.replace("-00000000;", "-00000001;")))
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(ours_resp, pick(&theirs, "OriginateResponse"));
    let ids = |bs: &[Vec<(String, String)>]| {
        pick(bs, "Newchannel")
            .iter()
            .map(|b| {
                b.iter()
                    .filter(|h| h.0 == "Uniqueid" || h.0 == "Linkedid")
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&ours), ids(&theirs));
}

#[test]
fn failed_originate_reports_failure_like_asterisk() {
    let Some((ours, theirs)) = run("ami-originate-failure-events", lab(), 0.0) else {
        return;
    };
    let pick = |bs: &[Vec<(String, String)>]| {
        bs.iter()
            .find(|b| b[0].1 == "OriginateResponse")
            .cloned()
            .unwrap()
    };
    let (a, b) = (pick(&ours), pick(&theirs));
    assert_eq!(a, b);
}

#[test]
fn permission_classes_and_event_masks_answer_as_asterisk_does() {
    // Calls placed by other sessions in the recordings are not replayed:
    // compare responses only.
    let queue = ScriptedReply::success(&[("Message", "Queue status will follow")]).list(
        "QueueStatusComplete",
        "QueueParams",
        &[&[("Queue", "labqueue")], &[("Queue", "labqueue")]],
    );
    for name in ["ami-permission-denied", "ami-events-toggle"] {
        let config = lab().script("QueueStatus", queue.clone());
        let Some((ours, theirs)) = run(name, config, 0.0) else {
            continue;
        };
        same_responses(name, &ours, &theirs);
    }
    // The read-only user (read=call,reporting) gets no FullyBooted (system).
    let Some((ours, _)) = run("ami-permission-denied", lab(), 0.0) else {
        return;
    };
    assert!(
        event_names(&ours, &[]).is_empty(),
        "{:?}",
        event_names(&ours, &[])
    );
}

fn by_id<'a>(bs: &'a [Vec<(String, String)>], id: &str) -> Option<&'a Vec<(String, String)>> {
    responses(bs)
        .into_iter()
        .position(|r| r.iter().any(|h| h.0 == "ActionID" && h.1 == id))
        .map(|i| {
            let rs: Vec<&Vec<(String, String)>> = bs
                .iter()
                .filter(|b| {
                    b.first()
                        .is_some_and(|h| h.0 == "Response" || h.0 == "Greeting")
                })
                .collect();
            rs[i]
        })
}

#[test]
fn user_event_and_variable_answers_match() {
    // The recordings also act on channels of the lab's own calls; compare
    // the answers that do not depend on them.
    let cases: [(&str, &[&str]); 2] = [
        ("ami-userevent", &["lab-1", "lab-2", "lab-4"]),
        (
            "ami-getvar-setvar",
            &[
                "lab-2", "lab-3", "lab-4", "lab-5", "lab-11", "lab-12", "lab-13", "lab-14",
            ],
        ),
    ];
    for (name, ids) in cases {
        let Some((ours, theirs)) = run(name, lab(), 0.0) else {
            continue;
        };
        for id in ids {
            assert_eq!(by_id(&ours, id), by_id(&theirs, id), "{name} {id}");
        }
    }
    // The UserEvent of Action: UserEvent, header for header.
    let Some((ours, theirs)) = run("ami-userevent", lab(), 0.0) else {
        return;
    };
    let ue = |bs: &[Vec<(String, String)>]| bs.iter().find(|b| b[0].1 == "UserEvent").cloned();
    assert_eq!(ue(&ours), ue(&theirs));
}
