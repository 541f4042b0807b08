//! The client `Manager` against the built-in `emu::Emulator` over real
//! loopback TCP.
//!
//! Neither side spawns threads. Most tests run the emulator's loop on a
//! test thread (`EmuThread`) so the manager's blocking conveniences can be
//! used as a user would; one test drives both from a single loop, and one
//! registers the manager in a host's own `mio::Poll`.

use std::cell::RefCell;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use asterisk_io::ami::actions::{
    Command, CoreShowChannels, Getvar, GetvarResponse, Login, Logoff, Ping, Setvar, UserEvent,
};
use asterisk_io::ami::{
    Action, ActionId, CommandOutput, Error, Flow, FromResult, ListResult, Manager, ManagerConfig,
    RawAction, Response,
};
use asterisk_io::emu::{Emulator, EmulatorConfig, ScriptedReply};

const T: Duration = Duration::from_secs(10);

enum Cmd {
    Emit(String, Vec<(String, String)>),
    Stop,
}

/// An emulator whose loop runs on its own thread.
struct EmuThread {
    addr: SocketAddr,
    tx: mpsc::Sender<(Cmd, mpsc::Sender<()>)>,
    handle: Option<thread::JoinHandle<()>>,
}

impl EmuThread {
    fn start(config: EmulatorConfig) -> EmuThread {
        let (addr_tx, addr_rx) = mpsc::channel();
        let (tx, rx) = mpsc::channel::<(Cmd, mpsc::Sender<()>)>();
        let handle = thread::spawn(move || {
            let mut emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
            addr_tx.send(emu.local_addr().unwrap()).unwrap();
            let deadline = Instant::now() + Duration::from_secs(120);
            while Instant::now() < deadline {
                while let Ok((cmd, ack)) = rx.try_recv() {
                    match cmd {
                        Cmd::Emit(name, headers) => {
                            let h: Vec<(&str, &str)> = headers
                                .iter()
                                .map(|(k, v)| (k.as_str(), v.as_str()))
                                .collect();
                            emu.emit_event(&name, &h);
                            // A zero-timeout poll writes the event out now.
                            emu.poll(Some(Duration::ZERO)).unwrap();
                            let _ = ack.send(());
                        }
                        Cmd::Stop => return,
                    }
                }
                emu.poll(Some(Duration::from_millis(2))).unwrap();
            }
        });
        EmuThread {
            addr: addr_rx.recv().unwrap(),
            tx,
            handle: Some(handle),
        }
    }

    /// Broadcasts an event and waits until the emulator has written it.
    fn emit(&self, name: &str, headers: &[(&str, &str)]) {
        let (ack_tx, ack_rx) = mpsc::channel();
        let h = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.tx
            .send((Cmd::Emit(name.to_owned(), h), ack_tx))
            .unwrap();
        ack_rx.recv_timeout(T).unwrap();
    }
}

