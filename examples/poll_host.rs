//! A manager driven by a plain `poll(2)` loop instead of mio: what a host
//! built on glib, calloop or its own `poll` does. The manager gives its
//! descriptor (`AsFd`) and its next deadline (`poll_timeout`); the host
//! waits on both and calls `poll_events` with a zero timeout.
//!
//! ```text
//! cargo run --example poll_host                 # against the built-in emulator
//! cargo run --example poll_host -- HOST:PORT USER SECRET
//! ```
//!
//! With no arguments an emulator runs on a thread of this example (the
//! library itself never starts one) and broadcasts a few events.

use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use asterisk_io::ami::actions::{Login, Ping};
use asterisk_io::ami::{Manager, ResultStatus};
use asterisk_io::emu::{Emulator, EmulatorConfig};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// An emulator on its own thread, broadcasting `Tick` events for a while.
fn emulator() -> std::net::SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let config = EmulatorConfig::default().user("admin", "s3cret");
        let mut emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
        tx.send(emu.local_addr().unwrap()).unwrap();
        let until = Instant::now() + Duration::from_secs(3);
        let mut n = 0;
        while Instant::now() < until {
            emu.poll(Some(Duration::from_millis(100))).unwrap();
            if emu.session_count() > 0 {
                n += 1;
                emu.emit_event("Tick", &[("Seq", &n.to_string())]);
            }
        }
    });
    rx.recv().unwrap()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (addr, user, secret) = match args.as_slice() {
        [addr, user, secret] => (addr.parse()?, user.clone(), secret.clone()),
        [] => (emulator(), "admin".to_owned(), "s3cret".to_owned()),
        _ => return Err("usage: poll_host [HOST:PORT USER SECRET]".into()),
    };
    let mut mgr = Manager::connect(addr)?;
    mgr.on_any_event(|ev, _| println!("event {}", ev.name()));
    let login = mgr.start_login(&Login::new(user, secret))?;
    let mut ping = None;
    let stop = Instant::now() + Duration::from_secs(2);
    while Instant::now() < stop {
        // Wait for the socket (readable; writable only while output waits:
        // poll(2) is level-triggered) or the manager's next deadline.
        let mut flags = PollFlags::POLLIN;
        if mgr.connection().wants_write() {
            flags |= PollFlags::POLLOUT;
        }
        let wait = mgr
            .poll_timeout()
            .map_or(Duration::from_millis(500), |at| {
                at.saturating_duration_since(Instant::now())
            })
            .min(stop.saturating_duration_since(Instant::now()));
        let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(mgr.as_fd(), flags)];
        poll(&mut fds, timeout)?;
        // Readiness or a deadline: either way, let the manager work.
        mgr.poll_events(Some(Duration::ZERO))?;
        while mgr.has_buffered_input() {
            mgr.poll_events(Some(Duration::ZERO))?;
        }
        if let ResultStatus::Ready(r) = mgr.take_result(login) {
            r?;
            println!("logged in");
            ping = Some(mgr.send(&Ping)?);
        }
        if let Some(id) = ping {
            if let ResultStatus::Ready(r) = mgr.take_result(id) {
                println!("ping: {:?}", r?.response.get_str("Ping"));
                ping = None;
            }
        }
    }
    mgr.close();
    Ok(())
}
