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
use std::io::{self, BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use asterisk_io::emu::agi::{AgiCallConfig, AgiRules, FakeAgi};

/// Prints `bytes` as `AST>` lines and sends them to the program.
fn send(w: &mut dyn Write, out: &mut dyn Write, bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    for l in text.trim_end_matches('\n').split('\n') {
        let _ = writeln!(out, "AST> {l}");
    }
    w.write_all(bytes).and_then(|_| w.flush()).is_ok()
}

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
    let mut config = AgiCallConfig::new();
    if let Some(path) = &script {
        let rules = AgiRules::load(path).unwrap_or_else(|e| {
            eprintln!("agi_debug: cannot read script {path}: {e}");
            std::process::exit(1);
        });
        config = config.rules(rules);
    }
    if let Some(n) = hangup_after {
        config = config.hangup_after(n);
    }
    let mut agi = FakeAgi::new(config);
    let mut child = Command::new(&program[0])
        .args(&program[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            eprintln!("agi_debug: cannot start {}: {e}", program[0]);
            std::process::exit(1);
        });
    let mut to_child = child.stdin.take().expect("piped");
    let from_child = BufReader::new(child.stdout.take().expect("piped"));
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "--- environment ---");
    send(&mut to_child, &mut out, agi.output());
    agi.consume_output(usize::MAX);
    let _ = writeln!(out, "--- commands ---");
    let mut terminal = io::stdin().lock();
    let mut n = 0usize;
    'lines: for line in from_child.split(b'\n') {
        let Ok(mut line) = line else { break };
        line.push(b'\n');
        agi.push_input(&line);
        while let Some(cmd) = agi.next_command() {
            let _ = writeln!(out, "AGI> {cmd}");
            n += 1;
            let mut reply = agi.reply_for(&cmd);
            if interactive {
                let shown = String::from_utf8_lossy(&reply);
                let shown = shown.trim_end_matches('\n').replace('\n', "\\n");
                let _ = write!(out, "reply [{shown}]: ");
                let _ = out.flush();
                let mut typed = String::new();
                if terminal.read_line(&mut typed).unwrap_or(0) > 0 && !typed.trim().is_empty() {
                    reply = format!("{}\n", typed.trim().replace("\\n", "\n")).into_bytes();
                }
            }
            agi.answer(&cmd, &reply);
            let ok = send(&mut to_child, &mut out, agi.output());
            agi.consume_output(usize::MAX);
            if !ok {
                let _ = writeln!(out, "--- program closed its stdin ---");
                break 'lines;
            }
        }
    }
    drop(to_child);
    match child.wait() {
        Ok(st) => {
            let _ = writeln!(out, "--- program exited: {st} after {n} commands ---");
        }
        Err(e) => {
            let _ = writeln!(out, "--- wait failed: {e} ---");
        }
    }
}