impl Drop for EmuThread {
    fn drop(&mut self) {
        let (ack, _) = mpsc::channel();
        let _ = self.tx.send((Cmd::Stop, ack));
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn config() -> EmulatorConfig {
    EmulatorConfig::default()
        .user("admin", "s3cret")
        .command(
            "core show channels count",
            &["1 active channel", "", "1 call processed"],
        )
        .script(
            "CoreShowChannels",
            ScriptedReply::success(&[("Message", "Channels will follow")]).list(
                "CoreShowChannelsComplete",
                "CoreShowChannel",
                &[
                    &[
                        ("Channel", "PJSIP/100-00000001"),
                        ("ChannelStateDesc", "Up"),
                    ],
                    &[
                        ("Channel", "PJSIP/200-00000002"),
                        ("ChannelStateDesc", "Ring"),
                    ],
                ],
            ),
        )
}

fn logged_in(emu: &EmuThread) -> Manager {
    let mut mgr = Manager::connect(emu.addr).unwrap();
    mgr.login(&Login::new("admin", "s3cret"), T).unwrap();
    mgr
}

/// Polls until `done` says so (or panics after `T`).
fn poll_until(mgr: &mut Manager, mut done: impl FnMut(&mut Manager) -> bool) {
    let deadline = Instant::now() + T;
    while !done(mgr) {
        assert!(Instant::now() < deadline, "timed out");
        match mgr.poll_events(Some(Duration::from_millis(5))) {
            Ok(_) => {}
            Err(e) if e.is_fatal() => {
                if done(mgr) {
                    return;
                }
                panic!("fatal: {e}")
            }
            Err(_) => {}
        }
    }
}

fn take<A: Action>(mgr: &mut Manager, id: ActionId) -> Result<A::Output, Error> {
    let mut out = None;
    poll_until(mgr, |m| {
        out = m.take_result(id).ready();
        out.is_some()
    });
    out.unwrap().and_then(A::Output::from_result)
}

// ---------------------------------------------------------------------------

#[test]
fn plain_login_ping_and_command() {
    let emu = EmuThread::start(config());
    let mut mgr = logged_in(&emu);
    assert_eq!(mgr.greeting().unwrap().version, "11.0.0");
    let pong = mgr.call(&Ping, T).unwrap();
    assert_eq!(pong.get_str("Ping"), Some("Pong"));
    let out: CommandOutput = mgr
        .call(&Command::new("core show channels count"), T)
        .unwrap();
    assert_eq!(out.lines, ["1 active channel", "", "1 call processed"]);
    match mgr.call(&Command::new("no such thing"), T) {
        Err(Error::Server { message, .. }) => assert!(message.starts_with("No such command")),
        other => panic!("{other:?}"),
    }
    mgr.logoff(T).unwrap();
}

#[test]
fn md5_login_is_accepted() {
    let emu = EmuThread::start(config());
    let mut mgr = Manager::connect(emu.addr).unwrap();
    mgr.login(&Login::new("admin", "s3cret").md5(), T).unwrap();
    mgr.call(&Ping, T).unwrap();
}

#[test]
fn bad_password_is_auth_failed_and_the_connection_closes() {
    let emu = EmuThread::start(config());
    for login in [
        Login::new("admin", "wrong"),
        Login::new("admin", "wrong").md5(),
        Login::new("nobody", "s3cret"),
    ] {
        let mut mgr = Manager::connect(emu.addr).unwrap();
        match mgr.login(&login, T) {
            Err(Error::AuthFailed { message }) => assert_eq!(message, "Authentication failed"),
            other => panic!("{login:?}: {other:?}"),
        }
        // The refusal ends the connection at once: closed agrees with fatal.
        assert!(mgr.is_closed());
        assert!(matches!(mgr.call(&Ping, T), Err(Error::AuthFailed { .. })));
    }
}

#[test]
fn five_hundred_pings_in_flight_each_matched_to_its_id() {
    let emu = EmuThread::start(config());
    let mut mgr = logged_in(&emu);
    let ids: Vec<ActionId> = (0..500).map(|_| mgr.send(&Ping).unwrap()).collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 500);
    assert!(mgr.connection().pending_count() > 0);
    let mut seen_ids = HashSet::new();
    for id in &ids {
        let r: Response = take::<Ping>(&mut mgr, *id).unwrap();
        assert_eq!(r.get_str("Ping"), Some("Pong"));
        // The response carries the ActionID written for this very action.
        let aid = r.get_str("ActionID").unwrap().to_owned();
        assert!(aid.ends_with(&format!("-{}", id.seq())), "{aid} for {id}");
        assert!(seen_ids.insert(aid));
    }
    assert_eq!(mgr.connection().pending_count(), 0);
}

#[test]
fn many_setvar_getvar_in_flight_return_their_own_values() {
    let emu = EmuThread::start(config());
    let mut mgr = logged_in(&emu);
    let n = 250;
    let sets: Vec<ActionId> = (0..n)
        .map(|i| {
            mgr.send(&Setvar {
                channel: None,
                variable: format!("V{i}"),
                value: format!("value {i}"),
            })
            .unwrap()
        })
        .collect();
    let gets: Vec<ActionId> = (0..n)
        .map(|i| {
            mgr.send(&Getvar {
                channel: None,
                variable: format!("V{i}"),
            })
            .unwrap()
        })
        .collect();
    // Collect in reverse order: results wait by id, whatever the order.
    for (i, id) in gets.iter().enumerate().rev() {
        let r = take::<Getvar>(&mut mgr, *id).unwrap();
        assert_eq!(r.get_str("Variable"), Some(format!("V{i}").as_str()));
        assert_eq!(r.get_str("Value"), Some(format!("value {i}").as_str()));
    }
    for id in sets {
        take::<Setvar>(&mut mgr, id).unwrap();
    }
}

#[test]
fn event_handlers_by_name_and_catch_all_in_order() {
    let emu = EmuThread::start(config());
    let mut mgr = logged_in(&emu);
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    mgr.on_event("Hangup", move |ev, _| {
        l.borrow_mut()
            .push(format!("named {}", ev.get_str("Channel").unwrap()))
    });
    let l = log.clone();
    // Names match ASCII-case-insensitively.
    mgr.on_event("newchannel", move |ev, _| {
        l.borrow_mut().push(format!("named-lc {}", ev.name()))
    });
    let l = log.clone();
    mgr.on_any_event(move |ev, _| l.borrow_mut().push(format!("any {}", ev.name())));
    emu.emit("Newchannel", &[("Channel", "PJSIP/1")]);
    emu.emit("Hangup", &[("Channel", "PJSIP/1"), ("Cause", "16")]);
    emu.emit("PeerStatus", &[("Peer", "PJSIP/1")]);
    poll_until(&mut mgr, |_| {
        log.borrow().iter().any(|l| l == "any PeerStatus")
    });
    let log = log.borrow();
    let tail: Vec<&str> = log
        .iter()
        .map(String::as_str)
        .filter(|l| !l.ends_with("FullyBooted"))
        .collect();
    assert_eq!(
        tail,
        [
            "named-lc Newchannel",
            "any Newchannel",
            "named PJSIP/1",
            "any Hangup",
            "any PeerStatus"
        ]
    );
}

#[test]
fn flow_stop_hides_an_event_from_later_handlers() {
    let emu = EmuThread::start(config());
    let mut mgr = logged_in(&emu);
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    mgr.on_event("Secret", move |_, _| {
        l.borrow_mut().push("first");
        Flow::Stop
    });
    let l = log.clone();
    mgr.on_event("Secret", move |_, _| l.borrow_mut().push("second"));
    let l = log.clone();
    mgr.on_any_event(move |ev, _| {
        if ev.name() == "Secret" {
            l.borrow_mut().push("any saw secret");
        }
        if ev.name() == "Public" {
            l.borrow_mut().push("any saw public");
        }
        Flow::Continue
    });
    emu.emit("Secret", &[]);
    emu.emit("Public", &[]);
    poll_until(&mut mgr, |_| log.borrow().contains(&"any saw public"));
    assert_eq!(*log.borrow(), ["first", "any saw public"]);
}

#[test]
fn handlers_send_actions_through_ctx() {
    let emu = EmuThread::start(config());
    let mut mgr = logged_in(&emu);
    let sent = Rc::new(RefCell::new(Vec::new()));
    let s = sent.clone();
    mgr.on_event("Trigger", move |ev, ctx| {
        let value = ev.get_str("Value").unwrap().to_owned();
        let id = ctx
            .send(&Setvar {
                channel: None,
                variable: "FROM_HANDLER".into(),
                value,
            })
            .unwrap();
        s.borrow_mut().push(id);
    });
    emu.emit("Trigger", &[("Value", "set by a handler")]);
    poll_until(&mut mgr, |_| !sent.borrow().is_empty());
    let id = sent.borrow()[0];
    take::<Setvar>(&mut mgr, id).unwrap();
    let got = mgr
        .call(
            &Getvar {
                channel: None,
                variable: "FROM_HANDLER".into(),
            },
            T,
        )
        .unwrap();
    assert_eq!(got.get_str("Value"), Some("set by a handler"));
}

#[test]
fn send_with_callbacks_get_typed_results() {
    let emu = EmuThread::start(config());
    let mut mgr = logged_in(&emu);
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    mgr.send_with(&Ping, move |r: Result<Response, Error>, _| {
        g.borrow_mut()
            .push(format!("ping {}", r.unwrap().get_str("Ping").unwrap()))
    })
    .unwrap();
    let g = got.clone();
    mgr.send_with(
        &Command::new("core show uptime"),
        move |r: Result<CommandOutput, Error>, _| {
            g.borrow_mut()
                .push(format!("uptime {}", r.unwrap().lines.len()))
        },
    )
    .unwrap();
    let g = got.clone();
    mgr.send_with(&RawAction::new("NoSuchAction"), move |r, _| {
        let ok = r.unwrap().response.is_success();
        g.borrow_mut().push(format!("raw success={ok}"))
    })
    .unwrap();
    let g = got.clone();
    mgr.send_with(&CoreShowChannels, move |r: Result<ListResult, Error>, _| {
        g.borrow_mut()
            .push(format!("list {}", r.unwrap().items.len()))
    })
    .unwrap();
    poll_until(&mut mgr, |_| got.borrow().len() == 4);
    assert_eq!(
        *got.borrow(),
        ["ping Pong", "uptime 2", "raw success=false", "list 2"]
    );
}

#[test]
fn call_dispatches_events_while_it_waits() {
    let emu = EmuThread::start(config());
    let mut mgr = logged_in(&emu);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    mgr.on_any_event(move |ev, _| s.borrow_mut().push(ev.name().to_string()));
    // The events are on the socket before the Ping's response.
    for i in 0..20 {
        emu.emit("Tick", &[("N", &i.to_string())]);
    }
    let list: ListResult = mgr.call(&CoreShowChannels, T).unwrap();
    assert_eq!(list.items.len(), 2);
    let ticks = seen.borrow().iter().filter(|n| *n == "Tick").count();
    assert_eq!(ticks, 20, "{:?}", seen.borrow());
    // List items went to the call, not to the handlers.
    assert!(!seen.borrow().iter().any(|n| n == "CoreShowChannel"));
}

#[test]
fn logoff_then_every_call_returns_the_same_closed_error() {
    let emu = EmuThread::start(config());
    let mut mgr = logged_in(&emu);
    let pending = mgr.send(&Ping).unwrap();
    mgr.logoff(T).unwrap();
    assert!(mgr.is_closed());
    // The Ping sent before the logoff was answered before the Goodbye.
    assert!(mgr.take_result(pending).ready().unwrap().is_ok());
    let errors: Vec<String> = vec![
        mgr.call(&Ping, T).unwrap_err().to_string(),
        mgr.call(&Ping, T).unwrap_err().to_string(),
        mgr.send(&Ping).unwrap_err().to_string(),
        mgr.poll_events(Some(Duration::ZERO))
            .unwrap_err()
            .to_string(),
    ];
    assert!(errors.iter().all(|e| e == &errors[0]), "{errors:?}");
    assert!(matches!(mgr.call(&Ping, T), Err(Error::Closed(_))));
    assert!(matches!(mgr.logoff(T), Err(Error::Closed(_))));
}

#[test]
fn close_fails_pending_actions_with_closed() {
    let emu = EmuThread::start(config());
    let mut mgr = logged_in(&emu);
    let got = Rc::new(RefCell::new(None));
    let g = got.clone();
    mgr.send_with(&Ping, move |r, _| *g.borrow_mut() = Some(r.is_err()))
        .unwrap();
    mgr.close();
    assert_eq!(*got.borrow(), Some(true));
    assert!(matches!(mgr.call(&Ping, T), Err(Error::Closed(_))));
}

#[test]
fn manager_registered_in_a_host_poll_under_a_host_token() {
    use mio::{Events, Interest, Poll, Token};
    let emu = EmuThread::start(config());
    let mut poll = Poll::new().unwrap();
    let mut events = Events::with_capacity(16);
    const MGR: Token = Token(42);
    let mut mgr = Manager::connect(emu.addr).unwrap();
    poll.registry()
        .register(&mut mgr, MGR, Interest::READABLE)
        .unwrap();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    mgr.on_any_event(move |ev, _| s.borrow_mut().push(ev.name().to_string()));

    // The host's loop: wait on its own Poll, drive the manager when its token fires.
    let tokens = RefCell::new(HashSet::new());
    let mut drive = |mgr: &mut Manager, done: &mut dyn FnMut(&mut Manager) -> bool| {
        let deadline = Instant::now() + T;
        while !done(mgr) {
            assert!(Instant::now() < deadline, "timed out");
            poll.poll(&mut events, Some(Duration::from_millis(20)))
                .unwrap();
            for ev in events.iter() {
                tokens.borrow_mut().insert(ev.token());
                if ev.token() == MGR {
                    mgr.poll_events(Some(Duration::ZERO)).unwrap();
                    while mgr.has_buffered_input() {
                        mgr.poll_events(Some(Duration::ZERO)).unwrap();
                    }
                }
            }
        }
    };
    let login = mgr.start_login(&Login::new("admin", "s3cret")).unwrap();
    let mut result = None;
    drive(&mut mgr, &mut |m| {
        result = m.take_result(login).ready();
        result.is_some()
    });
    result.unwrap().unwrap();
    let ids: Vec<ActionId> = (0..50).map(|_| mgr.send(&Ping).unwrap()).collect();
    let mut left = ids.clone();
    drive(&mut mgr, &mut |m| {
        left.retain(|id| m.take_result(*id).is_pending());
        left.is_empty()
    });
    emu.emit("HostEvent", &[]);
    drive(&mut mgr, &mut |_| {
        seen.borrow().iter().any(|n| n == "HostEvent")
    });
    assert_eq!(*tokens.borrow(), HashSet::from([MGR]));
    // A blocking call while registered is refused at once, sends nothing,
    // and leaves the registration with the host.
    assert!(matches!(mgr.call(&Ping, T), Err(Error::Registered)));
    assert!(!mgr.connection().wants_write());
    emu.emit("AfterCall", &[]);
    drive(&mut mgr, &mut |_| {
        seen.borrow().iter().any(|n| n == "AfterCall")
    });
    // Taken back from the host, it waits on its own again.
    poll.registry().deregister(&mut mgr).unwrap();
    let pong = mgr.call(&Ping, T).unwrap();
    assert_eq!(pong.get_str("Ping"), Some("Pong"));
}

#[test]
fn timeouts_are_typed_and_not_fatal() {
    // A server that accepts and then says nothing.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = thread::spawn(move || {
        use std::io::Read;
        let (mut s, _) = listener.accept().unwrap();
        // Read (and ignore) whatever arrives for a while, then hang up
        // cleanly: nothing left unread, so the close is a FIN, not a reset.
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let until = Instant::now() + Duration::from_millis(600);
        let mut buf = [0u8; 4096];
        while Instant::now() < until {
            if let Ok(0) = s.read(&mut buf) {
                break;
            }
        }
        drop(s);
    });
    let mut mgr = Manager::connect(addr).unwrap();
    let t = Duration::from_millis(100);
    let early = mgr.send(&Ping).unwrap();
    let start = Instant::now();
    match mgr.login(&Login::new("admin", "s3cret"), t) {
        Err(Error::Timeout(d)) => assert_eq!(d, t),
        other => panic!("{other:?}"),
    }
    assert!(start.elapsed() >= t);
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(!mgr.is_closed(), "a timeout does not end the connection");
    match mgr.call(&Ping, t) {
        Err(Error::Timeout(_)) => {}
        other => panic!("{other:?}"),
    }
    // When the silent server hangs up, what was pending fails Closed.
    poll_until(&mut mgr, |m| m.is_closed());
    holder.join().unwrap();
    let e = mgr.call(&Ping, t).unwrap_err();
    assert!(matches!(e, Error::Closed(_)), "{e:?}");
    // The action sent before any of it was written, then the link failed:
    // its outcome is unknown, because of the same error.
    match mgr.take_result(early).ready() {
        Some(Err(Error::OutcomeUnknown(why))) => assert!(matches!(*why, Error::Closed(_))),
        other => panic!("{other:?}"),
    }
}

