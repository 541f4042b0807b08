//! The fake Asterisk of `agi-debug`: shared by the `agi-debug` binary
//! (feature `cli`) and `examples/agi_debug.rs`, which includes this file.
//! See the example's documentation for the script format.

use std::io::{self, BufRead, BufReader, Write};
use std::process::{Command, Stdio};

const DEFAULT_ENV: &str = "agi_request: agi_debug\nagi_channel: Local/debug@lab-00000001;2\n\
agi_language: en\nagi_type: Local\nagi_uniqueid: 1700000000.1\nagi_version: 22.10.1\n\
agi_callerid: 4105551234\nagi_calleridname: Debug\nagi_callingpres: 0\nagi_callingani2: 0\n\
agi_callington: 0\nagi_callingtns: 0\nagi_dnid: unknown\nagi_rdnis: unknown\nagi_context: lab\n\
agi_extension: debug\nagi_priority: 1\nagi_enhanced: 0.0\nagi_accountcode: \n\
agi_threadid: 1\n";

/// The environment block and the reply rules of a script.
struct Rules {
    env: String,
    rules: Vec<(String, String)>,
}

/// Reads a script (or the built-in environment and no rules).
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
    let rules = match load(script) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{tool}: cannot read script: {e}");
            return fail_code;
        }
    };
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
    0
}
