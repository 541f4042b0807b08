//! What the `ChannelEvents` hub allocates, counted with a global allocator:
//! nothing for events no wait takes (none registered, another channel, a
//! filter that does not match), and a small constant per wait and per
//! event taken. One test only, so no other thread allocates meanwhile.

use asterisk_io::agi::channel_events::{ChannelEvents, EventFilter};
use asterisk_io::ami::{Event, OwnedMessage};
use std::alloc::{GlobalAlloc, Layout, System};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> usize {
    ALLOCS.load(Ordering::Relaxed)
}

struct Noop;
impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

fn dtmf(uid: &str) -> OwnedMessage {
    OwnedMessage::from_pairs(&[
        ("Event", "DTMFEnd"),
        ("Privilege", "dtmf,all"),
        ("Channel", "PJSIP/100-00000001"),
        ("Uniqueid", uid),
        ("Linkedid", uid),
        ("Digit", "5"),
        ("DurationMs", "120"),
        ("Direction", "Received"),
    ])
}

#[test]
fn allocations_of_the_hub() {
    let hub = ChannelEvents::new();
    let other = dtmf("1700.999");
    let mine = dtmf("1700.1");
    let varset = OwnedMessage::from_pairs(&[
        ("Event", "VarSet"),
        ("Channel", "PJSIP/100-00000001"),
        ("Uniqueid", "1700.1"),
    ]);
    let other = Event::from_message(other.view()).unwrap();
    let mine = Event::from_message(mine.view()).unwrap();
    let varset = Event::from_message(varset.view()).unwrap();
    let waker = Waker::from(Arc::new(Noop));
    let mut cx = Context::from_waker(&waker);

    // Nobody waits: nothing allocated.
    let before = allocs();
    for _ in 0..1000 {
        assert_eq!(hub.handle_event(&mine), 0);
    }
    assert_eq!(allocs() - before, 0, "events with no wait registered");

    // A thousand waits on other channels, and one on this channel for
    // another event name: events nobody takes still allocate nothing.
    let waits: Vec<_> = (0..1000)
        .map(|i| hub.next_for(&format!("9.{i}"), "DTMFEnd"))
        .collect();
    let mut not_this = hub.next_for("1700.1", EventFilter::name("Hangup"));
    assert!(Pin::new(&mut not_this).poll(&mut cx).is_pending());
    let before = allocs();
    for _ in 0..1000 {
        assert_eq!(hub.handle_event(&other), 0);
        assert_eq!(hub.handle_event(&varset), 0);
        assert_eq!(hub.handle_event(&mine), 0);
    }
    assert_eq!(allocs() - before, 0, "events no wait takes");

    // The steady state of a wait: register, take one event, read it, drop.
    // Warm the slot up once (its buffer is kept for reuse).
    for round in 0..2 {
        let before = allocs();
        let mut w = hub.next_for("1700.1", "DTMFEnd");
        assert!(Pin::new(&mut w).poll(&mut cx).is_pending());
        assert_eq!(hub.handle_event(&mine), 1);
        let Poll::Ready(ev) = Pin::new(&mut w).poll(&mut cx) else {
            panic!("delivered");
        };
        assert_eq!(ev.get_str("Digit"), Some("5"));
        drop((w, ev));
        let n = allocs() - before;
        if round == 1 {
            // The event's copy (its bytes and, past eight headers, its
            // index); the key is shared with the other wait of the channel.
            assert!(n <= 2, "{n} allocations for one wait and one event");
        }
    }
    drop((waits, not_this));
    assert_eq!(hub.stats().waiting, 0);
}
