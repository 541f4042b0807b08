//! AsyncAGI (sans-IO) against the recorded AMI traffic of Asterisk 22.10.1.

use asterisk_io::agi::asyncagi::{AsyncAgi, AsyncEvent};
use asterisk_io::agi::commands::*;
use asterisk_io::agi::{AgiError, ChannelState, HangupSource, Playback};
use std::cell::RefCell;
use std::rc::Rc;

const RX: &[u8] = include_bytes!("fixtures/agi/asyncagi-events.bin");
const TX: &[u8] = include_bytes!("fixtures/agi/asyncagi-events.tx.bin");
const CHAN: &str = "Local/agi-async@lab-00000013;2";

/// Minimal AMI message splitter for the test: (headers) per message.
fn messages(data: &[u8], sep: &str) -> Vec<Vec<(String, String)>> {
    String::from_utf8_lossy(data)
        .split(sep)
        .filter(|m| !m.trim().is_empty())
        .map(|m| {
            m.lines()
                .filter_map(|l| l.split_once(": "))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn lookup<'a>(m: &'a [(String, String)]) -> impl Fn(&str) -> Option<&'a str> {
    move |k| {
        m.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.as_str())
    }
}

type Log = Rc<RefCell<Vec<String>>>;

fn rec<T: std::fmt::Debug>(log: &Log, label: &'static str) -> impl FnOnce(Result<T, AgiError>) {
    let log = log.clone();
    move |r| log.borrow_mut().push(format!("{label}: {r:?}"))
}

#[test]
fn recorded_asyncagi_session() {
    let mut agi = AsyncAgi::new();
    let log: Log = Rc::default();
    // Actions we send must match what the recording client sent.
    let sent: Vec<Vec<(String, String)>> = messages(TX, "\r\n\r\n")
        .into_iter()
        .filter(|m| {
            let g = lookup(m);
            g("Action") == Some("AGI") && g("Channel") == Some(CHAN) && g("Command").is_some()
        })
        .collect();
    assert_eq!(sent.len(), 13);

    let mut started = false;
    let mut ended = false;
    let mut untyped = Vec::new();
    for m in messages(RX, "\r\n\r\n") {
        let get = lookup(&m);
        let Some(ev) = get("Event") else { continue };
        match agi.handle_event(ev, &get) {
            None => {}
            Some(AsyncEvent::Started { channel, env }) => {
                assert_eq!(channel, CHAN);
                assert_eq!(env.request(), Some("async"));
                assert_eq!(env.channel(), Some(CHAN));
                assert_eq!(env.caller_id(), Some("300"));
                assert_eq!(env.account_code(), Some(""));
                started = true;
                // Queue the recorded commands, typed, with the recorded ids.
                let l = &log;
                let mut actions = vec![
                    agi.send_with_id(CHAN, Answer, "cmd-00", rec(l, "answer")),
                    agi.send_with_id(CHAN, GetVariable::new("LABVAR"), "cmd-01", rec(l, "labvar")),
                    agi.send_untyped(CHAN, &GetVariable::new("CHANNEL"), None),
                    agi.send_with_id(
                        CHAN,
                        GetFullVariable::new("${CALLERID(all)}"),
                        "cmd-03",
                        rec(l, "callerid"),
                    ),
                    agi.send_with_id(
                        CHAN,
                        SetVariable::new("ASYNCVAR", "a b&c=d%e"),
                        "cmd-04",
                        rec(l, "setvar"),
                    ),
                    agi.send_with_id(
                        CHAN,
                        GetVariable::new("ASYNCVAR"),
                        "cmd-05",
                        rec(l, "asyncvar"),
                    ),
                    agi.send_with_id(
                        CHAN,
                        Exec::new("Verbose", "1,hello from async"),
                        "cmd-06",
                        rec(l, "exec"),
                    ),
                    agi.send_with_id(
                        CHAN,
                        StreamFile::new("beep", ""),
                        "cmd-07",
                        rec(l, "stream"),
                    ),
                    agi.send_with_id(CHAN, SayNumber::new(7, ""), "cmd-08", rec(l, "say")),
                    agi.send_with_id(CHAN, RawCommand::new("FOO BAR"), "cmd-09", rec(l, "foo")),
                    agi.send_with_id(
                        CHAN,
                        RawCommand::new("STREAM FILE"),
                        "cmd-10",
                        rec(l, "usage"),
                    ),
                    agi.send_with_id(CHAN, ChannelStatus::new(), "cmd-11", rec(l, "status")),
                    agi.send_with_id(CHAN, AsyncAgiBreak, "cmd-12", rec(l, "break")),
                ]
                .into_iter()
                .map(Result::unwrap)
                .collect::<Vec<_>>();
                // One more that will never get an answer.
                actions.push(agi.send(CHAN, Noop::new(), rec(l, "orphan")).unwrap());
                for (a, m) in actions.iter().zip(&sent) {
                    let want = lookup(m);
                    let fields = a.fields();
                    assert_eq!(Some(fields[0].1), want("Channel"));
                    assert_eq!(Some(fields[1].1), want("Command"));
                    assert_eq!(fields.get(2).map(|f| f.1), want("CommandID"));
                }
            }
            Some(AsyncEvent::Reply {
                channel,
                command_id,
                reply,
            }) => {
                assert_eq!(channel, CHAN);
                assert_eq!(command_id, None);
                untyped.push(reply.unwrap());
            }
            Some(AsyncEvent::Delivered { .. }) => {}
            Some(AsyncEvent::Ended { channel }) => {
                assert_eq!(channel, CHAN);
                ended = true;
            }
            Some(other) => panic!("{other:?}"),
        }
    }
    assert!(started && ended);
    assert!(!agi.is_active(CHAN));
    assert_eq!(untyped.len(), 1);
    assert_eq!(
        untyped[0].reply().data,
        Some(&b"Local/agi-async@lab-00000013;2"[..])
    );
    let log = log.borrow();
    let want = [
        "answer: Ok(())".to_string(),
        "labvar: Ok(Some(\"async-agi-value\"))".into(),
        "callerid: Ok(Some(\"\\\"Async\\\" <300>\"))".into(),
        "setvar: Ok(())".into(),
        "asyncvar: Ok(Some(\"a b&c=d%e\"))".into(),
        "exec: Ok(0)".into(),
        format!(
            "stream: {:?}",
            Ok::<_, AgiError>(Playback {
                digit: None,
                endpos: Some(3520)
            })
        ),
        "say: Ok(None)".into(),
        "foo: Err(InvalidCommand)".into(),
    ];
    assert_eq!(&log[..want.len()], &want[..]);
    assert!(log[9].starts_with("usage: Err(Usage { usage: \"Send the given file"));
    assert_eq!(
        log[10],
        format!("status: {:?}", Ok::<_, AgiError>(Some(ChannelState::Up)))
    );
    assert_eq!(log[11], "break: Ok(())");
    assert_eq!(
        log[12],
        format!(
            "orphan: {:?}",
            Err::<(), _>(AgiError::HungUp(HangupSource::SessionEnded))
        )
    );
}

