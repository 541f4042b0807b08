//! AGI sessions written as plain `async` code, on the host's own thread.
//!
//! ```
//! use asterisk_io::agi::call::{Call, CallTask};
//! use asterisk_io::agi::commands::{Answer, GetData, Hangup, StreamFile};
//!
//! let task = CallTask::new(|call: Call| async move {
//!     call.run(Answer).await?;
//!     let digits = call.run(GetData::new("menu").timeout_ms(5_000).max_digits(1)).await?;
//!     if digits.digits.is_empty() {
//!         call.run(StreamFile::new("goodbye", "")).await?;
//!     }
//!     call.run(Hangup::new()).await?;
//!     Ok(())
//! });
//! # let _ = task;
//! ```
//!
//! A [`CallTask`] is a [`Handler`]: the [`Session`](super::Session) core,
//! the FastAGI [`Server`](super::fastagi::Server) (see
//! [`route_async`](super::fastagi::Server::route_async)) and the tests drive
//! it like a [`Script`](super::Script). Inside it a tiny executor polls the
//! session's future:
//!
//! * when the reply to its command arrives (from `on_reply`),
//! * when something it awaits is woken: a [`Receiver`] whose [`Sender`] was
//!   completed by the host, an AMI event of its channel
//!   ([`Call::event`], delivered by a
//!   [`ChannelEvents`] hub on the
//!   loop's manager), or a [`Call::sleep`] whose deadline came
//!   ([`Handler::poll_timeout`] reports it, [`Handler::handle_time`] fires
//!   it; the time always comes from the host),
//! * when the channel hangs up or the session ends.
//!
//! Nothing here is `Send` or spawns a thread. A wake from the future's own
//! waker only marks the task ready and wakes the host's waker (given with
//! [`Handler::set_waker`]); the host then calls
//! [`Session::resume`](super::Session::resume) from its loop.
//!
//! Hang-up is an error every `.await` of [`Call::run`] returns once the
//! session is over (`AgiError::HungUp(Eof)`, or the transport's error), so
//! the code after it runs where you put it. When the session ends while the
//! future still waits for a timer or a value, the future is dropped, as a
//! `Script` drops what it still had queued.

use super::channel_events::{ChannelEvents, EventFilter, NextEvent, Watch};
use super::codec::{Env, Reply};
use super::command::{Command, MAX_COMMAND_LINE};
use super::error::{AgiError, HangupSource};
use super::session::Handler;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// The future a [`CallTask`] runs.
pub type CallFuture = Pin<Box<dyn Future<Output = Result<(), AgiError>>>>;

type Maker = Box<dyn FnOnce(Call) -> CallFuture>;

/// State shared by the task and every [`Call`] handle.
struct Shared {
    env: RefCell<Option<Env>>,
    /// Longest command line sent (LF included).
    limit: Cell<usize>,
    /// The command line waiting to be sent (empty: none).
    line: RefCell<Vec<u8>>,
    /// Id of the command in `line` or in flight (0: none).
    slot: Cell<u64>,
    in_flight: Cell<bool>,
    next_id: Cell<u64>,
    /// The final reply to command `.0` (`Ok`: its frame is in `reply_raw`).
    reply: RefCell<Option<(u64, Result<(), AgiError>)>>,
    /// The frame of the last reply (reused, so no allocation per reply).
    reply_raw: RefCell<Vec<u8>>,
    hungup: Cell<Option<HangupSource>>,
    /// The session is over: every later command fails with this.
    over: RefCell<Option<AgiError>>,
    now: Cell<Option<Instant>>,
    /// A sleep waits for the host to say what time it is.
    want_now: Cell<bool>,
    timers: RefCell<Vec<Instant>>,
}

impl Shared {
    fn over_error(&self) -> Option<AgiError> {
        self.over.borrow().as_ref().map(AgiError::duplicate)
    }
}

/// The task's own waker: marks it ready and passes the wake to the host.
struct TaskWake {
    woken: AtomicBool,
    host: Mutex<Option<Waker>>,
}

impl Wake for TaskWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if !self.woken.swap(true, Ordering::AcqRel) {
            if let Ok(host) = self.host.lock() {
                if let Some(w) = host.as_ref() {
                    w.wake_by_ref();
                }
            }
        }
    }
}

