//! AMI events for the channel of an async AGI session: a bridge from a
//! [`Manager`]'s event handlers to the futures of
//! [`agi::call`](super::call).
//!
//! ```text
//!  Manager::poll_events ─▶ catch-all handler ─▶ ChannelEvents::handle_event
//!                                                  │ key = Uniqueid or Channel
//!                                                  ▼
//!                      waiters of that key whose filter matches:
//!                      an owned copy each, then their wakers are woken
//!                                                  │
//!  FastAGI Server::run_ready / AsyncAgiServer::resume ─▶ the session runs on
//! ```
//!
//! A [`ChannelEvents`] hub is registered once as a manager handler
//! ([`attach`](ChannelEvents::attach)) or fed by hand
//! ([`handle_event`](ChannelEvents::handle_event), the sans-IO input). A
//! session asks for the next event of its channel with
//! [`Call::event`](super::call::Call::event) (`call.event(&hub,
//! "DTMFEnd").await?`), which fails with `AgiError::HungUp` when the call
//! hangs up first, or keeps a bounded buffer of them with
//! [`Call::watch`](super::call::Call::watch). Any code on the host's thread
//! can use [`next_for`](ChannelEvents::next_for) and
//! [`watch`](ChannelEvents::watch) with a channel name or unique id.
//!
//! Costs: an event that arrives while nobody waits costs one emptiness test;
//! otherwise two header lookups (`Uniqueid`, `Channel`) and two hash lookups.
//! Only an event that a waiter takes is copied, once per taker. A wait is
//! registered when it is created (not when first polled), so an event that
//! arrives between `call.event(..)` and its `.await` is not lost; dropping
//! the wait removes it. Slots are reused, so a steady state of waits
//! allocates only the copied events (and the key, the first time one is
//! waited for).
//!
//! Waking goes through the crate's executor: the hub only stores the event
//! and wakes the waker of the future that waits, which marks the session
//! ready. The FastAGI server runs ready sessions in `handle_timeout` (which a
//! [`Driver`](crate::driver::Driver) calls for it); an
//! [`AsyncAgiServer`](super::AsyncAgiServer) runs them in
//! [`resume`](super::AsyncAgiServer::resume) /
//! [`resume_on`](super::AsyncAgiServer::resume_on). Nothing here is `Send`
//! or spawns a thread.

use crate::ami::{Event, HandlerId, Manager, OwnedMessage};
use smallvec::SmallVec;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// The default bound of a [`Watch`]'s buffer: events beyond it push out the
/// oldest (counted by [`Watch::missed`]).
pub const DEFAULT_WATCH_CAPACITY: usize = 32;

/// Which events of a channel a wait takes: by name (any of several,
/// ASCII-case-insensitive) and by header values (all must be equal, byte for
/// byte). `"DTMFEnd".into()` is a filter by one name; `""` or `"*"` takes
/// every event.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    names: SmallVec<[Cow<'static, str>; 2]>,
    headers: SmallVec<[(Cow<'static, str>, Cow<'static, str>); 1]>,
}

impl fmt::Debug for EventFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventFilter")
            .field("names", &self.names)
            .field("headers", &self.headers)
            .finish()
    }
}

impl EventFilter {
    /// Every event of the channel.
    pub fn any() -> Self {
        EventFilter::default()
    }

    /// Events named `name` (ASCII-case-insensitive).
    pub fn name(name: impl Into<Cow<'static, str>>) -> Self {
        EventFilter::any().or_name(name)
    }

    /// Also events named `name`.
    pub fn or_name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        let name = name.into();
        if !(name.is_empty() || name == "*") {
            self.names.push(name);
        }
        self
    }

    /// Only events whose header `key` (ASCII-case-insensitive) is `value`
    /// (exact bytes), e.g. `.header("Direction", "Received")` for `DTMFEnd`.
    pub fn header(
        mut self,
        key: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Self {
        self.headers.push((key.into(), value.into()));
        self
    }

    /// True if `event` passes the filter (its channel is not looked at).
    pub fn matches(&self, event: &Event<'_>) -> bool {
        let name = event.name();
        (self.names.is_empty() || self.names.iter().any(|n| name.eq_ignore_case(n)))
            && self.headers.iter().all(|(k, v)| {
                event
                    .get(k)
                    .is_some_and(|got| got.as_bytes() == v.as_bytes())
            })
    }
}

