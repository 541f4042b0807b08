//! `agi-debug`: run an AGI program against a scripted fake Asterisk and
//! print the conversation (`cargo install asterisk-io --features cli`).
//!
//! Exit status: 0 once the program has ended; 2 for bad usage, a script
//! that cannot be read or a program that cannot be started.

mod fake;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

const LONG_ABOUT: &str = "\
Debug an AGI program without a PBX: run it as a child process against a
scripted fake Asterisk and print the conversation on stdout, as `AST>` lines
(to the program) and `AGI>` lines (from it). The program's stderr passes through.

The fake Asterisk sends an environment block, then answers each command line.
A --script FILE starts with environment lines (`agi_channel: SIP/100-0001`, ...)
that override the built-in ones, ended by an empty line, then reply rules
`PREFIX => REPLY`, matched case-insensitively against each command in file
order (first match wins; `*` matches anything). In REPLY, `\\n` separates
lines, so `HANGUP => 200 result=1\\nHANGUP` also sends the unsolicited HANGUP
line. Lines starting with `#` are comments; a bad line is an error naming its
number. Without a script: a built-in environment
and `200 result=0` for every command.";

/// Debug an AGI program against a scripted fake Asterisk.
#[derive(Parser, Debug)]
#[command(
    name = "agi-debug",
    version,
    long_about = LONG_ABOUT,
    args_conflicts_with_subcommands = true,
    after_help = "Exit status: 0 once the program has ended; 2 for bad usage, an unreadable script or a program that cannot be started."
)]
struct Cli {
    /// Environment and reply rules (see --help for the format).
    #[arg(long, value_name = "FILE")]
    script: Option<String>,
    /// Show each command and read the reply from the terminal (empty: the rule's reply).
    #[arg(long)]
    interactive: bool,
    /// After the Nth reply send HANGUP, then answer like a hung-up channel (511).
    #[arg(long, value_name = "N")]
    hangup_after: Option<usize>,
    /// The AGI program and its arguments (after `--` when they start with `-`).
    #[arg(
        value_name = "PROGRAM",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    program: Vec<String>,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Subcommand, Debug)]
enum Sub {
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Sub::Completions { shell }) = cli.command {
        let out = &mut std::io::stdout();
        clap_complete::generate(shell, &mut Cli::command(), "agi-debug", out);
        return ExitCode::SUCCESS;
    }
    if cli.program.is_empty() {
        Cli::command()
            .error(
                clap::error::ErrorKind::MissingRequiredArgument,
                "no PROGRAM given",
            )
            .exit();
    }
    let code = fake::converse(
        &cli.program,
        cli.script.as_deref(),
        cli.interactive,
        cli.hangup_after,
        "agi-debug",
        2,
    );
    ExitCode::from(code as u8)
}