/// A cheap, clonable handle to one AGI session, given to the future of a
/// [`CallTask`]. Not `Send`: it lives on the host's thread.
#[derive(Clone)]
pub struct Call {
    shared: Rc<Shared>,
}

impl fmt::Debug for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call")
            .field("hungup", &self.shared.hungup.get())
            .field("in_flight", &self.shared.in_flight.get())
            .finish()
    }
}

impl Call {
    /// Send `cmd` and wait for its typed result. Commands of one session go
    /// out one at a time, in the order their futures are first polled.
    /// After the session is over the future fails at once (with
    /// `AgiError::HungUp` when Asterisk closed the connection).
    pub fn run<C: Command>(&self, cmd: C) -> Run<C> {
        Run {
            shared: self.shared.clone(),
            cmd,
            id: 0,
        }
    }

    /// Wait `d`, counted from the last instant the host gave the session
    /// (the FastAGI server gives it on every read and timeout). Fails with
    /// `AgiError::HungUp` if the channel hangs up first.
    pub fn sleep(&self, d: Duration) -> Sleep {
        Sleep {
            shared: self.shared.clone(),
            wait: d,
            deadline: None,
        }
    }

    /// Wait until `deadline` (an instant of the host's clock).
    pub fn sleep_until(&self, deadline: Instant) -> Sleep {
        Sleep {
            shared: self.shared.clone(),
            wait: Duration::ZERO,
            deadline: Some(deadline),
        }
    }

    /// Wait for `fut` unless the call ends first: `Ok(its output)`, or
    /// `Err(AgiError::HungUp)` as soon as the channel hangs up (the
    /// `HANGUP` line, a 511, the end of the session), whichever comes
    /// first. For a [`Receiver`], a [`Watch::recv`](super::channel_events::Watch::recv)
    /// or any future that does not know about the call.
    pub fn or_hangup<F: Future>(&self, fut: F) -> OrHangup<F> {
        OrHangup {
            shared: self.shared.clone(),
            fut,
        }
    }

    /// The next AMI event of this call's channel that passes `filter`, as
    /// delivered by `hub` (a [`ChannelEvents`] registered on the manager of
    /// the same loop): `call.event(&hub, "DTMFEnd").await?`. The channel is
    /// told by its unique id (`agi_uniqueid`; by name when the environment
    /// has none). The wait starts when this is called, not when it is first
    /// polled; hang-up wins (`AgiError::HungUp`).
    pub fn event(
        &self,
        hub: &ChannelEvents,
        filter: impl Into<EventFilter>,
    ) -> OrHangup<NextEvent> {
        let fut = self.with_channel_key(|key| hub.next_for(key, filter));
        self.or_hangup(fut)
    }

    /// Keep this call's channel events that pass `filter` from now on (see
    /// [`ChannelEvents::watch`]); read them with
    /// `call.or_hangup(watch.recv()).await?`.
    pub fn watch(&self, hub: &ChannelEvents, filter: impl Into<EventFilter>) -> Watch {
        self.with_channel_key(|key| hub.watch(key, filter))
    }

    /// Runs `f` with the channel's key (unique id, else name), borrowed
    /// from the environment: no copy.
    fn with_channel_key<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        let env = self.shared.env.borrow();
        let env = env.as_ref();
        let key = env
            .and_then(|e| e.unique_id().filter(|u| !u.is_empty()))
            .or_else(|| env.and_then(|e| e.channel()))
            .unwrap_or_default();
        f(key)
    }

    /// Why the channel counts as hung up, if it does (`HANGUP` line, 511,
    /// end of stream).
    pub fn hung_up(&self) -> Option<HangupSource> {
        self.shared.hungup.get()
    }

    /// The session's environment block.
    pub fn env(&self) -> Env {
        self.shared
            .env
            .borrow()
            .clone()
            .expect("a Call is made with or after its environment")
    }

    /// The last instant the host gave the session, if any.
    pub fn now(&self) -> Option<Instant> {
        self.shared.now.get()
    }
}

/// The future of [`Call::run`].
#[must_use = "futures do nothing unless awaited"]
pub struct Run<C> {
    shared: Rc<Shared>,
    cmd: C,
    /// 0 until the line is queued.
    id: u64,
}