impl From<&'static str> for EventFilter {
    fn from(name: &'static str) -> Self {
        EventFilter::name(name)
    }
}

impl From<String> for EventFilter {
    fn from(name: String) -> Self {
        EventFilter::name(name)
    }
}

/// Counters of a [`ChannelEvents`] hub.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelEventsStats {
    /// Events handed to the hub.
    pub events: u64,
    /// Copies delivered to waits (one event can go to several).
    pub delivered: u64,
    /// Events a [`Watch`] pushed out of its full buffer.
    pub missed: u64,
    /// Waits registered now.
    pub waiting: usize,
}

struct Slot {
    key: Rc<str>,
    filter: EventFilter,
    /// Events taken and not yet read (kept when the slot is reused).
    queue: VecDeque<OwnedMessage>,
    /// Bound of `queue`; 1 with `once`.
    capacity: usize,
    /// Take one event, then stop matching.
    once: bool,
    waker: Option<Waker>,
    missed: u64,
    live: bool,
}

#[derive(Default)]
struct Hub {
    slots: Vec<Slot>,
    free: Vec<usize>,
    by_key: HashMap<Rc<str>, SmallVec<[usize; 2]>>,
    events: u64,
    delivered: u64,
    missed: u64,
    waiting: usize,
}

impl Hub {
    fn register(&mut self, key: &str, filter: EventFilter, capacity: usize, once: bool) -> usize {
        let key: Rc<str> = match self.by_key.get_key_value(key) {
            Some((k, _)) => k.clone(),
            None => Rc::from(key),
        };
        let slot = Slot {
            key: key.clone(),
            filter,
            queue: VecDeque::new(),
            capacity: capacity.max(1),
            once,
            waker: None,
            missed: 0,
            live: true,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                let old = std::mem::replace(&mut self.slots[i], slot);
                // Keep the old buffer's memory.
                let mut q = old.queue;
                q.clear();
                self.slots[i].queue = q;
                i
            }
            None => {
                self.slots.push(slot);
                self.slots.len() - 1
            }
        };
        self.by_key.entry(key).or_default().push(idx);
        self.waiting += 1;
        idx
    }

    fn unregister(&mut self, idx: usize) {
        let Some(slot) = self.slots.get_mut(idx).filter(|s| s.live) else {
            return;
        };
        slot.live = false;
        slot.waker = None;
        slot.queue.clear();
        let key = slot.key.clone();
        if let Some(list) = self.by_key.get_mut(&*key) {
            list.retain(|i| *i != idx);
            if list.is_empty() {
                self.by_key.remove(&*key);
            }
        }
        self.free.push(idx);
        self.waiting -= 1;
    }

    /// Deliver `event` to the waits of `key`; wakers to wake go to `wake`.
    fn deliver(&mut self, key: &str, event: &Event<'_>, wake: &mut SmallVec<[Waker; 4]>) -> usize {
        let Hub {
            slots,
            by_key,
            delivered,
            missed,
            ..
        } = self;
        let Some(list) = by_key.get(key) else {
            return 0;
        };
        let mut n = 0;
        for &idx in list.iter() {
            let slot = &mut slots[idx];
            if (slot.once && !slot.queue.is_empty()) || !slot.filter.matches(event) {
                continue;
            }
            if slot.queue.len() >= slot.capacity {
                slot.queue.pop_front();
                slot.missed += 1;
                *missed += 1;
            }
            slot.queue.push_back(event.to_owned());
            *delivered += 1;
            n += 1;
            if let Some(w) = slot.waker.take() {
                wake.push(w);
            }
        }
        n
    }

    fn poll_slot(&mut self, idx: usize, cx: &mut Context<'_>) -> Poll<OwnedMessage> {
        let slot = &mut self.slots[idx];
        if let Some(ev) = slot.queue.pop_front() {
            return Poll::Ready(ev);
        }
        match &slot.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => slot.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

/// The hub: routes manager events to the waits of their channel. A cheap,
/// clonable handle (an `Rc` inside); not `Send`. See the [module
/// docs](self).
#[derive(Clone, Default)]
pub struct ChannelEvents {
    inner: Rc<RefCell<Hub>>,
}

impl fmt::Debug for ChannelEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelEvents")
            .field("stats", &self.stats())
            .finish()
    }
}

