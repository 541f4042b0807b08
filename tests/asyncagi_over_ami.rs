//! AsyncAGI sessions over the manager: against the built-in emulator (over
//! loopback TCP, in one thread) and against the Asterisk 22 recording
//! replayed through a sans-IO `Connection`.

use asterisk_io::agi::commands::*;
use asterisk_io::agi::over_ami::{AsyncAgiServer, InFlight};
use asterisk_io::agi::{AgiError, ChannelState, Env, Script};
use asterisk_io::ami::actions::{Agi, Login};
use asterisk_io::ami::{Connection, Event, Input, Manager, ManagerConfig};
use asterisk_io::emu::{Emulator, EmulatorConfig, ScriptedReply};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

const CHAN: &str = "PJSIP/100-00000001";

type Log = Rc<RefCell<Vec<String>>>;

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn env_block(channel: &str, args: &[&str]) -> String {
    let mut s = format!(
        "agi_request: async\nagi_channel: {channel}\nagi_language: en\nagi_callerid: 4105551234\n\
         agi_calleridname: Alice\nagi_context: default\nagi_extension: 100\nagi_priority: 1\n\
         agi_accountcode: \n"
    );
    for (i, a) in args.iter().enumerate() {
        s.push_str(&format!("agi_arg_{}: {a}\n", i + 1));
    }
    s.push('\n');
    s
}

struct Rig {
    emu: Emulator,
    mgr: Manager,
    agi: Rc<AsyncAgiServer>,
}

fn rig(agi_script: ScriptedReply) -> Rig {
    let config = EmulatorConfig::default()
        .user("admin", "s3cret")
        .script("AGI", agi_script);
    let mut emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
    let mut mgr = Manager::connect(emu.local_addr().unwrap()).unwrap();
    let id = mgr.start_login(&Login::new("admin", "s3cret")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        emu.poll(Some(Duration::from_millis(1))).unwrap();
        mgr.poll_events(Some(Duration::from_millis(1))).unwrap();
        if let Some(r) = mgr.take_result(id).ready() {
            assert!(r.unwrap().response.is_success());
            break;
        }
        assert!(Instant::now() < deadline, "login timed out");
    }
    let agi = Rc::new(AsyncAgiServer::new());
    agi.set_command_ids(|n| format!("t-{n}"));
    agi.attach(&mut mgr);
    Rig { emu, mgr, agi }
}

/// What a fake Asterisk answers to a command line.
fn answer(line: &str) -> &'static str {
    if line.starts_with("GET VARIABLE") {
        "200 result=1 (4105551234)\n"
    } else if line.starts_with("STREAM FILE") {
        "200 result=0 endpos=8000\n"
    } else if line.starts_with("CHANNEL STATUS") {
        "200 result=6\n"
    } else if line.starts_with("FOO") {
        "510 Invalid or unknown command\n"
    } else if line.starts_with("EXEC Gosub") {
        "100 result=0 Trying...\n200 result=0 Gosub complete\n"
    } else {
        "200 result=0\n"
    }
}

impl Rig {
    fn step(&mut self) {
        self.emu.poll(Some(Duration::from_millis(1))).unwrap();
        self.mgr
            .poll_events(Some(Duration::from_millis(1)))
            .unwrap();
    }

    fn start(&mut self, channel: &str, args: &[&str]) {
        let env = encode(&env_block(channel, args));
        self.emu
            .emit_event("AsyncAGIStart", &[("Channel", channel), ("Env", &env)]);
    }

    fn exec(&mut self, f: &InFlight, channel: &str) {
        let result = encode(answer(&f.line));
        self.emu.emit_event(
            "AsyncAGIExec",
            &[
                ("Channel", channel),
                ("CommandId", &f.command_id),
                ("Result", &result),
            ],
        );
    }

