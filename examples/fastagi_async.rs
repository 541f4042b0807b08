//! A FastAGI IVR written as plain `async` code, on one thread, with no
//! async runtime: the host loop below is a mio `Poll` with the server in it.
//!
//! ```text
//! cargo run --example fastagi_async -- --listen 127.0.0.1:4573
//! ```
//!
//! In the dialplan: `same => n,AGI(agi://127.0.0.1/ivr)`. The call hears
//! `menu` and presses a digit: `1` looks the caller up (a "database" the
//! host answers 300 ms later from its own loop, through a one-shot value,
//! while other calls go on) and greets them; any other digit plays
//! `invalid` and the menu again; after three tries the call goes to the
//! operator. Between tries it waits a second (a timer the server keeps).
//! `agi://127.0.0.1/hello` runs a `Script` on the same server.
use asterisk_io::agi::call::{oneshot, Call, Sender};
use asterisk_io::agi::commands::{Answer, Exec, GetData, GetVariable, Hangup, StreamFile, Verbose};
use asterisk_io::agi::{AgiError, Env, Script, Server};
use mio::{Events, Interest, Poll, Token};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Lookups waiting for the host: when they are due, and who waits.
type Lookups = Rc<RefCell<VecDeque<(Instant, String, Sender<String>)>>>;

/// How long the pretend database takes.
const LOOKUP_TIME: Duration = Duration::from_millis(300);

async fn ivr(call: Call, lookups: Lookups) -> Result<(), AgiError> {
    let result = menu(&call, &lookups).await;
    // Runs however the call ended: hang-up, an error, or normally.
    let channel = call.env().channel().unwrap_or("?").to_string();
    match &result {
        Ok(()) => println!("{channel}: done"),
        Err(e) => println!("{channel}: ended early: {e}"),
    }
    result
}

async fn menu(call: &Call, lookups: &Lookups) -> Result<(), AgiError> {
    call.run(Answer).await?;
    for attempt in 1..=3 {
        let input = call
            .run(GetData::new("menu").timeout_ms(5_000).max_digits(1))
            .await?;
        if input.digits == "1" {
            let number = call
                .run(GetVariable::new("CALLERID(num)"))
                .await?
                .unwrap_or_default();
            // Ask the host; the call waits, the others do not.
            let (tx, rx) = oneshot();
            let due = call.now().unwrap_or_else(Instant::now) + LOOKUP_TIME;
            lookups.borrow_mut().push_back((due, number, tx));
            let name = rx.await.unwrap_or_else(|_| "friend".to_string());
            call.run(Verbose::new(format!("caller is {name}"), 1))
                .await?;
            call.run(StreamFile::new("hello-world", "")).await?;
            call.run(Hangup::new()).await?;
            return Ok(());
        }
        call.run(StreamFile::new("invalid", "")).await?;
        if attempt < 3 {
            call.sleep(Duration::from_secs(1)).await?;
        }
    }
    call.run(Exec::new("Transfer", "PJSIP/operator")).await?;
    Ok(())
}

fn hello(_env: &Env) -> Script<()> {
    let mut s = Script::new(());
    s.run(Answer)
        .run(StreamFile::new("hello-world", ""))
        .run(Hangup::new());
    s
}

fn usage() -> ! {
    eprintln!("usage: fastagi_async --listen IP:PORT");
    std::process::exit(2);
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = match (args.next().as_deref(), args.next()) {
        (Some("--listen"), Some(a)) => a.parse().unwrap_or_else(|_| usage()),
        (None, _) => "127.0.0.1:4573".parse().expect("valid address"),
        _ => usage(),
    };
    let lookups: Lookups = Rc::default();
    let mut server = Server::bind(addr)?;
    let l = lookups.clone();
    server.route_async("ivr", move |call| ivr(call, l.clone()));
    server.route("hello", hello);
    println!("FastAGI on {}", server.local_addr()?);

    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut server, Token(0), Interest::READABLE)?;
    let mut events = Events::with_capacity(1024);
    loop {
        // Sleep until the next socket event, the server's next deadline
        // (its sessions' timers among them), or the next lookup due.
        let now = Instant::now();
        let next_lookup = lookups.borrow().front().map(|(t, _, _)| *t);
        let wake_at = match (server.poll_timeout(), next_lookup) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let wait = wake_at.map(|t| t.saturating_duration_since(now));
        match poll.poll(&mut events, wait) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for ev in events.iter() {
            server.handle_event(poll.registry(), ev);
        }
        // The host's own work: answer the lookups that are due. Sending
        // wakes the waiting call; `handle_timeout` below runs it.
        let now = Instant::now();
        loop {
            let due = lookups.borrow().front().is_some_and(|(t, _, _)| *t <= now);
            if !due {
                break;
            }
            let Some((_, number, tx)) = lookups.borrow_mut().pop_front() else {
                break;
            };
            let name = if number.is_empty() {
                "stranger".to_string()
            } else {
                format!("caller-{number}")
            };
            let _ = tx.send(name);
        }
        server.handle_timeout(poll.registry(), now);
    }
}
