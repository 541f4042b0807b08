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
//!   (`agi_channel: SIP/100-0001`, ...) ended by an empty line; then reply
//!   rules `PREFIX => REPLY`, matched case-insensitively against the command
//!   in file order (first match wins; `*` matches anything). In `REPLY`,
//!   `\n` separates lines, so `HANGUP => 200 result=1\nHANGUP` also sends
//!   the unsolicited `HANGUP` line. Lines starting with `#` are comments.
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

const DEFAULT_ENV: &str = "agi_request: agi_debug\nagi_channel: Local/debug@lab-00000001;2\n\
agi_language: en\nagi_type: Local\nagi_uniqueid: 1700000000.1\nagi_version: 22.10.1\n\
agi_callerid: 4105551234\nagi_calleridname: Debug\nagi_callingpres: 0\nagi_callingani2: 0\n\
agi_callington: 0\nagi_callingtns: 0\nagi_dnid: unknown\nagi_rdnis: unknown\nagi_context: lab\n\
agi_extension: debug\nagi_priority: 1\nagi_enhanced: 0.0\nagi_accountcode: \n\
agi_threadid: 1\n";

struct Rules {
    env: String,
    rules: Vec<(String, String)>,
}

fn load(path: Option<&str>) -> io::Result<Rules> {
    let Some(path) = path else {
        return Ok(Rules {
            env: DEFAULT_ENV.to_string(),
            rules: Vec::new(),
        });
    };
    let text = std::fs::read_to_string(path)?;
    let mut env = String::new();
    let mut rules = Vec::new();
    let mut in_env = true;
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        if in_env {
            if line.trim().is_empty() {
                in_env = false;
            } else {
                env.push_str(line);
                env.push('\n');
            }
            continue;
        }
        if let Some((pat, reply)) = line.split_once("=>") {
            rules.push((
                pat.trim().to_ascii_uppercase(),
                reply.trim().replace("\\n", "\n"),
            ));
        }
    }
    if env.is_empty() {
        env = DEFAULT_ENV.to_string();
    }
    Ok(Rules { env, rules })
}

fn rule_reply(rules: &Rules, cmd: &str) -> String {
    let up = cmd.to_ascii_uppercase();
    rules
        .rules
        .iter()
        .find(|(p, _)| p == "*" || up.starts_with(p.as_str()))
        .map(|(_, r)| r.clone())
        .unwrap_or_else(|| "200 result=0".to_string())
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
    let rules = load(script.as_deref()).unwrap_or_else(|e| {
        eprintln!("agi_debug: cannot read script: {e}");
        std::process::exit(1);
    });
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
    let send = |w: &mut dyn Write, out: &mut dyn Write, text: &str| -> bool {
        for l in text.trim_end_matches('\n').split('\n') {
            let _ = writeln!(out, "AST> {l}");
        }
        w.write_all(text.as_bytes()).and_then(|_| w.flush()).is_ok()
    };
    let env = format!("{}\n", rules.env);
    let _ = writeln!(out, "--- environment ---");
    send(&mut to_child, &mut out, &env);
    let _ = writeln!(out, "--- commands ---");
    let mut terminal = io::stdin().lock();
    let mut n = 0usize;
    let mut dead = false;
    for line in from_child.split(b'\n') {
        let Ok(line) = line else { break };
        let cmd = String::from_utf8_lossy(&line)
            .trim_end_matches('\r')
            .to_string();
        let _ = writeln!(out, "AGI> {cmd}");
        n += 1;
        let up = cmd.to_ascii_uppercase();
        let mut reply =
            if dead && !up.starts_with("GET VARIABLE") && !up.starts_with("GET FULL VARIABLE") {
                "511 Command Not Permitted on a dead channel or intercept routine".to_string()
            } else {
                rule_reply(&rules, &cmd)
            };
        if interactive {
            let _ = write!(out, "reply [{}]: ", reply.replace('\n', "\\n"));
            let _ = out.flush();
            let mut typed = String::new();
            if terminal.read_line(&mut typed).unwrap_or(0) > 0 && !typed.trim().is_empty() {
                reply = typed.trim().replace("\\n", "\n");
            }
        }
        reply.push('\n');
        if hangup_after == Some(n) {
            reply.push_str("HANGUP\n");
            dead = true;
        }
        if !send(&mut to_child, &mut out, &reply) {
            let _ = writeln!(out, "--- program closed its stdin ---");
            break;
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