#[test]
fn one_loop_drives_emulator_and_manager_without_threads() {
    let mut emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), config()).unwrap();
    let mut mgr = Manager::connect(emu.local_addr().unwrap()).unwrap();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    mgr.on_any_event(move |ev, _| s.borrow_mut().push(ev.name().to_string()));
    let run = |mgr: &mut Manager, emu: &mut Emulator, id: ActionId| {
        let deadline = Instant::now() + T;
        loop {
            emu.poll(Some(Duration::from_millis(1))).unwrap();
            mgr.poll_events(Some(Duration::from_millis(1))).unwrap();
            if let Some(r) = mgr.take_result(id).ready() {
                return r;
            }
            assert!(Instant::now() < deadline);
        }
    };
    let id = mgr
        .start_login(&Login::new("admin", "s3cret").md5())
        .unwrap();
    run(&mut mgr, &mut emu, id).unwrap();
    let id = mgr.send(&CoreShowChannels).unwrap();
    let list = ListResult::from_result(run(&mut mgr, &mut emu, id).unwrap()).unwrap();
    assert_eq!(list.items.len(), 2);
    emu.emit_event("Loop", &[("K", "v")]);
    let id = mgr.send(&Ping).unwrap();
    run(&mut mgr, &mut emu, id).unwrap();
    let id = mgr.send(&Logoff).unwrap();
    let bye = Response::from_result(run(&mut mgr, &mut emu, id).unwrap()).unwrap();
    assert_eq!(bye.status().unwrap(), "Goodbye");
    assert!(
        seen.borrow().iter().any(|n| n == "Loop"),
        "{:?}",
        seen.borrow()
    );
    let deadline = Instant::now() + T;
    while emu.session_count() > 0 && Instant::now() < deadline {
        emu.poll(Some(Duration::from_millis(1))).unwrap();
        let _ = mgr.poll_events(Some(Duration::from_millis(1)));
    }
    assert_eq!(emu.session_count(), 0, "the emulator closed the session");
}