impl ChannelEvents {
    /// An empty hub.
    pub fn new() -> Self {
        ChannelEvents::default()
    }

    /// Registers the hub on `manager` as a catch-all event handler (it runs
    /// after the named handlers and lets the event go on to later ones).
    /// Remove it with `manager.remove_handler(id)`.
    pub fn attach(&self, manager: &mut Manager) -> HandlerId {
        let hub = self.clone();
        manager.on_any_event(move |ev, _ctx| {
            hub.handle_event(ev);
        })
    }

    /// Sans-IO input: one manager event. Its `Uniqueid` and `Channel`
    /// headers select the waits; each whose filter matches gets an owned
    /// copy and its session is woken. Returns how many waits took it.
    pub fn handle_event(&self, event: &Event<'_>) -> usize {
        let mut wake: SmallVec<[Waker; 4]> = SmallVec::new();
        let n = {
            let mut hub = self.inner.borrow_mut();
            hub.events += 1;
            if hub.by_key.is_empty() {
                return 0;
            }
            let uid = event.get("Uniqueid").and_then(|v| v.as_str());
            let chan = event.get("Channel").and_then(|v| v.as_str());
            let mut n = 0;
            if let Some(u) = uid {
                n += hub.deliver(u, event, &mut wake);
            }
            if let Some(c) = chan.filter(|c| Some(*c) != uid) {
                n += hub.deliver(c, event, &mut wake);
            }
            n
        };
        // Woken outside the borrow: a waker may reach back into the hub.
        for w in wake {
            w.wake();
        }
        n
    }

    /// A future of the next event (after this call) of the channel `key` —
    /// its name or its unique id — that passes `filter`. Registered now, so
    /// an event that arrives before the first poll is kept.
    pub fn next_for(&self, key: &str, filter: impl Into<EventFilter>) -> NextEvent {
        let idx = self
            .inner
            .borrow_mut()
            .register(key, filter.into(), 1, true);
        NextEvent {
            reg: Registration {
                hub: self.inner.clone(),
                idx,
            },
        }
    }

    /// Keep the events of channel `key` that pass `filter`, from now until
    /// the [`Watch`] is dropped, in a buffer of at most
    /// [`DEFAULT_WATCH_CAPACITY`] events.
    pub fn watch(&self, key: &str, filter: impl Into<EventFilter>) -> Watch {
        self.watch_with_capacity(key, filter, DEFAULT_WATCH_CAPACITY)
    }

    /// [`watch`](Self::watch) with a buffer of at most `capacity` events
    /// (at least 1); when full, the oldest is dropped.
    pub fn watch_with_capacity(
        &self,
        key: &str,
        filter: impl Into<EventFilter>,
        capacity: usize,
    ) -> Watch {
        let idx = self
            .inner
            .borrow_mut()
            .register(key, filter.into(), capacity, false);
        Watch {
            reg: Registration {
                hub: self.inner.clone(),
                idx,
            },
        }
    }

    /// Counters: events seen, copies delivered, events missed, waits now.
    pub fn stats(&self) -> ChannelEventsStats {
        let h = self.inner.borrow();
        ChannelEventsStats {
            events: h.events,
            delivered: h.delivered,
            missed: h.missed,
            waiting: h.waiting,
        }
    }
}

