//! A manager left running while its PBX restarts, hangs or refuses it:
//! reconnect with backoff, the login replayed, keepalive, and what becomes
//! of actions in flight. The emulator plays the PBX, with its faults, in the
//! same driver as the manager.

mod ami_support;
use ami_support::thread_cpu;

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use asterisk_io::ami::actions::{Login, Ping};
use asterisk_io::ami::{Error, Keepalive, LinkState, Manager, ManagerConfig, Reconnect};
use asterisk_io::driver::{Driver, Handle};
use asterisk_io::emu::{Emulator, EmulatorConfig};

const T: Duration = Duration::from_secs(5);

fn emulator(driver: &mut Driver, addr: SocketAddr, secret: &str) -> Handle<Emulator> {
    let config = EmulatorConfig::default().user("admin", secret);
    driver.add(Emulator::bind(addr, config).unwrap()).unwrap()
}

fn policy() -> Reconnect {
    Reconnect::default()
        .initial(Duration::from_millis(50))
        .max(Duration::from_millis(200))
        .jitter(0.0)
}

struct Rig {
    driver: Driver,
    emu: Option<Handle<Emulator>>,
    addr: SocketAddr,
    mgr: Handle<Manager>,
    links: Rc<RefCell<Vec<String>>>,
}

fn rig(config: ManagerConfig) -> Rig {
    let mut driver = Driver::new().unwrap();
    let emu = emulator(&mut driver, "127.0.0.1:0".parse().unwrap(), "s3cret");
    let addr = driver.get(emu).local_addr().unwrap();
    let mgr = driver
        .add(Manager::connect_with(addr, config).unwrap())
        .unwrap();
    let links = Rc::new(RefCell::new(Vec::new()));
    let l = links.clone();
    driver
        .get_mut(mgr)
        .on_link(move |event, _| l.borrow_mut().push(event.to_string()));
    driver
        .login(mgr, &Login::new("admin", "s3cret").md5(), T)
        .unwrap();
    Rig {
        driver,
        emu: Some(emu),
        addr,
        mgr,
        links,
    }
}

impl Rig {
    fn emu(&mut self) -> &mut Emulator {
        let emu = self.emu.expect("the emulator is running");
        self.driver.get_mut(emu)
    }

    fn until(&mut self, what: &str, mut done: impl FnMut(&mut Rig) -> bool) {
        let deadline = Instant::now() + T;
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            self.driver.poll(Some(Duration::from_millis(20))).unwrap();
        }
    }

    fn reconnects(&self) -> u64 {
        self.driver.get(self.mgr).stats().reconnects
    }

    /// Stops the "PBX": the listener and every connection go.
    fn stop_pbx(&mut self) {
        let emu = self.emu.take().unwrap();
        drop(self.driver.remove(emu).unwrap());
    }

    /// Stops the PBX and waits until the manager is between attempts.
    fn stop_pbx_and_wait(&mut self) {
        self.stop_pbx();
        self.until("the link down", |r| {
            matches!(r.driver.get(r.mgr).link_state(), LinkState::Waiting { .. })
        });
    }

    /// Sends a ping whose outcome lands in the returned cell.
    fn ping_into<T: 'static>(
        &mut self,
        outcome: impl Fn(Result<asterisk_io::ami::Response, Error>) -> T + 'static,
    ) -> Rc<RefCell<Option<T>>> {
        let cell = Rc::new(RefCell::new(None));
        let c = cell.clone();
        self.driver
            .get_mut(self.mgr)
            .send_with(&Ping, move |res, _| *c.borrow_mut() = Some(outcome(res)))
            .unwrap();
        cell
    }

    fn start_pbx(&mut self, secret: &str) {
        let addr = self.addr;
        self.emu = Some(emulator(&mut self.driver, addr, secret));
    }
}

/// The PBX restarts while a `Ping` is out: the ping fails with "outcome
/// unknown", the manager reconnects, replays its MD5 login, keeps its
/// handlers, and works again.
#[test]
fn a_restart_mid_action_fails_it_as_outcome_unknown_and_the_link_comes_back() {
    let mut r = rig(ManagerConfig::default().reconnect(Some(policy())));
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    r.driver.get_mut(r.mgr).on_event("Poke", move |e, _| {
        s.borrow_mut().push(e.get_str("N").unwrap().to_owned())
    });
    r.emu().emit_event("Poke", &[("N", "before")]);
    r.until("the first event", |_| !seen.borrow().is_empty());

    // The ping is written; the PBX hangs, then restarts.
    r.emu().set_silent(true);
    let outcome = r.ping_into(|res| res.map(|_| ()));
    r.driver.poll(Some(Duration::from_millis(50))).unwrap();
    r.emu().set_silent(false);
    r.emu().drop_clients();
    r.until("the ping's failure", |_| outcome.borrow().is_some());
    match outcome.borrow_mut().take() {
        Some(Err(Error::OutcomeUnknown(why))) => assert!(why.is_fatal(), "{why:?}"),
        other => panic!("{other:?}"),
    }
    r.until("the link back up", |r| r.reconnects() == 1);
    assert_eq!(r.driver.get(r.mgr).link_state(), LinkState::Up);
    assert_eq!(
        *r.links.borrow(),
        ["up", "down (closed by the server)", "retry in 50 ms", "up"]
    );
    // Same handlers, a working link.
    r.emu().emit_event("Poke", &[("N", "after")]);
    r.until("the event after", |_| seen.borrow().len() == 2);
    let pong = r.driver.call(r.mgr, &Ping, T).unwrap();
    assert_eq!(pong.get_str("Ping"), Some("Pong"));
}

