//! Measures event ingest: logs in, counts every event through one catch-all
//! handler driven by `poll_events`, and after N events prints
//! `events=N seconds=S rate=R/s` (time from the login response to the Nth event).
//!
//! With `--typed`, the twenty most frequent events of the corpus are counted
//! by typed handlers (`Manager::on(Newexten, ...)` ...) that stop the event
//! there, and only the rest by the catch-all: dispatch by kind, compared
//! with the plain catch-all in the same run. `--recv-buffer BYTES` caps the
//! socket's receive buffer (`ManagerConfig::socket_recv_buffer`); by default
//! the system sizes it.
//!
//! ```text
//! python3 ../shared/bench/flood_server.py --count 1000000 --once   # prints: listening PORT ...
//! cargo run --release --example event_rate -- --addr 127.0.0.1:PORT --user u --secret s --count 1000000 [--typed]
//! ```

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use asterisk_io::ami::actions::Login;
#[path = "shared/top20.rs"]
mod top20;

use asterisk_io::ami::{Manager, ManagerConfig, ResultStatus};

fn main() {
    let mut addr = "127.0.0.1:5038".to_owned();
    let (mut user, mut secret) = ("admin".to_owned(), "secret".to_owned());
    let mut count: u64 = 1_000_000;
    let mut typed = false;
    let mut recv_buffer = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{a} needs a value")))
        };
        match a.as_str() {
            "--addr" => addr = val(),
            "--user" => user = val(),
            "--secret" => secret = val(),
            "--typed" => typed = true,
            "--recv-buffer" => {
                let bytes: usize = val()
                    .parse()
                    .unwrap_or_else(|_| usage("--recv-buffer takes a number of bytes"));
                recv_buffer = (bytes > 0).then_some(bytes);
            }
            "--count" => {
                count = val()
                    .parse()
                    .unwrap_or_else(|_| usage("--count takes a number"))
            }
            _ => usage(&format!("unknown argument {a}")),
        }
    }
    let config = ManagerConfig::default().socket_recv_buffer(recv_buffer);
    let mut mgr = Manager::connect_with(addr.as_str(), config).unwrap_or_else(|e| fail(&e));
    let seen = Rc::new(Cell::new(0u64));
    let started = Rc::new(Cell::new(None::<Instant>));
    let finished = Rc::new(Cell::new(None::<Instant>));
    let (counter, start, done) = (seen.clone(), started.clone(), finished.clone());
    let tick: Rc<dyn Fn()> = Rc::new(move || {
        let n = counter.get() + 1;
        counter.set(n);
        if n == 1 {
            // FullyBooted: written by Asterisk in the same chunk as the login
            // response, and handled right after it.
            start.set(Some(Instant::now()));
        }
        if n == count {
            done.set(Some(Instant::now()));
        }
    });
    if typed {
        top20::count_top20(&mut mgr, &tick);
    }
    mgr.on_any_event(move |_ev, _ctx| tick());
    let id = mgr
        .start_login(&Login::new(user, secret))
        .unwrap_or_else(|e| fail(&e));
    while finished.get().is_none() {
        if let Err(e) = mgr.poll_events(Some(Duration::from_secs(10))) {
            eprintln!("after {} events: {e}", seen.get());
            std::process::exit(2);
        }
        if let ResultStatus::Ready(Err(e)) = mgr.take_result(id) {
            fail(&e);
        }
    }
    let start = started.get().expect("first event seen");
    let secs = finished
        .get()
        .expect("loop ended")
        .duration_since(start)
        .as_secs_f64();
    println!(
        "events={count} seconds={secs:.3} rate={:.0}/s dispatch={}",
        count as f64 / secs,
        if typed { "typed" } else { "catch-all" }
    );
}

fn usage(msg: &str) -> ! {
    eprintln!("{msg}\nusage: event_rate --addr HOST:PORT --user U --secret S --count N [--typed] [--recv-buffer BYTES]");
    std::process::exit(2)
}

fn fail(e: &dyn std::fmt::Display) -> ! {
    eprintln!("{e}");
    std::process::exit(2)
}