/// One registered wait; removed from the hub when dropped.
struct Registration {
    hub: Rc<RefCell<Hub>>,
    idx: usize,
}

impl Registration {
    fn poll(&self, cx: &mut Context<'_>) -> Poll<OwnedMessage> {
        self.hub.borrow_mut().poll_slot(self.idx, cx)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut hub) = self.hub.try_borrow_mut() {
            hub.unregister(self.idx);
        }
    }
}

/// The future of [`ChannelEvents::next_for`]: the event, owned.
#[must_use = "futures do nothing unless awaited"]
pub struct NextEvent {
    reg: Registration,
}

impl fmt::Debug for NextEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NextEvent").finish_non_exhaustive()
    }
}

impl Future for NextEvent {
    type Output = OwnedMessage;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<OwnedMessage> {
        self.reg.poll(cx)
    }
}

/// A bounded buffer of a channel's events (see [`ChannelEvents::watch`]);
/// read them with [`recv`](Watch::recv).
pub struct Watch {
    reg: Registration,
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch")
            .field("buffered", &self.len())
            .field("missed", &self.missed())
            .finish()
    }
}

impl Watch {
    /// A future of the oldest buffered event, or of the next one to come.
    pub fn recv(&mut self) -> WatchRecv<'_> {
        WatchRecv { watch: self }
    }

    /// The oldest buffered event, if any, without waiting.
    pub fn try_recv(&mut self) -> Option<OwnedMessage> {
        self.reg.hub.borrow_mut().slots[self.reg.idx]
            .queue
            .pop_front()
    }

    /// Events buffered now.
    pub fn len(&self) -> usize {
        self.reg.hub.borrow().slots[self.reg.idx].queue.len()
    }

    /// True when no event is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Events dropped because the buffer was full.
    pub fn missed(&self) -> u64 {
        self.reg.hub.borrow().slots[self.reg.idx].missed
    }
}

/// The future of [`Watch::recv`].
#[must_use = "futures do nothing unless awaited"]
pub struct WatchRecv<'a> {
    watch: &'a mut Watch,
}

impl fmt::Debug for WatchRecv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WatchRecv").finish_non_exhaustive()
    }
}