impl<C: Command> Future for Run<C> {
    type Output = Result<C::Output, AgiError>;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        // No field is structurally pinned.
        let this = self.get_mut();
        let sh = &*this.shared;
        if this.id == 0 {
            if let Some(e) = sh.over_error() {
                return Poll::Ready(Err(e));
            }
            if sh.slot.get() != 0 {
                // Another command of this session goes first; the task is
                // polled again when its reply arrives.
                return Poll::Pending;
            }
            let limit = sh.limit.get();
            let mut line = sh.line.borrow_mut();
            line.clear();
            if let Err(e) = this.cmd.encode_limited(&mut line, limit) {
                return Poll::Ready(Err(e));
            }
            let id = sh.next_id.get() + 1;
            sh.next_id.set(id);
            sh.slot.set(id);
            this.id = id;
            return Poll::Pending;
        }
        let mut reply = sh.reply.borrow_mut();
        match reply.take() {
            Some((id, r)) if id == this.id => {
                this.id = u64::MAX;
                let raw = sh.reply_raw.borrow();
                Poll::Ready(r.and_then(|()| this.cmd.parse_reply(&Reply::parse(&raw)?)))
            }
            other => {
                *reply = other;
                if sh.slot.get() != this.id {
                    // The session ended with the command unanswered.
                    if let Some(e) = sh.over_error() {
                        return Poll::Ready(Err(e));
                    }
                }
                Poll::Pending
            }
        }
    }
}

impl<C> Drop for Run<C> {
    fn drop(&mut self) {
        // Dropped before its line went out: take the line back.
        if self.id != 0 && self.shared.slot.get() == self.id && !self.shared.in_flight.get() {
            self.shared.slot.set(0);
            self.shared.line.borrow_mut().clear();
        }
    }
}

impl<C> Unpin for Run<C> {}

/// The future of [`Call::sleep`].
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    shared: Rc<Shared>,
    wait: Duration,
    deadline: Option<Instant>,
}

impl Future for Sleep {
    type Output = Result<(), AgiError>;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
        let sh = self.shared.clone();
        if let Some(e) = sh.over_error() {
            return Poll::Ready(Err(e));
        }
        if let Some(h) = sh.hungup.get() {
            return Poll::Ready(Err(AgiError::HungUp(h)));
        }
        let Some(now) = sh.now.get() else {
            sh.want_now.set(true);
            return Poll::Pending;
        };
        let deadline = match self.deadline {
            Some(d) => d,
            None => {
                let d = now.checked_add(self.wait).unwrap_or(now);
                self.deadline = Some(d);
                d
            }
        };
        if deadline <= now {
            return Poll::Ready(Ok(()));
        }
        let mut timers = sh.timers.borrow_mut();
        if !timers.contains(&deadline) {
            timers.push(deadline);
        }
        Poll::Pending
    }
}

/// The future of [`Call::or_hangup`] (and [`Call::event`]).
#[must_use = "futures do nothing unless awaited"]
pub struct OrHangup<F> {
    shared: Rc<Shared>,
    fut: F,
}

impl<F> fmt::Debug for OrHangup<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrHangup").finish_non_exhaustive()
    }
}

impl<F: Future + Unpin> Future for OrHangup<F> {
    type Output = Result<F::Output, AgiError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(e) = self.shared.over_error() {
            return Poll::Ready(Err(e));
        }
        if let Some(h) = self.shared.hungup.get() {
            return Poll::Ready(Err(AgiError::HungUp(h)));
        }
        Pin::new(&mut self.fut).poll(cx).map(Ok)
    }
}

/// A session written as an `async` block or function, as a [`Handler`].
/// See the [module docs](self).
pub struct CallTask {
    shared: Rc<Shared>,
    make: Option<Maker>,
    future: Option<CallFuture>,
    wake: Arc<TaskWake>,
    waker: Waker,
    result: Option<Result<(), AgiError>>,
    limit_fixed: bool,
}

impl fmt::Debug for CallTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallTask")
            .field("running", &self.future.is_some())
            .field("result", &self.result)
            .finish()
    }
}

impl CallTask {
    /// A task that runs `f(call)` once the session starts.
    pub fn new<F, Fut>(f: F) -> CallTask
    where
        F: FnOnce(Call) -> Fut + 'static,
        Fut: Future<Output = Result<(), AgiError>> + 'static,
    {
        let mut t = CallTask::blank();
        t.make = Some(Box::new(move |call| Box::pin(f(call))));
        t
    }

