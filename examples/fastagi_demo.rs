//! FastAGI demo server.
//!
//! ```text
//! cargo run --example fastagi_demo -- --listen 127.0.0.1:4573 [--trace]
//! ```
//!
//! Every call (any script path) runs: ANSWER, GET VARIABLE CALLERID(num),
//! SET VARIABLE AGI_DEMO "ok", STREAM FILE beep "", SAY NUMBER 42 "", HANGUP,
//! and the socket is closed. Each command and its typed result is logged to
//! stdout, one line each. The path `ivr` runs a tiny IVR instead (press 1 to
//! hear the caller's number, anything else to hear a beep).
//!
//! Dialplan: `same => n,AGI(agi://127.0.0.1:4573/demo)`.
use asterisk_io::agi::commands::{
    Answer, GetData, GetVariable, Hangup, SayDigits, SayNumber, SetVariable, StreamFile,
};
use asterisk_io::agi::{AgiError, Command, Env, Script, Server, WireTrace};
use std::fmt::Debug;
use std::net::SocketAddr;

/// Per-call state: a label for the log lines.
struct Call {
    tag: String,
}

/// Queue `cmd` and log its typed result when it arrives.
fn logged<C>(s: &mut Script<Call>, cmd: C)
where
    C: Command + 'static,
    C::Output: Debug,
{
    let line = cmd.to_line().unwrap_or_else(|e| format!("<{e}>"));
    s.then(cmd, move |s, r: Result<C::Output, AgiError>| {
        println!("{} {line} -> {r:?}", s.state.tag);
        if let Err(e) = r {
            if e.is_hangup() {
                s.finish();
            }
        }
    });
}

fn demo(env: &Env) -> Script<Call> {
    let tag = format!("[{}]", env.unique_id().unwrap_or("?"),);
    println!(
        "{tag} start: channel={:?} script={:?} args={:?}",
        env.channel(),
        env.network_script(),
        env.args()
    );
    let mut s = Script::new(Call { tag });
    logged(&mut s, Answer);
    logged(&mut s, GetVariable::new("CALLERID(num)"));
    logged(&mut s, SetVariable::new("AGI_DEMO", "ok"));
    logged(&mut s, StreamFile::new("beep", ""));
    logged(&mut s, SayNumber::new(42, ""));
    logged(&mut s, Hangup::new());
    s.on_end(|c, err| println!("{} end: {:?}", c.tag, err.map(|e| e.to_string())));
    s
}

/// A tiny IVR: the callback decides what comes next.
fn ivr(env: &Env) -> Script<Call> {
    let mut s = Script::new(Call {
        tag: format!("[{} ivr]", env.unique_id().unwrap_or("?")),
    });
    logged(&mut s, Answer);
    s.then(
        GetData::new("beep").timeout_ms(5000).max_digits(1),
        |s, r| {
            println!("{} GET DATA -> {r:?}", s.state.tag);
            match r {
                Ok(input) if input.digits == "1" => {
                    s.then(GetVariable::new("CALLERID(num)"), |s, r| {
                        let num = r.ok().flatten().unwrap_or_default();
                        logged(s, SayDigits::new(num, ""));
                    });
                }
                Ok(_) => logged(s, StreamFile::new("beep", "")),
                Err(_) => s.finish(),
            }
        },
    );
    logged(&mut s, Hangup::new());
    s
}

fn main() {
    let mut listen: Option<SocketAddr> = None;
    let mut trace = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen = args.next().and_then(|v| v.parse().ok()),
            "--trace" => trace = true,
            _ => {
                eprintln!("usage: fastagi_demo --listen IP:PORT [--trace]");
                std::process::exit(2);
            }
        }
    }
    let Some(addr) = listen else {
        eprintln!("usage: fastagi_demo --listen IP:PORT [--trace]");
        std::process::exit(2);
    };
    let mut server = Server::bind(addr).unwrap_or_else(|e| {
        eprintln!("fastagi_demo: cannot listen on {addr}: {e}");
        std::process::exit(1);
    });
    if trace {
        server.set_trace(Some(WireTrace::stderr()));
    }
    server.route("ivr", ivr).fallback(demo);
    println!(
        "fastagi_demo listening on {}",
        server.local_addr().expect("bound")
    );
    if let Err(e) = server.run() {
        eprintln!("fastagi_demo: {e}");
        std::process::exit(1);
    }
}
