//! What the manager does with each [`Input`]: event handlers found by
//! [`EventKind`], results routed to callbacks or kept for taking, and the
//! [`Ctx`] through which user code acts while it runs.
//!
//! Everything here is sans-IO: [`Dispatcher::run`] takes inputs from a
//! [`Connection`] and calls user code; the [`Manager`](super::Manager) only
//! moves bytes around it. Handlers may add or remove handlers (themselves
//! included), send actions, take results and close the connection; changes
//! to the handler table are queued and applied as soon as the current input
//! has been handled, so a handler that removes itself never runs again.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::action::{Action, ActionId};
use super::actions::Login;
use super::connection::{Connection, Input, Lookup, Outbox};
use super::error::{Error, Gone, Skipped};
use super::event::Event;
use super::event_kind::EventKind;
use super::events::EventType;
use super::link::LinkEvent;
use super::message::Message;
use super::response::{ActionResult, FromResult};

/// What a handler tells the dispatcher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Let later handlers see the event too.
    Continue,
    /// Later handlers (named or catch-all) do not see this event.
    Stop,
}

/// What a handler may return: `()` (continue) or a [`Flow`].
pub trait HandlerResult {
    /// The flow this value means.
    fn flow(self) -> Flow;
}

impl HandlerResult for () {
    fn flow(self) -> Flow {
        Flow::Continue
    }
}

impl HandlerResult for Flow {
    fn flow(self) -> Flow {
        self
    }
}

/// Identifies a registered handler, to remove it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HandlerId(u64);

/// Where the result of an action stands (see [`Manager::take_result`](super::Manager::take_result)).
#[derive(Debug)]
#[must_use]
// Returned once per question and matched at once: boxing the result would
// cost an allocation per action for no gain.
#[allow(clippy::large_enum_variant)]
pub enum ResultStatus {
    /// Not finished yet: ask again after a later `poll_events`.
    Pending,
    /// Finished; the result is handed over and no longer kept.
    Ready(Result<ActionResult, Error>),
    /// There is no result to wait for, and never will be; the reason says why.
    Gone(Gone),
}

impl ResultStatus {
    /// `None` while pending; otherwise the result, a gone one as
    /// [`Error::Gone`]. A loop that polls until this is `Some` always ends.
    pub fn ready(self) -> Option<Result<ActionResult, Error>> {
        match self {
            ResultStatus::Pending => None,
            ResultStatus::Ready(r) => Some(r),
            ResultStatus::Gone(why) => Some(Err(Error::Gone(why))),
        }
    }

    /// True while the action is still pending.
    pub fn is_pending(&self) -> bool {
        matches!(self, ResultStatus::Pending)
    }
}

/// Counters of what the manager met on its connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManagerStats {
    /// Events handed to handlers (whether or not one was registered).
    pub events: u64,
    /// Messages skipped as malformed or oversized (see [`Skipped`]).
    pub skipped: u64,
    /// Responses that no pending action owned.
    pub unmatched: u64,
    /// Times the link was connected and logged in again after a drop.
    pub reconnects: u64,
}

