//! One `mio::Poll` for any number of managers, servers and emulators, with
//! the blocking helpers a script or a test wants.
//!
//! The library's I/O objects are plain sources: a [`Manager`] registers in
//! any `Poll` (it is a [`mio::event::Source`]), and every source that uses
//! more than one token ([`Emulator`](crate::emu::Emulator), the FastAGI
//! [`Server`](crate::agi::Server)) implements [`Drive`], a small protocol a
//! host loop can follow by hand. The [`Driver`] is that host loop, ready
//! made: it owns one `Poll`, gives each source its own range of tokens,
//! hands readiness to the source that owns it, and wakes for the earliest
//! deadline any source has. It spawns no thread and owns no clock beyond
//! `Instant::now()` at each turn.
//!
//! ```
//! use std::time::Duration;
//! use asterisk_io::ami::{actions::{Login, Ping}, Manager};
//! use asterisk_io::driver::Driver;
//! use asterisk_io::emu::{Emulator, EmulatorConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut driver = Driver::new()?;
//! let config = EmulatorConfig::default().user("admin", "s3cret");
//! let emu = driver.add(Emulator::bind("127.0.0.1:0".parse()?, config)?)?;
//! let addr = driver.get(emu).local_addr()?;
//! let mgr = driver.add(Manager::connect(addr)?)?;
//!
//! // Both ends run in this one loop, with no thread and no timed polling.
//! let t = Duration::from_secs(5);
//! driver.login(mgr, &Login::new("admin", "s3cret").md5(), t)?;
//! let pong = driver.call(mgr, &Ping, t)?;
//! assert_eq!(pong.get_str("Ping"), Some("Pong"));
//! driver.logoff(mgr, t)?;
//! # Ok(()) }
//! ```

use std::any::Any;
use std::io::{self, ErrorKind};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::{Events, Poll, Registry, Token};

use crate::ami::{self, Action, ActionId, ActionResult, FromResult, Manager, ResultStatus};

/// A source of readiness that a host loop drives: registered under a range
/// of consecutive tokens, told about readiness on any of them, and given
/// time to work when it says it has work or a deadline passes.
///
/// A host with its own `Poll` follows the same protocol the [`Driver`] does:
/// [`attach`](Drive::attach) under a base token it reserves
/// [`token_count`](Drive::token_count) tokens for, pass every event whose
/// token falls in that range to [`ready`](Drive::ready), wait no longer than
/// [`poll_timeout`](Drive::poll_timeout), and call [`work`](Drive::work)
/// whenever [`has_work`](Drive::has_work) says so (after every poll is fine).
pub trait Drive {
    /// How many consecutive tokens, from the base, the source may use.
    fn token_count(&self) -> usize;

    /// Registers the source's sockets under `base` and the tokens after it.
    fn attach(&mut self, registry: &Registry, base: Token) -> io::Result<()>;

    /// Removes every socket of the source from `registry`; nothing else
    /// changes (live sessions stay, and a later `attach` picks them up).
    fn detach(&mut self, registry: &Registry) -> io::Result<()>;

    /// Handles readiness on one of the source's tokens.
    fn ready(&mut self, registry: &Registry, event: &Event);

    /// True when the source has work without new readiness (buffered input,
    /// a deadline at or before `now`).
    fn has_work(&self, now: Instant) -> bool;

    /// Does that work.
    fn work(&mut self, registry: &Registry, now: Instant);

    /// The earliest moment the source needs [`work`](Drive::work) without readiness.
    fn poll_timeout(&self) -> Option<Instant>;
}

/// Object-safe `Drive` plus the downcast a typed [`Handle`] needs.
trait Driven: Drive {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<T: Drive + 'static> Driven for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

/// A source added to a [`Driver`], typed: `driver.get(handle)` gives it back.
pub struct Handle<T> {
    driver: u64,
    index: usize,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Handle<T> {}

impl<T> std::fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Handle({}:{})", self.driver, self.index)
    }
}

struct Slot {
    /// `None` once removed (the slot keeps its range, so ranges stay sorted).
    source: Option<Box<dyn Driven>>,
    base: usize,
    count: usize,
}

static DRIVERS: AtomicU64 = AtomicU64::new(1);

/// One `mio::Poll` for any number of sources. See the [module docs](self).
pub struct Driver {
    id: u64,
    poll: Poll,
    events: Events,
    /// Sources by index, in increasing order of token range (indexes and
    /// ranges are never reused).
    slots: Vec<Slot>,
    /// The next free token; ranges are handed out in increasing order.
    next_token: usize,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver")
            .field("sources", &self.sources().count())
            .finish_non_exhaustive()
    }
}

impl Driver {
    /// A driver with its own `Poll` and no sources.
    pub fn new() -> io::Result<Driver> {
        Ok(Driver {
            id: DRIVERS.fetch_add(1, Ordering::Relaxed),
            poll: Poll::new()?,
            events: Events::with_capacity(256),
            slots: Vec::new(),
            next_token: 0,
        })
    }

