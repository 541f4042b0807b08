//! What user code can do while the manager runs it ([`Ctx`]), how results
//! are answered (pending, ready, gone), and handler lookup by event kind.
//! The emulator and the manager share this thread: each test's loop polls both.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use asterisk_io::ami::actions::{Login, Ping};
use asterisk_io::ami::events::Hangup;
use asterisk_io::ami::{Error, Gone, Manager, ManagerConfig, ResultStatus};
use asterisk_io::emu::{Emulator, EmulatorConfig};

const T: Duration = Duration::from_secs(5);

fn pair_with(config: ManagerConfig) -> (Emulator, Manager) {
    let emu_config = EmulatorConfig::default().user("admin", "s3cret");
    let mut emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), emu_config).unwrap();
    let mut mgr = Manager::connect_with(emu.local_addr().unwrap(), config).unwrap();
    let login = mgr.start_login(&Login::new("admin", "s3cret")).unwrap();
    let mut done = None;
    run(&mut emu, &mut mgr, |m| {
        done = m.take_result(login).ready();
        done.is_some()
    });
    done.unwrap().unwrap();
    (emu, mgr)
}

fn pair() -> (Emulator, Manager) {
    pair_with(ManagerConfig::default())
}

/// Polls both sides until `until` holds (at most `T`).
fn run(emu: &mut Emulator, mgr: &mut Manager, mut until: impl FnMut(&mut Manager) -> bool) {
    let deadline = Instant::now() + T;
    while !until(mgr) {
        assert!(Instant::now() < deadline, "timed out");
        emu.poll(Some(Duration::from_millis(1))).unwrap();
        let _ = mgr.poll_events(Some(Duration::from_millis(1)));
    }
}

fn emit(emu: &mut Emulator, name: &str) {
    emu.emit_event(name, &[("Channel", "PJSIP/100-00000001")]);
}

#[test]
fn a_handler_can_remove_itself_and_is_never_called_again() {
    let (mut emu, mut mgr) = pair();
    let calls = Rc::new(Cell::new(0));
    let seen = Rc::new(Cell::new(0));
    let c = calls.clone();
    mgr.on_event("Poke", move |_, ctx| {
        c.set(c.get() + 1);
        ctx.remove_handler(ctx.handler_id().unwrap());
    });
    let s = seen.clone();
    mgr.on_event("poke", move |_, _| s.set(s.get() + 1));
    // Both events arrive in one read and are handled in one poll.
    emit(&mut emu, "Poke");
    emit(&mut emu, "Poke");
    run(&mut emu, &mut mgr, |_| seen.get() == 2);
    assert_eq!(calls.get(), 1);
}

#[test]
fn a_handler_can_subscribe_and_the_new_handler_sees_the_next_event() {
    let (mut emu, mut mgr) = pair();
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    mgr.on_event("First", move |_, ctx| {
        let g = g.clone();
        ctx.on_event("Second", move |ev, _| {
            g.borrow_mut().push(ev.name().to_string())
        });
    });
    emit(&mut emu, "Second");
    emit(&mut emu, "First");
    emit(&mut emu, "Second");
    run(&mut emu, &mut mgr, |m| m.stats().events >= 3);
    assert_eq!(*got.borrow(), ["Second"]);
}

#[test]
fn a_handler_can_close_the_connection_and_pending_callbacks_hear_of_it() {
    let (mut emu, mut mgr) = pair();
    let outcome = Rc::new(RefCell::new(None));
    let o = outcome.clone();
    // Never answered before the close: the emulator is not polled meanwhile.
    mgr.send_with(&Ping, move |r, _| *o.borrow_mut() = Some(r.map(|_| ())))
        .unwrap();
    mgr.on_event("Bye", |_, ctx| ctx.close());
    emit(&mut emu, "Bye");
    run(&mut emu, &mut mgr, |m| m.is_closed());
    assert!(matches!(*outcome.borrow(), Some(Err(Error::Closed(_)))));
    assert!(matches!(
        mgr.poll_events(Some(Duration::ZERO)),
        Err(Error::Closed(_))
    ));
}

#[test]
fn a_handler_can_take_a_result_and_send_follow_ups() {
    let (mut emu, mut mgr) = pair();
    let id = mgr.send(&Ping).unwrap();
    run(&mut emu, &mut mgr, |m| m.connection().pending_count() == 0);
    let taken = Rc::new(RefCell::new(None));
    let t = taken.clone();
    mgr.on_event("Check", move |_, ctx| {
        *t.borrow_mut() = Some(ctx.take_result(id).ready().map(|r| r.is_ok()));
        ctx.send_and_forget(&Ping).unwrap();
    });
    emit(&mut emu, "Check");
    run(&mut emu, &mut mgr, |_| taken.borrow().is_some());
    assert_eq!(*taken.borrow(), Some(Some(true)));
    assert!(matches!(
        mgr.take_result(id),
        ResultStatus::Gone(Gone::Delivered)
    ));
}

