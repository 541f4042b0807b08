//! FastAGI benchmark server (for `agi-load`).
//!
//! ```text
//! cargo run --release --example fastagi_bench -- --listen 127.0.0.1:4573
//! ```
//!
//! Every session runs ANSWER, GET VARIABLE CALLERID(num), SET VARIABLE
//! BENCH "1", STREAM FILE beep "", HANGUP, then the socket is closed. This
//! is the high-concurrency shape: no per-call state, no callbacks, every
//! command fire-and-forget (an error ends the session early). Stops after
//! `--sessions N` sessions if given, printing counters to stderr. With
//! `--async` the same session runs as an `async fn` (`Server::route_async`)
//! instead of a `Script`; `--max-connections N` raises the limit of
//! simultaneous calls (4096 by default); `--help` lists the flags.
use asterisk_io::agi::call::Call;
use asterisk_io::agi::commands::{Answer, GetVariable, Hangup, SetVariable, StreamFile};
use asterisk_io::agi::{AgiError, Env, Script, Server};
use std::net::SocketAddr;

const USAGE: &str =
    "usage: fastagi_bench --listen IP:PORT [--sessions N] [--async] [--max-connections N]

  --listen IP:PORT       where to listen (required)
  --sessions N           stop after N sessions and print the counters
  --async                run the session as an async fn (Server::route_async)
                         instead of a Script
  --max-connections N    simultaneous calls served (default 4096, the
                         server's DEFAULT_MAX_CONNECTIONS); raise it for
                         more concurrent sessions (mind `ulimit -n`)
  --help                 this text";

async fn bench_async(call: Call) -> Result<(), AgiError> {
    call.run(Answer).await?;
    call.run(GetVariable::new("CALLERID(num)")).await?;
    call.run(SetVariable::new("BENCH", "1")).await?;
    call.run(StreamFile::new("beep", "")).await?;
    call.run(Hangup::new()).await?;
    Ok(())
}

fn bench(_env: &Env) -> Script<()> {
    let mut s = Script::new(());
    s.run(Answer)
        .run(GetVariable::new("CALLERID(num)"))
        .run(SetVariable::new("BENCH", "1"))
        .run(StreamFile::new("beep", ""))
        .run(Hangup::new());
    s
}

fn main() {
    let mut listen: Option<SocketAddr> = None;
    let mut sessions: Option<u64> = None;
    let mut use_async = false;
    let mut max_connections: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen = args.next().and_then(|v| v.parse().ok()),
            "--sessions" => sessions = args.next().and_then(|v| v.parse().ok()),
            "--async" => use_async = true,
            "--max-connections" => match args.next().and_then(|v| v.parse().ok()) {
                Some(n) => max_connections = Some(n),
                None => {
                    eprintln!("{USAGE}");
                    std::process::exit(2);
                }
            },
            "--help" | "-h" => {
                println!("{USAGE}");
                return;
            }
            _ => {
                eprintln!("{USAGE}");
                std::process::exit(2);
            }
        }
    }
    let Some(addr) = listen else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let mut server = Server::bind(addr).unwrap_or_else(|e| {
        eprintln!("fastagi_bench: cannot listen on {addr}: {e}");
        std::process::exit(1);
    });
    if let Some(n) = max_connections {
        if let Err(e) = server.set_max_connections(n) {
            eprintln!("fastagi_bench: --max-connections {n}: {e}");
            std::process::exit(2);
        }
    }
    if use_async {
        server.fallback_async(bench_async);
    } else {
        server.fallback(bench);
    }
    eprintln!(
        "fastagi_bench listening on {}",
        server.local_addr().expect("bound")
    );
    let res = server.run_until(|s| sessions.is_some_and(|n| s.stats().closed >= n));
    eprintln!("fastagi_bench: {:?}", server.stats());
    if let Err(e) = res {
        eprintln!("fastagi_bench: {e}");
        std::process::exit(1);
    }
}