    /// A task for the session with environment `env`, whose future `f`
    /// makes right away (it runs once the session starts): for factories
    /// that are `FnMut` and see the environment, as routes do.
    pub fn with<F, Fut>(env: &Env, f: F) -> CallTask
    where
        F: FnOnce(Call) -> Fut,
        Fut: Future<Output = Result<(), AgiError>> + 'static,
    {
        let mut t = CallTask::blank();
        *t.shared.env.borrow_mut() = Some(env.clone());
        t.future = Some(Box::pin(f(Call {
            shared: t.shared.clone(),
        })));
        t
    }

    fn blank() -> CallTask {
        let wake = Arc::new(TaskWake {
            woken: AtomicBool::new(false),
            host: Mutex::new(None),
        });
        CallTask {
            shared: Rc::new(Shared {
                env: RefCell::new(None),
                limit: Cell::new(MAX_COMMAND_LINE),
                line: RefCell::new(Vec::new()),
                slot: Cell::new(0),
                in_flight: Cell::new(false),
                next_id: Cell::new(0),
                reply: RefCell::new(None),
                reply_raw: RefCell::new(Vec::new()),
                hungup: Cell::new(None),
                over: RefCell::new(None),
                now: Cell::new(None),
                want_now: Cell::new(false),
                timers: RefCell::new(Vec::new()),
            }),
            make: None,
            future: None,
            waker: Waker::from(wake.clone()),
            wake,
            result: None,
            limit_fixed: false,
        }
    }

    /// Fix the longest command line sent (see
    /// [`Script::set_max_command_line`](super::Script::set_max_command_line));
    /// by default the one of the session's `agi_version`.
    pub fn set_max_command_line(&mut self, limit: usize) -> &mut Self {
        self.shared.limit.set(limit);
        self.limit_fixed = true;
        self
    }

    /// How the session's future ended: `None` while it runs (or if it was
    /// dropped unfinished), then what it returned.
    pub fn result(&self) -> Option<&Result<(), AgiError>> {
        self.result.as_ref()
    }

    /// True while the session's future has not finished.
    pub fn is_running(&self) -> bool {
        self.future.is_some()
    }

    fn poll(&mut self) {
        let Some(fut) = self.future.as_mut() else {
            return;
        };
        self.wake.woken.store(false, Ordering::Release);
        let mut cx = Context::from_waker(&self.waker);
        if let Poll::Ready(r) = fut.as_mut().poll(&mut cx) {
            self.future = None;
            self.result = Some(r);
        }
    }
}

impl Handler for CallTask {
    fn start(&mut self, env: &Env) {
        if !self.limit_fixed {
            self.shared.limit.set(env.max_command_line());
        }
        let known = self.shared.env.borrow().as_ref() == Some(env);
        if !known {
            *self.shared.env.borrow_mut() = Some(env.clone());
        }
        if let Some(make) = self.make.take() {
            self.future = Some(make(Call {
                shared: self.shared.clone(),
            }));
        }
        self.poll();
    }

    fn next_command(&mut self, out: &mut Vec<u8>) -> bool {
        let sh = &*self.shared;
        if sh.slot.get() == 0 || sh.in_flight.get() {
            return false;
        }
        let mut line = sh.line.borrow_mut();
        if line.is_empty() {
            return false;
        }
        out.extend_from_slice(&line);
        line.clear();
        sh.in_flight.set(true);
        true
    }

    fn on_reply(&mut self, reply: Result<&Reply<'_>, AgiError>) {
        let sh = &*self.shared;
        if !sh.in_flight.get() {
            return;
        }
        sh.in_flight.set(false);
        let id = sh.slot.replace(0);
        if let Ok(r) = &reply {
            if r.code == 511 && sh.hungup.get().is_none() {
                sh.hungup.set(Some(HangupSource::DeadChannel));
            }
        }
        let reply = reply.map(|r| {
            let mut raw = sh.reply_raw.borrow_mut();
            raw.clear();
            raw.extend_from_slice(r.raw);
        });
        *sh.reply.borrow_mut() = Some((id, reply));
        self.poll();
    }

    fn on_hangup(&mut self) {
        if self.shared.hungup.get().is_none() {
            self.shared.hungup.set(Some(HangupSource::HangupLine));
        }
        self.poll();
    }