pub(crate) type Handler = Box<dyn FnMut(&Event<'_>, &mut Ctx<'_>) -> Flow>;
type Callback = Box<dyn FnOnce(Result<ActionResult, Error>, &mut Ctx<'_>)>;
type UnmatchedHandler = Box<dyn FnMut(&Message<'_>, &mut Ctx<'_>)>;
type SkippedHandler = Box<dyn FnMut(&Skipped, &mut Ctx<'_>)>;
type LinkHandler = Box<dyn FnMut(&LinkEvent, &mut Ctx<'_>)>;

/// Actions the manager sends for itself; their results come back to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Internal {
    /// A keepalive `Ping`.
    Keepalive,
    /// A login: the user's first, or one replayed after a reconnect.
    Login,
}

fn typed_callback<A: Action + ?Sized>(
    done: impl FnOnce(Result<A::Output, Error>, &mut Ctx<'_>) + 'static,
) -> Callback {
    Box::new(move |r, ctx| done(r.and_then(A::Output::from_result), ctx))
}

/// Which events a handler wants.
enum Slot {
    Kind(EventKind),
    /// A name the catalogue does not know, lower-cased.
    Name(Box<[u8]>),
    Any,
}

impl Slot {
    fn for_name(name: &str) -> Slot {
        match EventKind::from_name(name.as_bytes()) {
            EventKind::Other => Slot::Name(name.to_ascii_lowercase().into_bytes().into()),
            kind => Slot::Kind(kind),
        }
    }
}

/// A change to the handler table, applied after the current input.
enum Change {
    Add(HandlerId, Slot, Handler),
    Remove(HandlerId),
}

/// What becomes of an action's result.
enum Disposition {
    Callback(Callback),
    /// Dropped on arrival (`send_and_forget`, or a cancelled kept action).
    Forget,
    /// The manager's own: its outcome goes to `Book::internal`.
    Internal(Internal),
}

type Entry = (HandlerId, Handler);

/// Handlers of known event kinds: a byte per kind gives the position of
/// its list (one load per event, no search), then the list. The byte table
/// is made with the first typed handler, so a manager without any costs a
/// pointer, and one with some 256 bytes, where a table of lists would cost
/// kilobytes (thousands of managers add up).
#[derive(Default)]
struct KindTable {
    /// Per kind index: 0 for no handler, else its list's position + 1.
    slots: Option<Box<[u8; 256]>>,
    lists: Vec<Vec<Entry>>,
}

const _: () = assert!(EventKind::COUNT <= 256, "KindTable holds 256 kinds");

impl KindTable {
    #[inline]
    fn get_mut(&mut self, kind: EventKind) -> Option<&mut Vec<Entry>> {
        let slot = self.slots.as_ref()?[kind.index()];
        if slot == 0 {
            return None;
        }
        self.lists.get_mut(usize::from(slot) - 1)
    }

    fn push(&mut self, kind: EventKind, entry: Entry) {
        let slots = self.slots.get_or_insert_with(|| Box::new([0; 256]));
        let slot = &mut slots[kind.index()];
        if *slot == 0 {
            self.lists.push(Vec::new());
            // At most one list per kind, and there are at most 256 kinds.
            *slot = self.lists.len() as u8;
        }
        self.lists[usize::from(*slot) - 1].push(entry);
    }

    /// Removes `id`; returns how many entries went.
    fn remove(&mut self, id: HandlerId) -> usize {
        let mut removed = 0;
        for list in &mut self.lists {
            let before = list.len();
            list.retain(|(i, _)| *i != id);
            removed += before - list.len();
        }
        // Empty lists stay (a kind keeps its position); the table goes with
        // the last handler.
        if self.lists.iter().all(Vec::is_empty) {
            self.slots = None;
            self.lists.clear();
        }
        removed
    }

    fn contains(&self, id: HandlerId) -> bool {
        self.lists
            .iter()
            .any(|list| list.iter().any(|(i, _)| *i == id))
    }
}

/// Event handlers, indexed by kind; a map only for names the catalogue lacks.
#[derive(Default)]
pub(crate) struct Handlers {
    by_kind: KindTable,
    by_name: HashMap<Box<[u8]>, Vec<Entry>>,
    any: Vec<Entry>,
    /// Handlers in `by_kind` and `by_name`.
    named: usize,
    unmatched: Option<UnmatchedHandler>,
    skipped: Option<SkippedHandler>,
    link: Option<LinkHandler>,
}

impl Handlers {
    fn dispatch(&mut self, ev: &Event<'_>, ctx: &mut Ctx<'_>) {
        if self.named > 0 {
            let list = match ev.kind() {
                EventKind::Other if self.by_name.is_empty() => None,
                EventKind::Other => {
                    // Lower-case the name on the stack: no allocation per event
                    // (names longer than the buffer are rare and do allocate).
                    let name = ev.name().as_bytes();
                    let mut buf = [0u8; 64];
                    if name.len() <= buf.len() {
                        let lower = &mut buf[..name.len()];
                        lower.copy_from_slice(name);
                        lower.make_ascii_lowercase();
                        self.by_name.get_mut(&*lower)
                    } else {
                        self.by_name.get_mut(name.to_ascii_lowercase().as_slice())
                    }
                }
                kind => self.by_kind.get_mut(kind),
            };
            if let Some(list) = list {
                if run(list, ev, ctx) == Flow::Stop {
                    return;
                }
            }
        }
        run(&mut self.any, ev, ctx);
    }

    fn apply(&mut self, change: Change) {
        match change {
            Change::Add(id, Slot::Kind(kind), h) => {
                self.by_kind.push(kind, (id, h));
                self.named += 1;
            }
            Change::Add(id, Slot::Name(name), h) => {
                self.by_name.entry(name).or_default().push((id, h));
                self.named += 1;
            }
            Change::Add(id, Slot::Any, h) => self.any.push((id, h)),
            Change::Remove(id) => {
                let keep = |(i, _): &Entry| *i != id;
                self.named -= self.by_kind.remove(id);
                for list in self.by_name.values_mut() {
                    let before = list.len();
                    list.retain(keep);
                    self.named -= before - list.len();
                }
                self.by_name.retain(|_, list| !list.is_empty());
                self.any.retain(keep);
            }
        }
    }

    fn contains(&self, id: HandlerId) -> bool {
        let has = |list: &Vec<Entry>| list.iter().any(|(i, _)| *i == id);
        self.any.iter().any(|(i, _)| *i == id)
            || self.by_kind.contains(id)
            || self.by_name.values().any(has)
    }
}

fn run(list: &mut [Entry], ev: &Event<'_>, ctx: &mut Ctx<'_>) -> Flow {
    for (id, h) in list {
        ctx.current = Some(*id);
        let flow = h(ev, ctx);
        ctx.current = None;
        if flow == Flow::Stop {
            return Flow::Stop;
        }
    }
    Flow::Continue
}

/// The manager's bookkeeping that user code reaches through [`Ctx`].
pub(crate) struct Book {
    dispositions: HashMap<ActionId, Disposition>,
    /// Boxed results: an idle manager's table keeps its buckets small.
    results: HashMap<ActionId, Result<Box<ActionResult>, Error>>,
    /// Actions sent with `send` whose results are not in yet.
    kept_in_flight: usize,
    changes: Vec<Change>,
    next_handler: u64,
    close_requested: bool,
    /// Outcomes of the manager's own actions, for it to act on.
    pub(crate) internal: Vec<(Internal, Result<(), Error>)>,
    /// A login of the user's whose outcome the manager also wants.
    pub(crate) watch_login: Option<ActionId>,
    /// The time the manager last read from the clock.
    pub(crate) now: Instant,
    action_timeout: Option<Duration>,
    max_stored_results: usize,
    pub(crate) stats: ManagerStats,
}

impl Book {
    pub(crate) fn new(action_timeout: Option<Duration>, max_stored_results: usize) -> Self {
        Book {
            dispositions: HashMap::new(),
            results: HashMap::new(),
            kept_in_flight: 0,
            changes: Vec::new(),
            next_handler: 0,
            close_requested: false,
            internal: Vec::new(),
            watch_login: None,
            now: Instant::now(),
            action_timeout,
            max_stored_results: max_stored_results.max(1),
            stats: ManagerStats::default(),
        }
    }

    fn deadline(&self, timeout: Option<Duration>) -> Option<(Instant, Duration)> {
        let t = timeout.or(self.action_timeout)?;
        Some((self.now.checked_add(t)?, t))
    }

    /// Refuses a kept send when the result store is full.
    fn check_store(&self) -> Result<(), Error> {
        if self.results.len() + self.kept_in_flight >= self.max_stored_results {
            return Err(Error::ResultStoreFull {
                max: self.max_stored_results,
            });
        }
        Ok(())
    }

    fn take_result(&mut self, lookup: Lookup, id: ActionId) -> ResultStatus {
        if let Some(r) = self.results.remove(&id) {
            return ResultStatus::Ready(r.map(|b| *b));
        }
        match lookup {
            Lookup::OtherConnection => ResultStatus::Gone(Gone::OtherConnection),
            Lookup::EarlierLink => ResultStatus::Gone(Gone::EarlierLink),
            Lookup::Pending if self.dispositions.contains_key(&id) => {
                ResultStatus::Gone(Gone::Detached)
            }
            Lookup::Pending => ResultStatus::Pending,
            Lookup::Finished => ResultStatus::Gone(Gone::Delivered),
        }
    }

    /// True once user code asked to close the connection.
    pub(crate) fn take_close_request(&mut self) -> bool {
        std::mem::take(&mut self.close_requested)
    }
}

/// What user code can do while the manager runs it: in an event handler, a
/// result callback, or the hooks for unmatched responses and skipped
/// messages. The [`Manager`](super::Manager) offers the same operations
/// directly between polls.
///
/// Actions are queued at once and written when the handler returns. Handler
/// changes (adding, removing) and [`Ctx::close`] take effect as soon as the
/// input being handled is done: a handler that removes itself is not called
/// again, even for the next event of the same poll.
pub struct Ctx<'a> {
    outbox: &'a mut Outbox,
    book: &'a mut Book,
    current: Option<HandlerId>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(outbox: &'a mut Outbox, book: &'a mut Book) -> Self {
        Ctx {
            outbox,
            book,
            current: None,
        }
    }

    /// Queues an action and keeps its result until it is taken with
    /// [`Ctx::take_result`] or [`Manager::take_result`](super::Manager::take_result).
    /// It gets the manager's default deadline
    /// ([`ManagerConfig::action_timeout`](super::ManagerConfig::action_timeout)).
    pub fn send<A: Action + ?Sized>(&mut self, action: &A) -> Result<ActionId, Error> {
        self.send_kept(action, None)
    }

    pub(crate) fn send_kept<A: Action + ?Sized>(
        &mut self,
        action: &A,
        timeout: Option<Duration>,
    ) -> Result<ActionId, Error> {
        self.book.check_store()?;
        let id = self.outbox.send(action, self.book.deadline(timeout))?;
        self.book.kept_in_flight += 1;
        Ok(id)
    }

    /// Queues a login whose result is kept (see [`Connection::login`]).
    pub(crate) fn login(
        &mut self,
        login: &Login,
        timeout: Option<Duration>,
    ) -> Result<ActionId, Error> {
        self.book.check_store()?;
        let id = self.outbox.login(login, self.book.deadline(timeout))?;
        self.book.kept_in_flight += 1;
        Ok(id)
    }

    /// Queues one of the manager's own actions.
    pub(crate) fn send_internal<A: Action + ?Sized>(
        &mut self,
        action: &A,
        kind: Internal,
        timeout: Duration,
    ) -> Result<ActionId, Error> {
        let id = self
            .outbox
            .send(action, self.book.deadline(Some(timeout)))?;
        let d = Disposition::Internal(kind);
        self.book.dispositions.insert(id, d);
        Ok(id)
    }

    /// Queues a login replayed by the manager.
    pub(crate) fn login_internal(
        &mut self,
        login: &Login,
        timeout: Duration,
    ) -> Result<ActionId, Error> {
        let id = self
            .outbox
            .login(login, self.book.deadline(Some(timeout)))?;
        let d = Disposition::Internal(Internal::Login);
        self.book.dispositions.insert(id, d);
        Ok(id)
    }

    /// Queues an action whose typed result goes to `done` (called from a
    /// later poll, with a `Ctx` of its own to send follow-ups). Nothing is
    /// kept for taking.
    pub fn send_with<A: Action + ?Sized>(
        &mut self,
        action: &A,
        done: impl FnOnce(Result<A::Output, Error>, &mut Ctx<'_>) + 'static,
    ) -> Result<ActionId, Error> {
        let id = self.outbox.send(action, self.book.deadline(None))?;
        let cb = typed_callback::<A>(done);
        self.book.dispositions.insert(id, Disposition::Callback(cb));
        Ok(id)
    }

    /// Queues an action whose result nobody wants: it is dropped when it
    /// arrives (a failure included), and nothing is kept.
    pub fn send_and_forget<A: Action + ?Sized>(&mut self, action: &A) -> Result<ActionId, Error> {
        let id = self.outbox.send(action, self.book.deadline(None))?;
        self.book.dispositions.insert(id, Disposition::Forget);
        Ok(id)
    }

    /// Where the result of `id` stands; a ready result is handed over once.
    pub fn take_result(&mut self, id: ActionId) -> ResultStatus {
        let lookup = self.outbox.lookup(id);
        self.book.take_result(lookup, id)
    }

    /// Stops waiting for action `id` (see [`Connection::cancel`]): a callback
    /// gets [`Error::Cancelled`]; a kept result is dropped. False when `id`
    /// is not pending.
    pub fn cancel(&mut self, id: ActionId) -> bool {
        if !self.outbox.cancel(id) {
            return false;
        }
        if !self.book.dispositions.contains_key(&id) {
            self.book.kept_in_flight = self.book.kept_in_flight.saturating_sub(1);
            self.book.dispositions.insert(id, Disposition::Forget);
        }
        true
    }

    /// Adds a handler for events named `name` (ASCII-case-insensitive); it
    /// runs before catch-all handlers, in registration order among those of
    /// the same name. From inside a handler it takes effect after the
    /// current input.
    pub fn on_event<R: HandlerResult>(
        &mut self,
        name: &str,
        mut handler: impl FnMut(&Event<'_>, &mut Ctx<'_>) -> R + 'static,
    ) -> HandlerId {
        let h: Handler = Box::new(move |e, c| handler(e, c).flow());
        self.add(Slot::for_name(name), h)
    }

    /// Adds a handler with a typed view of every `T` event, e.g.
    /// `on(Hangup, |h, _ctx| println!("{:?}", h.cause()))` (the event types
    /// in [`events`](super::events) are unit values).
    pub fn on<T: EventType, R: HandlerResult>(
        &mut self,
        _event: T,
        mut handler: impl for<'e> FnMut(T::View<'e>, &mut Ctx<'_>) -> R + 'static,
    ) -> HandlerId {
        let slot = match T::kind() {
            EventKind::Other => Slot::for_name(T::NAME),
            kind => Slot::Kind(kind),
        };
        let h: Handler = Box::new(move |ev, ctx| handler(T::view(*ev), ctx).flow());
        self.add(slot, h)
    }

    /// Adds a handler for every event, run after the named handlers.
    pub fn on_any_event<R: HandlerResult>(
        &mut self,
        mut handler: impl FnMut(&Event<'_>, &mut Ctx<'_>) -> R + 'static,
    ) -> HandlerId {
        let h: Handler = Box::new(move |e, c| handler(e, c).flow());
        self.add(Slot::Any, h)
    }

    fn add(&mut self, slot: Slot, h: Handler) -> HandlerId {
        self.book.next_handler += 1;
        let id = HandlerId(self.book.next_handler);
        self.book.changes.push(Change::Add(id, slot, h));
        id
    }

    /// Removes a handler (the running one included: see [`Ctx::handler_id`]).
    pub fn remove_handler(&mut self, id: HandlerId) {
        self.book.changes.push(Change::Remove(id));
    }

    /// The id of the event handler now running (`None` in callbacks and hooks).
    /// With [`Ctx::remove_handler`] it makes a one-shot handler.
    pub fn handler_id(&self) -> Option<HandlerId> {
        self.current
    }

    /// Closes the connection once the current input is handled: pending
    /// actions fail with [`Error::Closed`], and the manager's next
    /// `poll_events` reports the close.
    pub fn close(&mut self) {
        self.book.close_requested = true;
    }

    /// The time the manager last read from its clock (the start of this poll).
    pub fn now(&self) -> Instant {
        self.book.now
    }
}

/// Handlers and bookkeeping together: what turns inputs into user calls.
pub(crate) struct Dispatcher {
    pub(crate) handlers: Handlers,
    pub(crate) book: Book,
}

impl Dispatcher {
    pub(crate) fn new(action_timeout: Option<Duration>, max_stored_results: usize) -> Self {
        Dispatcher {
            handlers: Handlers::default(),
            book: Book::new(action_timeout, max_stored_results),
        }
    }

    /// Runs `f` with a [`Ctx`] over `conn`, then applies the changes it queued.
    pub(crate) fn with_ctx<T>(
        &mut self,
        conn: &mut Connection,
        f: impl FnOnce(&mut Ctx<'_>) -> T,
    ) -> T {
        let t = f(&mut Ctx::new(conn.outbox_mut(), &mut self.book));
        self.apply_changes(conn);
        t
    }

    fn apply_changes(&mut self, conn: &mut Connection) {
        for change in self.book.changes.drain(..) {
            self.handlers.apply(change);
        }
        if self.book.close_requested {
            conn.close();
        }
    }

    pub(crate) fn is_registered(&self, id: HandlerId) -> bool {
        self.handlers.contains(id)
            || self
                .book
                .changes
                .iter()
                .any(|c| matches!(c, Change::Add(i, _, _) if *i == id))
    }

    pub(crate) fn set_unmatched(&mut self, h: impl FnMut(&Message<'_>, &mut Ctx<'_>) + 'static) {
        self.handlers.unmatched = Some(Box::new(h));
    }

    pub(crate) fn set_skipped(&mut self, h: impl FnMut(&Skipped, &mut Ctx<'_>) + 'static) {
        self.handlers.skipped = Some(Box::new(h));
    }

    pub(crate) fn set_link(&mut self, h: impl FnMut(&LinkEvent, &mut Ctx<'_>) + 'static) {
        self.handlers.link = Some(Box::new(h));
    }

    /// Tells the link hook of `event`.
    pub(crate) fn emit_link(&mut self, conn: &mut Connection, event: &LinkEvent) {
        if let Some(h) = &mut self.handlers.link {
            h(event, &mut Ctx::new(conn.outbox_mut(), &mut self.book));
            self.apply_changes(conn);
        }
    }

    /// Handles up to `max` inputs from `conn`; returns how many.
    pub(crate) fn run(&mut self, conn: &mut Connection, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let Some(step) = conn.next_step() else {
                break;
            };
            n += 1;
            let mut ctx = Ctx::new(step.outbox, &mut self.book);
            match step.input {
                Input::Event(ev) => {
                    ctx.book.stats.events += 1;
                    self.handlers.dispatch(&ev, &mut ctx);
                }
                Input::Done(id, r) => {
                    if ctx.book.watch_login == Some(id) {
                        ctx.book.watch_login = None;
                        let outcome = r.as_ref().map(|_| ()).map_err(Error::clone);
                        ctx.book.internal.push((Internal::Login, outcome));
                    }
                    match ctx.book.dispositions.remove(&id) {
                        Some(Disposition::Callback(cb)) => cb(r.map(|b| *b), &mut ctx),
                        Some(Disposition::Forget) => {}
                        Some(Disposition::Internal(kind)) => {
                            ctx.book.internal.push((kind, r.map(|_| ())));
                        }
                        None => {
                            ctx.book.kept_in_flight = ctx.book.kept_in_flight.saturating_sub(1);
                            ctx.book.results.insert(id, r);
                        }
                    }
                }
                Input::Unmatched(m) => {
                    ctx.book.stats.unmatched += 1;
                    if let Some(h) = &mut self.handlers.unmatched {
                        h(&m, &mut ctx);
                    }
                }
                Input::Skipped(e) => {
                    ctx.book.stats.skipped += 1;
                    if let Some(h) = &mut self.handlers.skipped {
                        h(&e, &mut ctx);
                    }
                }
            }
            if !self.book.changes.is_empty() || self.book.close_requested {
                self.apply_changes(conn);
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: u64) -> Entry {
        (HandlerId(id), Box::new(|_, _| Flow::Continue))
    }

    fn ids(t: &mut KindTable, kind: EventKind) -> Vec<u64> {
        t.get_mut(kind)
            .map(|l| l.iter().map(|(i, _)| i.0).collect())
            .unwrap_or_default()
    }

    #[test]
    fn kind_table_finds_lists_by_kind_and_forgets_removed_handlers() {
        let mut t = KindTable::default();
        assert!(t.get_mut(EventKind::Hangup).is_none());
        t.push(EventKind::Hangup, entry(1));
        t.push(EventKind::Newchannel, entry(2));
        t.push(EventKind::Hangup, entry(3));
        assert_eq!(ids(&mut t, EventKind::Hangup), [1, 3]);
        assert_eq!(ids(&mut t, EventKind::Newchannel), [2]);
        assert!(t.get_mut(EventKind::VarSet).is_none());
        assert_eq!(t.remove(HandlerId(2)), 1);
        assert!(ids(&mut t, EventKind::Newchannel).is_empty());
        assert!(t.contains(HandlerId(3)) && !t.contains(HandlerId(2)));
        t.push(EventKind::Newchannel, entry(4));
        assert_eq!(ids(&mut t, EventKind::Newchannel), [4]);
        t.remove(HandlerId(1));
        t.remove(HandlerId(3));
        t.remove(HandlerId(4));
        assert!(t.slots.is_none(), "the table goes with the last handler");
        t.push(EventKind::VarSet, entry(5));
        assert_eq!(ids(&mut t, EventKind::VarSet), [5]);
    }
}
