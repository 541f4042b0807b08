//! `astemu`: a fake Asterisk 22 manager interface to test any AMI client
//! against, the recording proxy, and replay of recorded sessions (the
//! `cli` feature). Prints `listening ADDR` on stdout once ready.

mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use asterisk_io::emu::replay::Timing;
use asterisk_io::emu::Fault;
use clap::{CommandFactory, Parser, Subcommand};

const LONG_ABOUT: &str = "\
A fake Asterisk 22 manager interface (AMI) that clients in any language can be
tested against: logins with permission classes, the Events mask, an in-memory
PBX (AstDB, variables, originated channels with their events, AsyncAGI),
scripted replies and deterministic faults. Without --user there is one user,
admin/secret, with every permission. Once listening it prints
`listening ADDR` on stdout (port 0 picks a free port).

`astemu record` sits between any client and a real PBX and writes every
connection to a transcript; `astemu --replay FILE` serves it back. See
docs/emulator.md for the script, fault and transcript formats.";

/// A fake Asterisk to test AMI clients against.
#[derive(Parser, Debug)]
#[command(
    name = "astemu",
    version,
    long_about = LONG_ABOUT,
    args_conflicts_with_subcommands = true,
    after_help = "Exit status: 1 when it cannot listen or read its files; 2 for bad usage."
)]
struct Cli {
    #[command(flatten)]
    serve: ServeArgs,
    /// Serve this transcript (recorded by `astemu record`) instead of the emulator.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Replay timing: keep (as recorded), drop (at once) or a factor (0.5, x2).
    #[arg(long, value_name = "TIMING", default_value = "keep", value_parser = parse_timing)]
    timing: Timing,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Address to listen on (127.0.0.1:0 picks a free port).
    #[arg(long, value_name = "ADDR", value_parser = serve::address)]
    listen: Option<std::net::SocketAddr>,
    /// A user: NAME:SECRET, or NAME:SECRET:READ:WRITE with permission classes (repeatable).
    #[arg(long, value_name = "USER")]
    user: Vec<serve::User>,
    /// A script: users, replies, lists, CLI output, timed events, faults.
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    /// A fault to inject (repeatable), e.g. `split=1`, `disconnect=mid-list@login`.
    #[arg(long, value_name = "SPEC", value_parser = parse_fault)]
    fault: Vec<Fault>,
    /// Delay before a refused login is answered (Asterisk waits 1 s).
    #[arg(long, value_name = "SECS", value_parser = serve::secs)]
    auth_delay: Option<std::time::Duration>,
    /// How long an originated call's application runs by default.
    #[arg(long, value_name = "SECS", value_parser = serve::secs)]
    app_duration: Option<std::time::Duration>,
}

#[derive(Subcommand, Debug)]
enum Sub {
    /// Record: proxy every client to a real PBX and write one transcript.
    Record {
        /// The PBX's AMI address.
        #[arg(long, value_name = "HOST:PORT", value_parser = serve::address)]
        upstream: std::net::SocketAddr,
        /// Address to listen on for clients.
        #[arg(long, value_name = "ADDR", value_parser = serve::address)]
        listen: std::net::SocketAddr,
        /// The transcript file (replaced if it exists).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

fn parse_timing(v: &str) -> Result<Timing, String> {
    v.parse()
}

fn parse_fault(v: &str) -> Result<Fault, String> {
    Fault::parse(v).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let done = match cli.command {
        Some(Sub::Completions { shell }) => {
            let out = &mut std::io::stdout();
            clap_complete::generate(shell, &mut Cli::command(), "astemu", out);
            return ExitCode::SUCCESS;
        }
        Some(Sub::Record {
            upstream,
            listen,
            out,
        }) => serve::record(Some(listen), upstream, &out),
        None => {
            let a = cli.serve;
            if a.listen.is_none() {
                Cli::command()
                    .error(
                        clap::error::ErrorKind::MissingRequiredArgument,
                        "--listen ADDR is required",
                    )
                    .exit();
            }
            match cli.replay {
                Some(file) => serve::replay(a.listen, &file, cli.timing),
                None => serve::serve(serve::Serve {
                    listen: a.listen,
                    users: a.user,
                    script: a.script,
                    faults: a.fault,
                    auth_delay: a.auth_delay,
                    app_duration: a.app_duration,
                }),
            }
        }
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("astemu: {e}");
            ExitCode::from(1)
        }
    }
}