#[test]
fn user_event_reaches_another_session_with_a_foreign_action_id() {
    let emu = EmuThread::start(config());
    let mut a = logged_in(&emu);
    let mut b = logged_in(&emu);
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    b.on_event("UserEvent", move |ev, _| {
        s.borrow_mut().push((
            ev.get_str("UserEvent").unwrap().to_owned(),
            ev.get_str("ActionID").map(str::to_owned),
        ))
    });
    // B has actions of its own pending while A's event arrives.
    let b_ping = b.send(&Ping).unwrap();
    a.call(&UserEvent::new("Hello").header("From", "A"), T)
        .unwrap();
    poll_until(&mut b, |_| !seen.borrow().is_empty());
    let (name, aid) = seen.borrow()[0].clone();
    assert_eq!(name, "Hello");
    assert!(aid.is_some(), "the event carries A's ActionID");
    take::<Ping>(&mut b, b_ping).unwrap();
}

#[test]
fn unauthenticated_actions_are_refused_by_the_emulator() {
    let emu = EmuThread::start(config());
    let mut mgr = Manager::connect(emu.addr).unwrap();
    match mgr.call(&Ping, T) {
        Err(Error::Server { message, .. }) => assert_eq!(message, "Permission denied"),
        other => panic!("{other:?}"),
    }
    match mgr.call(&RawAction::new("NoSuchAction"), T) {
        Ok(r) => assert!(!r.response.is_success()),
        other => panic!("{other:?}"),
    }
}