#[test]
fn legacy_asyncagi_subevents() {
    let mut agi = AsyncAgi::with_id_prefix("x-");
    let start = [
        ("Event", "AsyncAGI"),
        ("SubEvent", "Start"),
        ("Channel", "SIP/1-0001"),
        (
            "Env",
            "agi_request%3A%20async%0Aagi_channel%3A%20SIP%2F1-0001%0A%0A",
        ),
    ];
    let get = |m: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            m.iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| *v)
        }
    };
    let start: &'static [(&str, &str)] = Box::leak(Box::new(start));
    match agi.handle_event("AsyncAGI", get(start)) {
        Some(AsyncEvent::Started { env, .. }) => assert_eq!(env.channel(), Some("SIP/1-0001")),
        other => panic!("{other:?}"),
    }
    let got = Rc::new(RefCell::new(None));
    let g = got.clone();
    let a = agi
        .send("SIP/1-0001", GetVariable::new("X"), move |r| {
            *g.borrow_mut() = Some(r)
        })
        .unwrap();
    assert_eq!(a.command_id.as_deref(), Some("x-1"));
    assert_eq!(a.command, "GET VARIABLE X");
    let exec: &'static [(&str, &str)] = Box::leak(Box::new([
        ("Event", "AsyncAGI"),
        ("SubEvent", "Exec"),
        ("Channel", "SIP/1-0001"),
        ("CommandID", "x-1"),
        ("Result", "200%20result%3D1%20(v%20w)%0A"),
    ]));
    assert!(matches!(
        agi.handle_event("AsyncAGI", get(exec)),
        Some(AsyncEvent::Delivered { .. })
    ));
    assert_eq!(
        got.borrow_mut().take().unwrap().unwrap().as_deref(),
        Some("v w")
    );
    let end: &'static [(&str, &str)] = Box::leak(Box::new([
        ("Event", "AsyncAGI"),
        ("SubEvent", "End"),
        ("Channel", "SIP/1-0001"),
    ]));
    assert!(matches!(
        agi.handle_event("AsyncAGI", get(end)),
        Some(AsyncEvent::Ended { .. })
    ));
    // Not in AsyncAGI any more: refused, nothing queued.
    assert!(agi.send("SIP/1-0001", Answer, |_| {}).is_err());
    // Other events are not ours.
    assert!(agi.handle_event("Newchannel", |_| None).is_none());
}

/// The id of the first command an `AsyncAgi` sends on a fresh channel.
fn first_id(agi: &mut AsyncAgi) -> String {
    let start = [
        ("Channel", "SIP/1-0001"),
        ("Env", "agi_request%3A%20async%0A%0A"),
    ];
    let get = |k: &str| {
        start
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| *v)
    };
    assert!(matches!(
        agi.handle_event("AsyncAGIStart", get),
        Some(AsyncEvent::Started { .. })
    ));
    let a = agi.send("SIP/1-0001", Answer, |_| {}).unwrap();
    let b = agi.send("SIP/1-0001", Answer, |_| {}).unwrap();
    assert_ne!(a.command_id, b.command_id);
    a.command_id.unwrap()
}

#[test]
fn command_ids_differ_between_instances_of_one_process() {
    let ids: Vec<String> = (0..4)
        .map(|k| {
            let mut agi = if k % 2 == 0 {
                AsyncAgi::new()
            } else {
                AsyncAgi::default()
            };
            first_id(&mut agi)
        })
        .collect();
    for (i, a) in ids.iter().enumerate() {
        for b in &ids[i + 1..] {
            assert_ne!(a, b, "{ids:?}");
        }
    }
    // The process id is in there, so other processes differ too.
    let pid = format!("{:x}", std::process::id());
    assert!(ids.iter().all(|id| id.contains(&pid)), "{ids:?}");
    // A chosen prefix still rules.
    assert_eq!(first_id(&mut AsyncAgi::with_id_prefix("x-")), "x-1");
}