    /// Adds a source under the next free range of tokens and returns its handle.
    pub fn add<T: Drive + 'static>(&mut self, mut source: T) -> io::Result<Handle<T>> {
        let count = source.token_count().max(1);
        let base = self.next_token;
        let next = base
            .checked_add(count)
            .ok_or_else(|| io::Error::new(ErrorKind::InvalidInput, "token space exhausted"))?;
        source.attach(self.poll.registry(), Token(base))?;
        self.next_token = next;
        self.slots.push(Slot {
            source: Some(Box::new(source)),
            base,
            count,
        });
        Ok(Handle {
            driver: self.id,
            index: self.slots.len() - 1,
            _type: PhantomData,
        })
    }

    /// Takes a source out of the driver (its sockets deregistered, its
    /// sessions kept), to use on its own or in another loop.
    ///
    /// # Panics
    /// If `handle` was already removed or belongs to another driver.
    pub fn remove<T: Drive + 'static>(&mut self, handle: Handle<T>) -> io::Result<T> {
        self.check(handle);
        let slot = &mut self.slots[handle.index];
        let source = slot
            .source
            .as_mut()
            .expect("handle of a source already removed");
        source.detach(self.poll.registry())?;
        let source = slot.source.take().expect("checked above");
        Ok(*source
            .into_any()
            .downcast::<T>()
            .expect("a handle's type is its source's"))
    }

    fn check<T>(&self, handle: Handle<T>) {
        assert_eq!(handle.driver, self.id, "handle of another driver");
    }

    /// The source behind `handle`.
    ///
    /// # Panics
    /// If `handle` was removed or belongs to another driver.
    pub fn get<T: Drive + 'static>(&self, handle: Handle<T>) -> &T {
        self.check(handle);
        self.slots[handle.index]
            .source
            .as_ref()
            .and_then(|s| s.as_any().downcast_ref())
            .expect("handle of a source already removed")
    }

    /// The source behind `handle`, to change it or send through it.
    ///
    /// # Panics
    /// If `handle` was removed or belongs to another driver.
    pub fn get_mut<T: Drive + 'static>(&mut self, handle: Handle<T>) -> &mut T {
        self.check(handle);
        self.slots[handle.index]
            .source
            .as_mut()
            .and_then(|s| s.as_any_mut().downcast_mut())
            .expect("handle of a source already removed")
    }

    fn sources(&self) -> impl Iterator<Item = &dyn Driven> {
        self.slots.iter().filter_map(|s| s.source.as_deref())
    }

    /// The earliest deadline of any source.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.sources().filter_map(|s| s.poll_timeout()).min()
    }

    /// One turn: waits up to `timeout` (`None`: until something happens),
    /// but no longer than the earliest deadline and not at all when a source
    /// has work already; then hands each readiness to its source and lets
    /// every source with work do it.
    pub fn poll(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let now = Instant::now();
        let mut wait = timeout;
        for source in self.sources() {
            if source.has_work(now) {
                wait = Some(Duration::ZERO);
                break;
            }
            if let Some(at) = source.poll_timeout() {
                let left = at.saturating_duration_since(now);
                wait = Some(wait.map_or(left, |w| w.min(left)));
            }
        }
        match self.poll.poll(&mut self.events, wait) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
        let registry = self.poll.registry();
        for event in self.events.iter() {
            let token = event.token().0;
            // Ranges are sorted: the owner is the last slot whose base <= token.
            let i = self.slots.partition_point(|s| s.base <= token);
            let Some(slot) = i.checked_sub(1).map(|i| &mut self.slots[i]) else {
                continue;
            };
            if token - slot.base < slot.count {
                if let Some(source) = slot.source.as_mut() {
                    source.ready(registry, event);
                }
            }
        }
        let now = Instant::now();
        for source in self.slots.iter_mut().filter_map(|s| s.source.as_mut()) {
            if source.has_work(now) {
                source.work(registry, now);
            }
        }
        Ok(())
    }

    /// Turns the loop until `done` says so or `timeout` passes; true if done.
    pub fn run_until(
        &mut self,
        timeout: Duration,
        mut done: impl FnMut(&mut Driver) -> bool,
    ) -> io::Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            if done(self) {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            self.poll(Some(deadline - now))?;
        }
    }

    /// Turns the loop until action `id` of the manager finishes or `timeout`
    /// passes (the action then stays pending). Every source keeps running.
    pub fn wait_for(
        &mut self,
        manager: Handle<Manager>,
        id: ActionId,
        timeout: Duration,
    ) -> Result<ActionResult, ami::Error> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.get_mut(manager).take_result(id) {
                ResultStatus::Ready(r) => return r,
                ResultStatus::Gone(why) => return Err(ami::Error::Gone(why)),
                ResultStatus::Pending => {}
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ami::Error::Timeout(timeout));
            }
            self.poll(Some(deadline - now))?;
        }
    }

    /// Sends an action through the manager and turns the loop until its
    /// result; `timeout` is the action's deadline, so nothing is left pending.
    pub fn call<A: Action + ?Sized>(
        &mut self,
        manager: Handle<Manager>,
        action: &A,
        timeout: Duration,
    ) -> Result<A::Output, ami::Error> {
        let id = self.get_mut(manager).send_with_timeout(action, timeout)?;
        self.wait_for(manager, id, timeout)
            .and_then(A::Output::from_result)
    }

    /// Logs the manager in (plain or MD5) and waits for the answer.
    pub fn login(
        &mut self,
        manager: Handle<Manager>,
        login: &ami::actions::Login,
        timeout: Duration,
    ) -> Result<(), ami::Error> {
        let id = self
            .get_mut(manager)
            .start_login_with_timeout(login, timeout)?;
        self.wait_for(manager, id, timeout).map(|_| ())
    }

    /// Sends `Logoff`, waits for the answer and the server's close, then
    /// closes the manager (it stays in the driver, closed, until removed).
    pub fn logoff(
        &mut self,
        manager: Handle<Manager>,
        timeout: Duration,
    ) -> Result<(), ami::Error> {
        let deadline = Instant::now() + timeout;
        let id = self.get_mut(manager).start_logoff(timeout)?;
        let r = self.wait_for(manager, id, timeout);
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = self.run_until(left, |d| d.get(manager).is_closed());
        self.get_mut(manager).close();
        r.map(|_| ())
    }
}