    fn on_end(&mut self, error: Option<&AgiError>) {
        let shared = self.shared.clone();
        let sh = &*shared;
        let hungup = sh.hungup.get().unwrap_or(HangupSource::Eof);
        sh.hungup.set(Some(hungup));
        *sh.over.borrow_mut() = Some(match error {
            Some(e) => e.duplicate(),
            None => AgiError::HungUp(hungup),
        });
        sh.in_flight.set(false);
        sh.slot.set(0);
        sh.line.borrow_mut().clear();
        sh.timers.borrow_mut().clear();
        // Every command and sleep now fails at once: let the future run its
        // cleanup. What still waits (for a value) is dropped.
        self.poll();
        self.future = None;
        self.shared.timers.borrow_mut().clear();
    }

    fn waiting(&self) -> bool {
        self.future.is_some()
    }

    fn on_wake(&mut self) {
        if self.wake.woken.load(Ordering::Acquire) {
            self.poll();
        }
    }

    fn set_waker(&mut self, waker: &Waker) {
        if let Ok(mut host) = self.wake.host.lock() {
            *host = Some(waker.clone());
        }
        if self.wake.woken.load(Ordering::Acquire) {
            waker.wake_by_ref();
        }
    }

    fn handle_time(&mut self, now: Instant) {
        let sh = &*self.shared;
        sh.now.set(Some(now));
        let mut fire = sh.want_now.replace(false);
        {
            let mut timers = sh.timers.borrow_mut();
            let before = timers.len();
            timers.retain(|t| *t > now);
            fire |= timers.len() != before;
        }
        if fire {
            self.poll();
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.shared.timers.borrow().iter().min().copied()
    }
}

// ---------------------------------------------------------------------------
// One-shot values
// ---------------------------------------------------------------------------

struct OneshotSlot<T> {
    value: Option<T>,
    waker: Option<Waker>,
    sender: bool,
    receiver: bool,
}

/// A value the host delivers later, from its own loop: create the pair with
/// [`oneshot`], move the [`Receiver`] into the session and `.await` it
/// there, and complete the [`Sender`] when the value is ready (after a
/// database query, an AMI event, ...). Sending wakes the session; the
/// FastAGI server resumes it on its next [`handle_timeout`](super::fastagi::Server::handle_timeout).
/// Neither half is `Send`.
pub fn oneshot<T>() -> (Sender<T>, Receiver<T>) {
    let slot = Rc::new(RefCell::new(OneshotSlot {
        value: None,
        waker: None,
        sender: true,
        receiver: true,
    }));
    (Sender { slot: slot.clone() }, Receiver { slot })
}

/// The sending half of [`oneshot`].
pub struct Sender<T> {
    slot: Rc<RefCell<OneshotSlot<T>>>,
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl<T> Sender<T> {
    /// Deliver `value` and wake the receiver's session. Gives the value
    /// back if the receiver is gone (the session ended).
    pub fn send(self, value: T) -> Result<(), T> {
        let waker = {
            let mut s = self.slot.borrow_mut();
            if !s.receiver {
                return Err(value);
            }
            s.value = Some(value);
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// True once the receiver is gone: no one waits for the value.
    pub fn is_closed(&self) -> bool {
        !self.slot.borrow().receiver
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut s = self.slot.borrow_mut();
            s.sender = false;
            s.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The receiving half of [`oneshot`]: a future of the value, or
/// [`Canceled`] if the sender was dropped without sending.
#[must_use = "futures do nothing unless awaited"]
pub struct Receiver<T> {
    slot: Rc<RefCell<OneshotSlot<T>>>,
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").finish_non_exhaustive()
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, Canceled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.slot.borrow_mut();
        if let Some(v) = s.value.take() {
            return Poll::Ready(Ok(v));
        }
        if !s.sender {
            return Poll::Ready(Err(Canceled));
        }
        match &s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => s.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Ok(mut s) = self.slot.try_borrow_mut() {
            s.receiver = false;
            s.waker = None;
        }
    }
}

/// The [`Sender`] of a [`oneshot`] was dropped without sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Canceled;

impl fmt::Display for Canceled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the sender was dropped without sending a value")
    }
}

impl std::error::Error for Canceled {}