    /// Plays Asterisk: answers every command in flight on `channel` until
    /// `done` says so; returns the command lines seen.
    fn play(&mut self, channel: &str, mut done: impl FnMut(&Rig) -> bool) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        let mut answered = String::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out; seen {seen:?}");
            self.step();
            if let Some(f) = self.agi.in_flight(channel) {
                if f.command_id != answered {
                    seen.push(f.line.clone());
                    answered = f.command_id.clone();
                    self.exec(&f, channel);
                }
            }
        }
        seen
    }
}

fn queued() -> ScriptedReply {
    ScriptedReply::success(&[("Message", "Added AGI command to queue")])
}

#[test]
fn script_runs_over_the_manager() {
    let mut rig = rig(queued());
    let log: Log = Rc::default();
    let l = log.clone();
    rig.agi.fallback(move |env: &Env| {
        let mut s = Script::new(l.clone());
        s.state
            .borrow_mut()
            .push(format!("start {}", env.channel().unwrap_or("?")));
        s.run(Answer);
        s.then(GetVariable::new("CALLERID(num)"), |s, r| {
            s.state.borrow_mut().push(format!("cid {:?}", r.unwrap()));
        });
        s.then(StreamFile::new("beep", ""), |s, r| {
            s.state
                .borrow_mut()
                .push(format!("endpos {:?}", r.unwrap().endpos));
        });
        s.then(ChannelStatus::new(), |s, r| {
            assert_eq!(r.unwrap(), Some(ChannelState::Up));
            s.state.borrow_mut().push("up".into());
        });
        s.then(Exec::new("Gosub", "sub,s,1"), |s, r| {
            s.state.borrow_mut().push(format!("gosub {:?}", r.is_ok()));
        });
        s.on_end(|s, e| s.borrow_mut().push(format!("end {e:?}")));
        s
    });
    rig.start(CHAN, &[]);
    let seen = rig.play(CHAN, |r| {
        r.agi.stats().ended == 1 && r.agi.stats().commands == 6 // 5 + ASYNCAGI BREAK
    });
    assert_eq!(
        seen,
        [
            "ANSWER",
            "GET VARIABLE CALLERID(num)",
            "STREAM FILE beep \"\"",
            "CHANNEL STATUS",
            "EXEC Gosub sub,s,1",
        ]
    );
    assert_eq!(
        *log.borrow(),
        [
            format!("start {CHAN}"),
            "cid Some(\"4105551234\")".into(),
            "endpos Some(8000)".into(),
            "up".into(),
            "gosub true".into(),
            "end None".into(),
        ]
    );
    // The final ASYNCAGI BREAK went out; let its result be collected.
    for _ in 0..20 {
        rig.step();
    }
    let st = rig.agi.stats();
    assert_eq!((st.started, st.ended, st.active, st.rejected), (1, 1, 0, 0));
    assert!(!rig.agi.is_active(CHAN));
    // Asterisk then ends the session: nothing left to do.
    rig.emu.emit_event("AsyncAGIEnd", &[("Channel", CHAN)]);
    for _ in 0..10 {
        rig.step();
    }
    assert_eq!(rig.agi.stats().ended, 1);
}

