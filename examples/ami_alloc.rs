//! Proof that steady-state event parsing allocates nothing.
//!
//! A counting global allocator wraps the system allocator. A sans-IO
//! `Connection` is fed the greeting and then ~10,000 events recorded from a
//! real Asterisk 22.10.1 (`tests/fixtures/ami/events.ami`, repeated), in
//! 64 KiB chunks as a socket would deliver them. After one warm-up pass (the
//! read buffer and header index reach their working size), a second pass is
//! measured: every `feed` and every `next_input` until the input is drained,
//! with each event's name and a header looked at, as a handler would.
//!
//! The same is then measured one level up: a `Manager` on a real loopback
//! socket, with a catch-all handler and typed handlers (`Manager::on` for
//! six of the most frequent events, reading typed fields and snapshots),
//! reading the events a helper thread writes. Only allocations made on the manager's thread are counted there.
//!
//! Run it with `cargo run --release --example ami_alloc`. It prints
//! `allocations_per_event=X` (the connection) and
//! `manager_allocations_per_event=Y`, and exits with status 1 if either is
//! above zero.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use asterisk_io::ami::{events, Connection, Input, Manager};

/// Counts calls to `alloc`/`alloc_zeroed`/`realloc` (and bytes), in total
/// and on the current thread, and forwards everything to the system allocator.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    // A const-initialised `Cell` has no destructor and no lazy
    // initialisation, so touching it never allocates.
    static THREAD_ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn count(bytes: usize) {
    ALLOCS.fetch_add(1, Ordering::Relaxed);
    BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
    // `try_with` fails quietly during thread teardown instead of panicking.
    let _ = THREAD_ALLOCS.try_with(|c| c.set(c.get() + 1));
}

fn thread_allocs() -> u64 {
    THREAD_ALLOCS.with(Cell::get)
}

// SAFETY: every method forwards to `System` with the very pointer and layout
// it was given, so `System`'s guarantees (alignment, size, ownership of the
// returned block) are passed through unchanged. The only extra work is two
// relaxed atomic additions and a thread-local `Cell` update, none of which
// allocates or unwinds, so the allocator is never re-entered and no
// `GlobalAlloc` rule is broken.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Events captured from Asterisk 22.10.1 (594 of them, no greeting).
static EVENTS: &[u8] = include_bytes!("../tests/fixtures/ami/events.ami");

const CHUNK: usize = 64 * 1024;
const TARGET_EVENTS: usize = 10_000;

/// Feeds `input` in 64 KiB chunks, draining after each; returns
/// (events, other inputs, a checksum that keeps the reads from being optimised away).
fn pass(conn: &mut Connection, input: &[u8]) -> (usize, usize, usize) {
    let mut events = 0;
    let mut other = 0;
    let mut check = 0usize;
    for chunk in input.chunks(CHUNK) {
        conn.feed(chunk);
        while let Some(input) = conn.next_input() {
            match input {
                Input::Event(ev) => {
                    events += 1;
                    check = check.wrapping_add(ev.name().as_bytes().len());
                    if let Some(id) = ev.get("Uniqueid") {
                        check = check.wrapping_add(id.as_bytes().len());
                    }
                    check = check.wrapping_add(ev.kind() as usize);
                }
                _ => other += 1,
            }
        }
    }
    (events, other, check)
}