impl Future for WatchRecv<'_> {
    type Output = OwnedMessage;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<OwnedMessage> {
        self.watch.reg.poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn with_event<R>(pairs: &[(&str, &str)], f: impl FnOnce(&Event<'_>) -> R) -> R {
        let owned = OwnedMessage::from_pairs(pairs);
        let ev = Event::from_message(owned.view()).expect("an Event header");
        f(&ev)
    }

    fn dtmf(uid: &str, digit: &str) -> Vec<(&'static str, String)> {
        vec![
            ("Event", "DTMFEnd".into()),
            ("Channel", "PJSIP/100-0001".into()),
            ("Uniqueid", uid.into()),
            ("Digit", digit.into()),
            ("Direction", "Received".into()),
        ]
    }

    fn feed(hub: &ChannelEvents, pairs: &[(&str, String)]) -> usize {
        let p: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        with_event(&p, |ev| hub.handle_event(ev))
    }

    fn poll<F: Future + Unpin>(f: &mut F, waker: &Waker) -> Poll<F::Output> {
        Pin::new(f).poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn next_for_takes_the_first_matching_event_of_its_channel() {
        let hub = ChannelEvents::new();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut fut = hub.next_for("1700.1", "DTMFEnd");
        assert!(poll(&mut fut, &waker).is_pending());
        // Another channel, another event name: not taken, nobody woken.
        assert_eq!(feed(&hub, &dtmf("1700.2", "5")), 0);
        assert_eq!(
            feed(
                &hub,
                &[("Event", "Newexten".into()), ("Uniqueid", "1700.1".into())]
            ),
            0
        );
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        assert_eq!(feed(&hub, &dtmf("1700.1", "7")), 1);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        // A second one is not taken: the wait wants one event.
        assert_eq!(feed(&hub, &dtmf("1700.1", "8")), 0);
        match poll(&mut fut, &waker) {
            Poll::Ready(ev) => assert_eq!(ev.get_str("Digit"), Some("7")),
            Poll::Pending => panic!("the event was delivered"),
        }
        drop(fut);
        assert_eq!(hub.stats().waiting, 0);
        assert_eq!(hub.stats().delivered, 1);
    }

    #[test]
    fn registered_at_creation_and_matched_by_channel_name_too() {
        let hub = ChannelEvents::new();
        let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        let mut fut = hub.next_for("PJSIP/100-0001", EventFilter::any());
        // Arrives before the first poll: kept.
        feed(&hub, &dtmf("1700.9", "1"));
        assert!(poll(&mut fut, &waker).is_ready());
    }

    #[test]
    fn filters_by_names_and_headers() {
        let f = EventFilter::name("DTMFEnd")
            .or_name("hangup")
            .header("Direction", "Received");
        let yes = [("Event", "dtmfend"), ("Direction", "Received")];
        let sent = [("Event", "DTMFEnd"), ("Direction", "Sent")];
        let hangup = [("Event", "Hangup"), ("Direction", "Received")];
        assert!(with_event(&yes, |e| f.matches(e)));
        assert!(!with_event(&sent, |e| f.matches(e)));
        assert!(with_event(&hangup, |e| f.matches(e)));
        assert!(with_event(&sent, |e| EventFilter::from("*").matches(e)));
        assert!(with_event(&sent, |e| EventFilter::from("").matches(e)));
    }

    #[test]
    fn watch_buffers_in_order_and_drops_the_oldest_when_full() {
        let hub = ChannelEvents::new();
        let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        let mut w = hub.watch_with_capacity("1700.1", "DTMFEnd", 2);
        for d in ["1", "2", "3"] {
            feed(&hub, &dtmf("1700.1", d));
        }
        assert_eq!(w.len(), 2);
        assert_eq!(w.missed(), 1);
        assert_eq!(hub.stats().missed, 1);
        let mut got = Vec::new();
        while let Poll::Ready(ev) = poll(&mut w.recv(), &waker) {
            got.push(ev.get_str("Digit").unwrap().to_owned());
        }
        assert_eq!(got, ["2", "3"]);
        assert!(w.try_recv().is_none());
    }

    #[test]
    fn slots_and_keys_are_reused_and_removed() {
        let hub = ChannelEvents::new();
        for round in 0..3 {
            let a = hub.next_for("k1", "A");
            let b = hub.next_for("k1", "B");
            let c = hub.watch("k2", "C");
            assert_eq!(hub.stats().waiting, 3);
            assert_eq!(hub.inner.borrow().by_key.len(), 2);
            drop((a, b, c));
            let h = hub.inner.borrow();
            assert_eq!(h.waiting, 0);
            assert!(h.by_key.is_empty(), "round {round}");
            assert_eq!(h.slots.len(), 3, "slots reused");
        }
        // Nobody waits: an event costs no lookup and is not copied.
        let n = with_event(&[("Event", "DTMFEnd"), ("Uniqueid", "k1")], |e| {
            hub.handle_event(e)
        });
        assert_eq!(n, 0);
    }

    #[test]
    fn every_waiter_of_a_channel_gets_its_copy() {
        let hub = ChannelEvents::new();
        let waker = Waker::from(Arc::new(Count(AtomicUsize::new(0))));
        let mut a = hub.next_for("1700.1", "DTMFEnd");
        let mut b = hub.next_for("PJSIP/100-0001", "DTMFEnd");
        let mut w = hub.watch("1700.1", "");
        assert_eq!(feed(&hub, &dtmf("1700.1", "4")), 3);
        assert!(poll(&mut a, &waker).is_ready());
        assert!(poll(&mut b, &waker).is_ready());
        assert!(poll(&mut w.recv(), &waker).is_ready());
    }
}
