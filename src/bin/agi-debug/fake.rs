//! The conversation loop of `agi-debug`: a child process against the
//! library's fake Asterisk (`asterisk_io::emu::agi`). Shared by the
//! `agi-debug` binary (feature `cli`) and `examples/agi_debug.rs`, which
//! includes this file. See the example's documentation for the script format.

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

/// Runs `program` against the fake Asterisk, printing the conversation on
/// stdout. A script that cannot be read or a program that cannot be started
/// is reported on stderr as `TOOL: ...` and returns `fail_code`; otherwise 0.
pub fn converse(
    program: &[String],
    script: Option<&str>,
    interactive: bool,
    hangup_after: Option<usize>,
    tool: &str,
    fail_code: i32,
) -> i32 {
    let mut config = AgiCallConfig::new();
    if let Some(path) = script {
        match AgiRules::load(path) {
            Ok(rules) => config = config.rules(rules),
            Err(e) => {
                eprintln!("{tool}: cannot read script {path}: {e}");
                return fail_code;
            }
        }
    }
    if let Some(n) = hangup_after {
        config = config.hangup_after(n);
    }
    let mut agi = FakeAgi::new(config);
    let child = Command::new(&program[0])
        .args(&program[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{tool}: cannot start {}: {e}", program[0]);
            return fail_code;
        }
    };
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
    0
}