/// The manager on a loopback socket: a helper thread writes the greeting
/// and `input` twice, the second time only once the first has been handled.
/// Returns (events in the measured pass, allocations on this thread during it).
fn manager_pass(input: Vec<u8>, per_pass: usize) -> (usize, u64) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let writer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        s.write_all(b"Asterisk Call Manager/11.0.0\r\n")
            .expect("write");
        s.write_all(&input).expect("write");
        if go_rx.recv().is_ok() {
            s.write_all(&input).expect("write");
        }
        // Keep the socket open until the reader is done.
        let _ = go_rx.recv();
    });
    let mut mgr = Manager::connect(addr).expect("connect");
    let seen = Rc::new(Cell::new(0usize));
    let s = seen.clone();
    mgr.on_any_event(move |ev, _| {
        if !ev.name().is_empty() {
            s.set(s.get() + 1);
        }
    });
    // Typed handlers too: dispatch by kind, and reading typed fields and
    // snapshots through the views, allocate nothing either.
    let typed = Rc::new(Cell::new(0usize));
    let t = typed.clone();
    mgr.on(events::Newexten, move |e, _| {
        t.set(
            t.get()
                + e.priority().unwrap_or(0) as usize
                + e.application().map_or(0, |a| a.as_bytes().len()),
        )
    });
    let t = typed.clone();
    mgr.on(events::DeviceStateChange, move |e, _| {
        t.set(t.get() + usize::from(e.state() == Some(events::DeviceState::InUse)))
    });
    let t = typed.clone();
    mgr.on(events::Hangup, move |h, _| {
        t.set(
            t.get()
                + h.cause().map_or(0, |c| usize::from(c.code()))
                + h.uniqueid().map_or(0, |u| u.as_bytes().len()),
        )
    });
    let t = typed.clone();
    mgr.on(events::Newchannel, move |n, _| {
        t.set(t.get() + n.channel_state().map_or(0, |s| s.code() as usize))
    });
    let t = typed.clone();
    mgr.on(events::DialEnd, move |d, _| {
        t.set(
            t.get()
                + d.dest().channel().map_or(0, |c| c.as_bytes().len())
                + usize::from(d.dial_status() == Some(events::DialStatus::Answer)),
        )
    });
    let t = typed.clone();
    mgr.on(events::VarSet, move |v, _| {
        t.set(t.get() + v.variable().map_or(0, |x| x.as_bytes().len()) + v.chan_variables().count())
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let wait = |mgr: &mut Manager, until: usize| {
        while seen.get() < until {
            assert!(Instant::now() < deadline, "timed out");
            mgr.poll_events(Some(Duration::from_millis(50)))
                .expect("poll_events");
        }
    };
    // Warm-up pass.
    wait(&mut mgr, per_pass);
    go_tx.send(()).expect("signal");
    let before = thread_allocs();
    wait(&mut mgr, 2 * per_pass);
    let allocs = thread_allocs() - before;
    let events = seen.get() - per_pass;
    assert!(typed.get() > 0, "the typed handlers ran");
    drop(go_tx);
    writer.join().expect("writer");
    (events, allocs)
}

fn main() -> ExitCode {
    let per_copy = EVENTS
        .windows(7)
        .filter(|w| *w == b"Event: ")
        .count()
        .max(1);
    let copies = TARGET_EVENTS.div_ceil(per_copy);
    let input = EVENTS.repeat(copies);

    let mut conn = Connection::default();
    conn.feed(b"Asterisk Call Manager/11.0.0\r\n");
    assert!(conn.next_input().is_none(), "greeting only");
    assert!(conn.greeting().is_some());

    // Warm-up: buffers grow to their working size.
    let (warm, other, _) = pass(&mut conn, &input);
    assert_eq!(other, 0, "the recording is all events");

    // The counter works: the warm-up itself allocated (buffers, the index).
    assert!(ALLOCS.load(Ordering::Relaxed) > 0 && thread_allocs() > 0);

    let allocs_before = ALLOCS.load(Ordering::Relaxed);
    let bytes_before = BYTES.load(Ordering::Relaxed);
    let (events, other, check) = pass(&mut conn, &input);
    let allocs = ALLOCS.load(Ordering::Relaxed) - allocs_before;
    let bytes = BYTES.load(Ordering::Relaxed) - bytes_before;

    assert_eq!(other, 0);
    assert_eq!(events, warm);
    let per_event = allocs as f64 / events as f64;
    println!(
        "events={events} input_bytes={} chunk={CHUNK} allocations={allocs} allocated_bytes={bytes} checksum={check}",
        input.len()
    );
    println!("allocations_per_event={per_event}");

    let (mgr_events, mgr_allocs) = manager_pass(input, events);
    let mgr_per_event = mgr_allocs as f64 / mgr_events.max(1) as f64;
    println!("manager_events={mgr_events} manager_allocations={mgr_allocs}");
    println!("manager_allocations_per_event={mgr_per_event}");

    if allocs > 0 || mgr_allocs > 0 {
        eprintln!(
            "steady-state event handling allocated: connection {allocs}, manager {mgr_allocs}"
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