/// A `call` whose timeout passed used to leave its action pending, and the
/// late answer was stored as a result nobody would take.
#[test]
fn a_timed_out_call_leaves_nothing_behind_and_the_late_answer_is_unmatched() {
    let (mut emu, mut mgr) = pair();
    // The emulator is not polled during the call: no answer in time.
    match mgr.call(&Ping, Duration::from_millis(50)) {
        Err(Error::Timeout(t)) => assert_eq!(t, Duration::from_millis(50)),
        other => panic!("{other:?}"),
    }
    assert_eq!(mgr.connection().pending_count(), 0);
    assert_eq!(mgr.poll_timeout(), None);
    let replied = Rc::new(Cell::new(false));
    let r = replied.clone();
    // The hook gets a Ctx of its own.
    mgr.on_unmatched_response(move |m, ctx| {
        assert_eq!(m.get_str("Ping"), Some("Pong"));
        ctx.send_and_forget(&Ping).unwrap();
        r.set(true);
    });
    run(&mut emu, &mut mgr, |_| replied.get());
    assert_eq!(mgr.stats().unmatched, 1);
}

/// `poll_events` waits no longer than the next action deadline, and fails
/// the action when it passes, even with nothing arriving.
#[test]
fn poll_events_wakes_for_an_action_deadline() {
    let (_emu, mut mgr) =
        pair_with(ManagerConfig::default().action_timeout(Some(Duration::from_millis(100))));
    let id = mgr.send(&Ping).unwrap();
    assert!(mgr.poll_timeout().is_some());
    let start = Instant::now();
    while mgr.take_result(id).is_pending() {
        mgr.poll_events(Some(T)).unwrap();
        assert!(start.elapsed() < Duration::from_secs(2));
    }
    assert!(start.elapsed() >= Duration::from_millis(100));
}

#[test]
fn cancelling_a_kept_action_drops_its_result() {
    let (mut emu, mut mgr) = pair();
    let id = mgr.send(&Ping).unwrap();
    assert!(mgr.cancel(id));
    assert!(!mgr.cancel(id));
    run(&mut emu, &mut mgr, |m| m.stats().unmatched == 1);
    assert!(matches!(
        mgr.take_result(id),
        ResultStatus::Gone(Gone::Delivered)
    ));
}

/// An id of another manager used to read as "not ready yet" forever, so
/// a wait for it could only time out.
#[test]
fn an_id_of_another_manager_is_refused_at_once() {
    let (mut emu, mut a) = pair();
    let mut b = Manager::connect(emu.local_addr().unwrap()).unwrap();
    let theirs = a.send(&Ping).unwrap();
    assert!(matches!(
        b.take_result(theirs),
        ResultStatus::Gone(Gone::OtherConnection)
    ));
    let start = Instant::now();
    assert!(matches!(
        b.wait_for(theirs, T),
        Err(Error::Gone(Gone::OtherConnection))
    ));
    assert!(start.elapsed() < Duration::from_secs(1));
    // A callback's result is never kept, and take_result says so.
    let cb = a.send_with(&Ping, |_, _| {}).unwrap();
    assert!(matches!(
        a.take_result(cb),
        ResultStatus::Gone(Gone::Detached)
    ));
    run(&mut emu, &mut a, |m| m.connection().pending_count() == 0);
}

#[test]
fn typed_and_named_handlers_are_found_by_kind_in_any_case() {
    let (mut emu, mut mgr) = pair();
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    mgr.on(Hangup, move |h, _| {
        g.borrow_mut()
            .push(format!("typed {}", h.channel().unwrap()))
    });
    let g = got.clone();
    mgr.on_event("HANGUP", move |_, _| g.borrow_mut().push("named".into()));
    let g = got.clone();
    // Not in the catalogue: found by its lower-cased name.
    mgr.on_event("MyOwnEvent", move |_, _| g.borrow_mut().push("own".into()));
    emu.emit_event("hangup", &[("Channel", "PJSIP/100-00000001")]);
    emu.emit_event("myownevent", &[]);
    run(&mut emu, &mut mgr, |_| got.borrow().len() == 3);
    assert_eq!(*got.borrow(), ["typed PJSIP/100-00000001", "named", "own"]);
}