#[test]
fn end_while_in_flight_fails_the_command() {
    let mut rig = rig(queued());
    let log: Log = Rc::default();
    let l = log.clone();
    rig.agi.fallback(move |_: &Env| {
        let mut s = Script::new(l.clone());
        s.then(Answer, |s, r| s.state.borrow_mut().push(format!("{r:?}")));
        s.then(Answer, |s, r| s.state.borrow_mut().push(format!("{r:?}")));
        s.on_end(|s, e| s.borrow_mut().push(format!("end {e:?}")));
        s
    });
    rig.start(CHAN, &[]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while rig.agi.in_flight(CHAN).is_none() {
        assert!(Instant::now() < deadline);
        rig.step();
    }
    rig.emu.emit_event("AsyncAGIEnd", &[("Channel", CHAN)]);
    while rig.agi.is_active(CHAN) {
        assert!(Instant::now() < deadline);
        rig.step();
    }
    let log = log.borrow();
    assert!(log[0].contains("HungUp(SessionEnded)"), "{log:?}");
    assert!(
        log[1].starts_with("end Some(HungUp(SessionEnded))"),
        "{log:?}"
    );
    // The second ANSWER was never sent.
    assert_eq!(rig.agi.stats().commands, 1);
}

#[test]
fn response_error_fails_the_command() {
    let mut rig = rig(ScriptedReply::error(
        "Failed to add AGI command to channel PJSIP/100-00000001 queue",
    ));
    let log: Log = Rc::default();
    let l = log.clone();
    rig.agi.fallback(move |_: &Env| {
        let mut s = Script::new(l.clone());
        s.then(Answer, |s, r| match r {
            Err(AgiError::Rejected { message }) => s.state.borrow_mut().push(message),
            other => panic!("{other:?}"),
        });
        s.run(Hangup::new());
        s.on_end(|s, e| s.borrow_mut().push(format!("end {e:?}")));
        s
    });
    rig.start(CHAN, &[]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while log.borrow().len() < 2 {
        assert!(Instant::now() < deadline, "{:?}", log.borrow());
        rig.step();
    }
    let log = log.borrow();
    assert_eq!(
        log[0],
        "Failed to add AGI command to channel PJSIP/100-00000001 queue"
    );
    // HANGUP was refused too: a `run` command's error stops the script.
    assert!(log[1].starts_with("end Some(Rejected"), "{log:?}");
    assert_eq!(rig.agi.stats().rejected, 2);
    assert!(!rig.agi.is_active(CHAN));
}

#[test]
fn routes_by_first_argument_and_old_shape() {
    let mut rig = rig(queued());
    let log: Log = Rc::default();
    let l = log.clone();
    rig.agi.route("ivr", move |env: &Env| {
        let mut s = Script::new(l.clone());
        let who = env.arg(2).unwrap_or("").to_string();
        s.then(SayDigits::new("42", ""), move |s, r| {
            s.state.borrow_mut().push(format!("{who} {:?}", r.is_ok()));
        });
        s
    });
    // Not routed: ignored (another application may serve it).
    rig.start("PJSIP/other-1", &["billing"]);
    // Asterisk <= 11: Event: AsyncAGI, SubEvent: Start / Exec.
    let env = encode(&env_block(CHAN, &["IVR", "bob"]));
    rig.emu.emit_event(
        "AsyncAGI",
        &[("SubEvent", "Start"), ("Channel", CHAN), ("Env", &env)],
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let f = loop {
        assert!(Instant::now() < deadline);
        rig.step();
        if let Some(f) = rig.agi.in_flight(CHAN) {
            break f;
        }
    };
    assert_eq!(f.line, "SAY DIGITS 42 \"\"");
    assert!(!rig.agi.is_active("PJSIP/other-1"));
    rig.emu.emit_event(
        "AsyncAGI",
        &[
            ("SubEvent", "Exec"),
            ("Channel", CHAN),
            ("CommandID", &f.command_id),
            ("Result", "200%20result%3D0%0A"),
        ],
    );
    while rig.agi.is_active(CHAN) {
        assert!(Instant::now() < deadline);
        rig.step();
    }
    assert_eq!(*log.borrow(), ["bob true"]);
    assert_eq!(rig.agi.stats().started, 1);
}

#[test]
fn exec_for_another_command_is_ignored() {
    let mut rig = rig(queued());
    rig.agi.fallback(|_: &Env| {
        let mut s = Script::new(());
        s.run(Answer);
        s
    });
    rig.start(CHAN, &[]);
    let deadline = Instant::now() + Duration::from_secs(5);
    let f = loop {
        assert!(Instant::now() < deadline);
        rig.step();
        if let Some(f) = rig.agi.in_flight(CHAN) {
            break f;
        }
    };
    rig.emu.emit_event(
        "AsyncAGIExec",
        &[
            ("Channel", CHAN),
            ("CommandId", "someone-else-7"),
            ("Result", "200%20result%3D0%0A"),
        ],
    );
    for _ in 0..10 {
        rig.step();
    }
    assert_eq!(rig.agi.in_flight(CHAN), Some(f.clone()));
    rig.exec(&f, CHAN);
    while rig.agi.is_active(CHAN) {
        assert!(Instant::now() < deadline);
        rig.step();
    }
}

#[test]
fn garbage_result_is_a_typed_error_and_detach_stops_serving() {
    let mut rig = rig(queued());
    let log: Log = Rc::default();
    let l = log.clone();
    rig.agi.fallback(move |_: &Env| {
        let mut s = Script::new(l.clone());
        s.then(Answer, |s, r| s.state.borrow_mut().push(format!("{r:?}")));
        s.then(Exec::new("Verbose", "x"), |s, r| {
            s.state.borrow_mut().push(format!("{r:?}"))
        });
        s
    });
    rig.start(CHAN, &[]);
    let deadline = Instant::now() + Duration::from_secs(5);
    for result in ["%FF%FEnot%20agi%00", "200%20result%3D0%20endpos%3D"] {
        let f = loop {
            assert!(Instant::now() < deadline, "{:?}", log.borrow());
            rig.step();
            if let Some(f) = rig.agi.in_flight(CHAN) {
                break f;
            }
        };
        rig.emu.emit_event(
            "AsyncAGIExec",
            &[
                ("Channel", CHAN),
                ("CommandId", &f.command_id),
                ("Result", result),
            ],
        );
        while rig.agi.in_flight(CHAN).as_ref() == Some(&f) {
            assert!(Instant::now() < deadline);
            rig.step();
        }
    }
    let log = log.borrow().clone();
    assert!(log[0].starts_with("Err(Protocol"), "{log:?}");
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(!rig.agi.is_active(CHAN));

    // A second server, attached then detached, serves nothing.
    let other = AsyncAgiServer::new();
    other.fallback(|_: &Env| {
        let mut s = Script::new(());
        s.run(Answer);
        s
    });
    other.attach(&mut rig.mgr).detach(&mut rig.mgr);
    rig.start("PJSIP/late-1", &[]);
    for _ in 0..20 {
        rig.step();
    }
    assert_eq!(other.stats().started, 0);
}

/// What the server says about itself, as seen from inside user code.
fn report(agi: &AsyncAgiServer, at: &str) -> String {
    let st = agi.stats();
    format!(
        "{at}: active={} started={} ended={} commands={} is_active={} channels={:?} in_flight={:?}",
        st.active,
        st.started,
        st.ended,
        st.commands,
        agi.is_active(CHAN),
        agi.channels(),
        agi.in_flight(CHAN).map(|f| f.line),
    )
}

#[test]
fn factories_and_callbacks_may_ask_the_server_about_itself() {
    let mut rig = rig(queued());
    let log: Log = Rc::default();
    let weak = Rc::downgrade(&rig.agi);
    let (l, w) = (log.clone(), weak.clone());
    rig.agi.set_command_ids(move |n| {
        let agi = w.upgrade().unwrap();
        l.borrow_mut().push(report(&agi, &format!("id {n}")));
        format!("t-{n}")
    });
    let l = log.clone();
    rig.agi.fallback(move |_: &Env| {
        let agi = weak.upgrade().unwrap();
        l.borrow_mut().push(report(&agi, "factory"));
        let mut s = Script::new((l.clone(), weak.clone()));
        s.then(Answer, |s, r| {
            assert!(r.is_ok());
            let agi = s.state.1.upgrade().unwrap();
            s.state.0.borrow_mut().push(report(&agi, "reply"));
        });
        s.on_end(|(l, w), e| {
            assert!(e.is_none(), "{e:?}");
            let agi = w.upgrade().unwrap();
            l.borrow_mut().push(report(&agi, "end"));
        });
        s
    });
    rig.start(CHAN, &[]);
    rig.play(CHAN, |r| r.agi.stats().ended == 1);
    assert_eq!(
        *log.borrow(),
        [
            "factory: active=0 started=0 ended=0 commands=0 is_active=false channels=[] in_flight=None",
            // The id is made before the command counts as sent.
            "id 0: active=1 started=1 ended=0 commands=0 is_active=true channels=[\"PJSIP/100-00000001\"] in_flight=None",
            "reply: active=1 started=1 ended=0 commands=1 is_active=true channels=[\"PJSIP/100-00000001\"] in_flight=None",
            "end: active=0 started=1 ended=1 commands=1 is_active=false channels=[] in_flight=None",
            "id 1: active=0 started=1 ended=1 commands=1 is_active=false channels=[] in_flight=None",
        ]
    );
}

#[test]
fn the_sans_io_send_function_may_ask_the_server_too() {
    let agi = AsyncAgiServer::new();
    agi.fallback(|_: &Env| {
        let mut s = Script::new(());
        s.run(Answer);
        s
    });
    let env = encode(&env_block(CHAN, &[]));
    let mut conn = Connection::new(ManagerConfig::default());
    conn.feed(
        format!("Asterisk Call Manager/11.0.0\r\nEvent: AsyncAGIStart\r\nChannel: {CHAN}\r\nEnv: {env}\r\n\r\n").as_bytes(),
    );
    let mut seen = Vec::new();
    each_event(&mut conn, |ev, conn| {
        assert!(agi.handle_event(ev, &mut |a: &Agi| {
            seen.push(format!("{} {}", a.command, report(&agi, "send")));
            conn.send(a)
        }));
    });
    assert_eq!(
        seen,
        ["ANSWER send: active=1 started=1 ended=0 commands=1 is_active=true channels=[\"PJSIP/100-00000001\"] in_flight=None"]
    );
    assert_eq!(
        agi.in_flight(CHAN).map(|f| f.line).as_deref(),
        Some("ANSWER")
    );
}

/// Feeds `agi` the events in `events` (AMI text after the greeting) through a
/// sans-IO `Connection`; returns the command lines it sent.
fn feed(agi: &AsyncAgiServer, events: &str) -> Vec<String> {
    let mut conn = Connection::new(ManagerConfig::default());
    conn.feed(format!("Asterisk Call Manager/11.0.0\r\n{events}").as_bytes());
    let mut sent = Vec::new();
    each_event(&mut conn, |ev, conn| {
        agi.handle_event(ev, &mut |a: &Agi| {
            sent.push(a.command.clone());
            conn.send(a)
        });
    });
    sent
}

/// Calls `f` with each event `conn` has, and the connection to send through
/// (an input borrows the connection, so the event is copied out first).
fn each_event(conn: &mut Connection, mut f: impl FnMut(&Event<'_>, &mut Connection)) {
    loop {
        let event = match conn.next_input() {
            Some(Input::Event(ev)) => ev.to_owned(),
            Some(_) => continue,
            None => return,
        };
        f(&Event::from_message(event.view()).unwrap(), conn);
    }
}

#[test]
fn a_callback_that_ends_its_own_session_is_ended_once() {
    let agi = Rc::new(AsyncAgiServer::new());
    let log: Log = Rc::default();
    let (l, weak) = (log.clone(), Rc::downgrade(&agi));
    agi.fallback(move |_: &Env| {
        let mut s = Script::new((l.clone(), weak.clone()));
        s.then(Answer, |s, _| {
            let agi = s.state.1.upgrade().unwrap();
            // The callback feeds the server its own channel's end.
            let sent = feed(
                &agi,
                &format!("Event: AsyncAGIEnd\r\nChannel: {CHAN}\r\n\r\n"),
            );
            assert!(sent.is_empty());
            s.state.0.borrow_mut().push(report(&agi, "reply"));
        });
        s.run(Noop::new());
        s.on_end(|(l, _), e| l.borrow_mut().push(format!("end {e:?}")));
        s
    });
    let env = encode(&env_block(CHAN, &[]));
    let sent = feed(
        &agi,
        &format!("Event: AsyncAGIStart\r\nChannel: {CHAN}\r\nEnv: {env}\r\n\r\n"),
    );
    assert_eq!(sent, ["ANSWER"]);
    let id = agi.in_flight(CHAN).unwrap().command_id;
    let sent = feed(
        &agi,
        &format!(
            "Event: AsyncAGIExec\r\nChannel: {CHAN}\r\nCommandId: {id}\r\nResult: 200%20result%3D0%0A\r\n\r\n"
        ),
    );
    assert!(sent.is_empty(), "nothing after the end: {sent:?}");
    assert_eq!(
        *log.borrow(),
        [
            "reply: active=0 started=1 ended=1 commands=1 is_active=false channels=[] in_flight=None",
            "end Some(HungUp(SessionEnded))",
        ]
    );
    let st = agi.stats();
    assert_eq!((st.started, st.ended, st.active), (1, 1, 0));
}

#[test]
fn a_factory_may_replace_the_fallback() {
    let agi = Rc::new(AsyncAgiServer::new());
    let weak = Rc::downgrade(&agi);
    agi.fallback(move |_: &Env| {
        // From now on a different script serves new channels.
        weak.upgrade().unwrap().fallback(|_: &Env| {
            let mut s = Script::new(());
            s.run(Hangup::new());
            s
        });
        let mut s = Script::new(());
        s.run(Answer);
        s
    });
    let start = |chan: &str| {
        let env = encode(&env_block(chan, &[]));
        format!("Event: AsyncAGIStart\r\nChannel: {chan}\r\nEnv: {env}\r\n\r\n")
    };
    assert_eq!(feed(&agi, &start("PJSIP/a-1")), ["ANSWER"]);
    assert_eq!(feed(&agi, &start("PJSIP/b-1")), ["HANGUP"]);
    assert_eq!(feed(&agi, &start("PJSIP/c-1")), ["HANGUP"]);
}

#[test]
fn a_refused_command_callback_may_ask_the_server() {
    let mut rig = rig(ScriptedReply::error("Failed to add AGI command"));
    let log: Log = Rc::default();
    let (l, weak) = (log.clone(), Rc::downgrade(&rig.agi));
    rig.agi.fallback(move |_: &Env| {
        let mut s = Script::new((l.clone(), weak.clone()));
        s.then(Answer, |s, r| {
            assert!(matches!(r, Err(AgiError::Rejected { .. })), "{r:?}");
            let agi = s.state.1.upgrade().unwrap();
            s.state.0.borrow_mut().push(report(&agi, "refused"));
        });
        s
    });
    rig.start(CHAN, &[]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while rig.agi.is_active(CHAN) || log.borrow().is_empty() {
        assert!(Instant::now() < deadline);
        rig.step();
    }
    assert_eq!(
        *log.borrow(),
        ["refused: active=1 started=1 ended=0 commands=1 is_active=true channels=[\"PJSIP/100-00000001\"] in_flight=None"]
    );
}

#[test]
fn command_ids_differ_between_servers_of_one_process() {
    let env = encode(&env_block(CHAN, &[]));
    let start = format!("Event: AsyncAGIStart\r\nChannel: {CHAN}\r\nEnv: {env}\r\n\r\n");
    let ids: Vec<String> = (0..3)
        .map(|_| {
            let agi = AsyncAgiServer::new();
            agi.fallback(|_: &Env| {
                let mut s = Script::new(());
                s.run(Answer);
                s
            });
            assert_eq!(feed(&agi, &start), ["ANSWER"]);
            agi.in_flight(CHAN).unwrap().command_id
        })
        .collect();
    for (i, a) in ids.iter().enumerate() {
        for b in &ids[i + 1..] {
            assert_ne!(a, b, "{ids:?}");
        }
    }
    let pid = format!("{:x}", std::process::id());
    assert!(ids.iter().all(|id| id.contains(&pid)), "{ids:?}");
    // set_command_ids still overrides the scheme.
    let agi = AsyncAgiServer::new();
    agi.set_command_ids(|n| format!("mine-{n}"));
    agi.fallback(|_: &Env| {
        let mut s = Script::new(());
        s.run(Answer);
        s
    });
    feed(&agi, &start);
    assert_eq!(agi.in_flight(CHAN).unwrap().command_id, "mine-0");
}

// --- Replay of the Asterisk 22.10.1 recording ----------------------------------

const RX: &[u8] = include_bytes!("fixtures/agi/asyncagi-events.bin");
const REC_CHAN: &str = "Local/agi-async@lab-00000013;2";

#[test]
fn replay_recording_through_a_connection() {
    let log: Log = Rc::default();
    let agi = AsyncAgiServer::new();
    agi.set_command_ids(|n| format!("cmd-{n:02}"));
    let l = log.clone();
    agi.fallback(move |env: &Env| {
        let mut s = Script::new(l.clone());
        let push = |s: &mut Script<Log>, t: String| s.state.borrow_mut().push(t);
        push(&mut s, format!("start {}", env.channel().unwrap_or("?")));
        s.then(Answer, move |s, r| push(s, format!("answer {}", r.is_ok())));
        s.then(GetVariable::new("LABVAR"), move |s, r| {
            push(s, format!("labvar {:?}", r.unwrap()))
        });
        s.then(GetVariable::new("CHANNEL"), move |s, r| {
            push(s, format!("channel {:?}", r.unwrap()))
        });
        s.then(GetFullVariable::new("${CALLERID(all)}"), move |s, r| {
            push(s, format!("cid {:?}", r.unwrap()))
        });
        s.then(SetVariable::new("ASYNCVAR", "a b&c=d%e"), move |s, r| {
            push(s, format!("set {}", r.is_ok()))
        });
        s.then(GetVariable::new("ASYNCVAR"), move |s, r| {
            push(s, format!("asyncvar {:?}", r.unwrap()))
        });
        s.then(Exec::new("Verbose", "1,hello from async"), move |s, r| {
            push(s, format!("exec {}", r.is_ok()))
        });
        s.then(StreamFile::new("beep", ""), move |s, r| {
            push(s, format!("stream {:?}", r.map(|p| p.digit)))
        });
        s.then(SayNumber::new(7, ""), move |s, r| {
            push(s, format!("say {}", r.is_ok()))
        });
        s.then(RawCommand::new("FOO BAR"), move |s, r| {
            push(s, format!("foo {:?}", r.err()))
        });
        s.then(RawCommand::new("STREAM FILE"), move |s, r| {
            push(
                s,
                format!("usage {}", matches!(r, Err(AgiError::Usage { .. }))),
            )
        });
        s.then(ChannelStatus::new(), move |s, r| {
            push(s, format!("status {:?}", r.unwrap()))
        });
        s.on_end(|s, e| s.borrow_mut().push(format!("end {e:?}")));
        s
    });

    let mut conn = Connection::new(ManagerConfig::default());
    let mut sent: Vec<Agi> = Vec::new();
    conn.feed(RX);
    each_event(&mut conn, |ev, conn| {
        agi.handle_event(ev, &mut |a: &Agi| {
            sent.push(a.clone());
            conn.send(a)
        });
    });
    let lines: Vec<String> = sent.iter().map(|a| a.command.clone()).collect();
    let rec_tx =
        String::from_utf8_lossy(include_bytes!("fixtures/agi/asyncagi-events.tx.bin")).into_owned();
    // Every command we sent is one the recording sent, in the same order.
    let recorded: Vec<&str> = rec_tx
        .lines()
        .filter_map(|l| l.strip_prefix("Command: "))
        .collect();
    let recorded = &recorded[recorded.len() - lines.len()..];
    assert_eq!(lines, recorded);
    assert!(sent.iter().all(|a| a.channel == REC_CHAN));
    assert_eq!(lines.last().map(String::as_str), Some("ASYNCAGI BREAK"));
    let log = log.borrow();
    let want = [
        format!("start {REC_CHAN}"),
        "answer true".into(),
        "labvar Some(\"async-agi-value\")".into(),
        format!("channel Some({REC_CHAN:?})"),
        "cid Some(\"\\\"Async\\\" <300>\")".into(),
        "set true".into(),
        "asyncvar Some(\"a b&c=d%e\")".into(),
        "exec true".into(),
        "stream Ok(None)".into(),
        "say true".into(),
        "foo Some(InvalidCommand)".into(),
        "usage true".into(),
    ];
    assert_eq!(&log[..want.len()], &want[..], "{log:?}");
    assert!(log[want.len()].starts_with("status Some("), "{log:?}");
    assert_eq!(log.last().map(String::as_str), Some("end None"));
}

/// An async session over the manager: commands, a value the host delivers
/// later (then `resume_on`), and a timer (`handle_time_on` with the host's
/// clock), then the break.
#[test]
fn async_session_waits_for_a_host_value_and_a_timer() {
    use asterisk_io::agi::call::{oneshot, Call};
    let mut rig = rig(queued());
    let log: Log = Rc::default();
    let l = log.clone();
    let (tx, rx) = oneshot::<String>();
    let rx = RefCell::new(Some(rx));
    rig.agi.route_async("ivr", move |call: Call| {
        let l = l.clone();
        let rx = rx.borrow_mut().take().expect("one call");
        async move {
            call.run(Answer).await?;
            let name = rx.await.unwrap_or_default();
            l.borrow_mut().push(format!("got {name}"));
            call.sleep(Duration::from_millis(50)).await?;
            l.borrow_mut().push("slept".into());
            call.run(StreamFile::new(name, "")).await?;
            Ok(())
        }
    });
    rig.start(CHAN, &["ivr"]);
    let seen = rig.play(CHAN, |r| r.agi.stats().commands == 1);
    assert_eq!(seen, ["ANSWER"]);
    // Let the ANSWER reply arrive; the session then waits for the value.
    for _ in 0..20 {
        rig.step();
        rig.agi.resume_on(&mut rig.mgr);
    }
    assert!(rig.agi.is_active(CHAN));
    assert_eq!(rig.agi.in_flight(CHAN), None);
    assert_eq!(rig.agi.stats().commands, 1);
    tx.send("welcome".into()).unwrap();
    let t0 = Instant::now();
    rig.agi.handle_time_on(t0, &mut rig.mgr);
    rig.agi.resume_on(&mut rig.mgr);
    assert_eq!(*log.borrow(), ["got welcome"]);
    assert_eq!(rig.agi.poll_timeout(), Some(t0 + Duration::from_millis(50)));
    rig.agi
        .handle_time_on(t0 + Duration::from_millis(49), &mut rig.mgr);
    assert_eq!(log.borrow().len(), 1);
    rig.agi
        .handle_time_on(t0 + Duration::from_millis(50), &mut rig.mgr);
    assert_eq!(*log.borrow(), ["got welcome", "slept"]);
    let seen = rig.play(CHAN, |r| r.agi.stats().ended == 1);
    assert_eq!(seen, ["STREAM FILE welcome \"\""]);
    // 2 commands and the ASYNCAGI BREAK.
    assert_eq!(rig.agi.stats().commands, 3);
}