fn budgeted(emu: &EmuThread, budget: usize) -> Manager {
    let config = ManagerConfig::default().max_messages_per_poll(budget);
    let mut mgr = Manager::connect_with(emu.addr, config).unwrap();
    mgr.login(&Login::new("admin", "s3cret"), T).unwrap();
    for i in 0..300 {
        emu.emit("Flood", &[("N", &i.to_string())]);
    }
    // Let the bytes reach the client's socket.
    thread::sleep(Duration::from_millis(100));
    mgr
}

#[test]
fn one_poll_events_call_handles_at_most_the_budget() {
    let emu = EmuThread::start(config());
    let mut mgr = budgeted(&emu, 10);
    let seen = Rc::new(RefCell::new(0usize));
    let s = seen.clone();
    mgr.on_event("Flood", move |_, _| *s.borrow_mut() += 1);
    let mut calls = 0;
    while *seen.borrow() < 300 {
        let before = *seen.borrow();
        let n = mgr.poll_events(Some(Duration::from_millis(5))).unwrap();
        assert!(n <= 10, "{n} messages in one call");
        assert!(*seen.borrow() - before <= 10);
        calls += 1;
        assert!(calls < 10_000);
    }
    assert!(calls >= 30);
}

#[test]

fn one_poll_events_call_handles_at_most_the_budget_in_a_host_poll() {
    use mio::{Interest, Poll, Token};
    let emu = EmuThread::start(config());
    let mut mgr = budgeted(&emu, 10);
    let poll = Poll::new().unwrap();
    poll.registry()
        .register(&mut mgr, Token(1), Interest::READABLE)
        .unwrap();
    let seen = Rc::new(RefCell::new(0usize));
    let s = seen.clone();
    mgr.on_event("Flood", move |_, _| *s.borrow_mut() += 1);
    for _ in 0..5 {
        let before = *seen.borrow();
        let n = mgr.poll_events(Some(Duration::ZERO)).unwrap();
        let handled = *seen.borrow() - before;
        assert!(
            n <= 10 && handled <= 10,
            "{n} messages, {handled} events in one call"
        );
    }
}