/// While the PBX is down, attempts are refused and spaced by the backoff:
/// no busy loop (the CPU used while retrying stays small), and an action
/// sent meanwhile fails at once as never sent.
#[test]
fn refused_attempts_back_off_without_spinning_and_sends_fail_at_once() {
    let mut r = rig(ManagerConfig::default().reconnect(Some(policy())));
    r.stop_pbx_and_wait();
    match r.driver.get_mut(r.mgr).send(&Ping) {
        Err(Error::NotSent(_)) => {}
        other => panic!("{other:?}"),
    }
    let cpu = thread_cpu();
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(800) {
        r.driver.poll(Some(Duration::from_millis(100))).unwrap();
    }
    let used = thread_cpu() - cpu;
    assert!(
        used < Duration::from_millis(200),
        "retrying used {used:?} of CPU"
    );
    let refused = r
        .links
        .borrow()
        .iter()
        .filter(|l| *l == "down (refused)")
        .count();
    assert!(refused >= 2, "{:?}", r.links.borrow());
    assert!(!r.driver.get(r.mgr).is_closed());
    // The PBX is back: so is the link.
    r.start_pbx("s3cret");
    r.until("the link back up", |r| r.reconnects() == 1);
    let pong = r.driver.call(r.mgr, &Ping, T).unwrap();
    assert_eq!(pong.get_str("Ping"), Some("Pong"));
}

/// With `hold_unsent`, an action sent while the PBX is down waits for the
/// next login instead of failing, and is answered once the link is back.
#[test]
fn with_hold_unsent_an_action_sent_while_down_waits_for_the_next_login() {
    let mut r = rig(ManagerConfig::default().reconnect(Some(policy().hold_unsent(true))));
    r.stop_pbx_and_wait();
    let outcome = r.ping_into(|res| res.map(|r| r.get_str("Ping").map(str::to_owned)));
    for _ in 0..5 {
        r.driver.poll(Some(Duration::from_millis(50))).unwrap();
    }
    assert!(outcome.borrow().is_none(), "it waits while the PBX is down");
    r.start_pbx("s3cret");
    r.until("the held ping's answer", |_| outcome.borrow().is_some());
    match outcome.borrow_mut().take() {
        Some(Ok(Some(pong))) => assert_eq!(pong, "Pong"),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.reconnects(), 1);
}

/// A held action still has its own deadline: it times out while the link
/// waits, and is never sent afterwards.
#[test]
fn a_held_action_times_out_while_the_link_is_down() {
    let config = ManagerConfig::default()
        .reconnect(Some(policy().hold_unsent(true)))
        .action_timeout(Some(Duration::from_millis(150)));
    let mut r = rig(config);
    r.stop_pbx_and_wait();
    let outcome = r.ping_into(|res| res.map(|_| ()));
    r.until("the held ping's timeout", |_| outcome.borrow().is_some());
    let got = outcome.borrow_mut().take();
    assert!(matches!(got, Some(Err(Error::Timeout(_)))), "{got:?}");
}

/// A PBX that stops answering is noticed within interval + timeout by the
/// keepalive, and the link is made again.
#[test]
fn a_silent_pbx_is_detected_by_the_keepalive() {
    let keepalive = Keepalive::new(Duration::from_millis(150), Duration::from_millis(150));
    let config = ManagerConfig::default()
        .reconnect(Some(policy()))
        .keepalive(Some(keepalive));
    let mut r = rig(config);
    // A quiet but answering PBX: pings go out and are answered.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(500) {
        r.driver.poll(Some(Duration::from_millis(50))).unwrap();
    }
    assert_eq!(r.driver.get(r.mgr).link_state(), LinkState::Up);
    // Now it hangs.
    r.emu().set_silent(true);
    let hung = Instant::now();
    r.until("the keepalive to fire", |r| {
        r.links
            .borrow()
            .iter()
            .any(|l| l == "down (keepalive timeout)")
    });
    assert!(hung.elapsed() < Duration::from_millis(150 + 150 + 200));
    r.emu().set_silent(false);
    r.until("the link back up", |r| r.reconnects() == 1);
}

/// The PBX comes back with another secret: the login is refused, and the
/// manager gives up instead of retrying a wrong secret in a loop.
#[test]
fn a_refused_login_after_a_restart_gives_up() {
    let mut r = rig(ManagerConfig::default().reconnect(Some(policy())));
    r.stop_pbx();
    r.start_pbx("changed");
    r.until("giving up", |r| r.driver.get(r.mgr).is_closed());
    assert_eq!(r.driver.get(r.mgr).link_state(), LinkState::Closed);
    let last = r.links.borrow().last().cloned().unwrap();
    assert_eq!(last, "gave up (login refused: Authentication failed)");
    assert!(matches!(
        r.driver.get_mut(r.mgr).send(&Ping),
        Err(Error::AuthFailed { .. })
    ));
}

/// Without a policy, the manager ends with its link, as before.
#[test]
fn without_a_policy_the_manager_ends_with_its_link() {
    let mut r = rig(ManagerConfig::default());
    r.emu().drop_clients();
    r.until("the end", |r| r.driver.get(r.mgr).is_closed());
    assert_eq!(*r.links.borrow(), ["up", "down (closed by the server)"]);
    assert_eq!(r.driver.get(r.mgr).link_state(), LinkState::Closed);
}
