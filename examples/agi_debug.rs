//! Debug an AGI program without a PBX: run it as a child process against a
//! scripted fake Asterisk and print the conversation.
//!
//! ```text
//! agi_debug [--script FILE] [--interactive] [--hangup-after N] -- PROGRAM [ARGS...]
//! ```
//!
//! The fake Asterisk sends an environment block, then answers each command
//! line the program writes:
//!
//! * `--script FILE`: the file starts with environment lines
//!   (`agi_channel: SIP/100-0001`, ...) that override the built-in ones,
//!   ended by an empty line; then reply rules `PREFIX => REPLY`, matched
//!   case-insensitively against the command in file order (first match
//!   wins; `*` matches anything). In `REPLY`, `\n` separates lines, so
//!   `HANGUP => 200 result=1\nHANGUP` also sends the unsolicited `HANGUP`
//!   line. Lines starting with `#` are comments; a bad line is an error
//!   naming its number. The format and the fake Asterisk are the library's
//!   `asterisk_io::emu::agi` (`AgiRules`, `FakeAgi`), which tests can drive
//!   against a FastAGI server in their own loop.
//! * `--interactive`: each command is shown and you type the reply (an
//!   empty line sends the rule's reply, or `200 result=0`).
//! * `--hangup-after N`: after the Nth reply, send `HANGUP` and answer
//!   every later command (except `GET VARIABLE` / `GET FULL VARIABLE`) with
//!   `511`, like a channel that hung up.
//!
//! Without a script a built-in environment and `200 result=0` for every
//! command are used. The program's stderr passes through; the conversation
//! goes to stdout as `AST>` (to the program) and `AGI>` (from it) lines.
//!
//! Example: `cargo run --example agi_debug -- target/debug/examples/agi_script`
#[path = "../src/bin/agi-debug/fake.rs"]
mod fake;

fn usage() -> ! {
    eprintln!(
        "usage: agi_debug [--script FILE] [--interactive] [--hangup-after N] -- PROGRAM [ARGS...]"
    );
    std::process::exit(2);
}

fn main() {
    let mut script = None;
    let mut interactive = false;
    let mut hangup_after: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    let mut program = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--script" => script = Some(args.next().unwrap_or_else(|| usage())),
            "--interactive" => interactive = true,
            "--hangup-after" => {
                hangup_after = Some(
                    args.next()
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| usage()),
                )
            }
            "--" => {
                program.extend(args.by_ref());
            }
            _ if program.is_empty() && !a.starts_with("--") => {
                program.push(a);
                program.extend(args.by_ref());
            }
            _ => usage(),
        }
    }
    if program.is_empty() {
        usage();
    }
    let code = fake::converse(
        &program,
        script.as_deref(),
        interactive,
        hangup_after,
        "agi_debug",
        1,
    );
    std::process::exit(code);
}