#[test]
fn result_callbacks_and_handlers_chain_follow_ups_through_ctx() {
    let emu = EmuThread::start(config());
    let mut mgr = logged_in(&emu);
    let log = Rc::new(RefCell::new(Vec::new()));
    // A handler sends an action whose result callback sends another.
    let l = log.clone();
    mgr.on_event("Start", move |_, ctx| {
        let l = l.clone();
        ctx.send_with(
            &Setvar {
                channel: None,
                variable: "CHAIN".into(),
                value: "step one".into(),
            },
            move |r: Result<Response, Error>, ctx| {
                l.borrow_mut().push(format!("set ok={}", r.is_ok()));
                let l = l.clone();
                ctx.send_with(
                    &Getvar {
                        channel: None,
                        variable: "CHAIN".into(),
                    },
                    // Getvar's typed answer: the value, and the response through Deref.
                    move |r: Result<GetvarResponse, Error>, _| {
                        let r = r.unwrap();
                        assert_eq!(r.value().unwrap(), r.get_str("Value").unwrap());
                        l.borrow_mut()
                            .push(format!("get {}", r.value().unwrap().to_str_lossy()));
                    },
                )
                .unwrap();
            },
        )
        .unwrap();
    });
    emu.emit("Start", &[]);
    poll_until(&mut mgr, |_| log.borrow().len() == 2);
    assert_eq!(*log.borrow(), ["set ok=true", "get step one"]);
}
