//! The AGI environment block, whole and byte by byte, and command encoding
//! read back by Asterisk's own argument splitter (`parse_args` of
//! res_agi.c, reimplemented below): every argument the encoder accepts
//! arrives as itself, and a refused line leaves the buffer untouched.
#![no_main]

use asterisk_io::agi::codec::{EnvParser, Limits, Parsed};
use asterisk_io::agi::command::ArgWriter;
use asterisk_io::agi::{AgiError, Command, Env, Reply};
use libfuzzer_sys::fuzz_target;

/// A command whose arguments come from the input.
struct Args<'a> {
    args: Vec<(&'a str, u8)>,
}

impl Command for Args<'_> {
    type Output = ();
    fn name(&self) -> &'static str {
        "EXEC"
    }
    fn write_args(&self, w: &mut ArgWriter<'_>) {
        for (a, how) in &self.args {
            match how % 3 {
                0 => w.arg(a),
                1 => w.quoted(a),
                _ => w.opt(Some(a)),
            };
        }
    }
    fn parse_reply(&self, _reply: &Reply<'_>) -> Result<(), AgiError> {
        Ok(())
    }
}

/// Asterisk's `parse_args`: space and tab split outside quotes, `"` toggles
/// quoting (and starts a word after blanks), `\` makes the next byte literal.
fn parse_args(s: &[u8]) -> Vec<Vec<u8>> {
    let mut argv: Vec<Vec<u8>> = Vec::new();
    let (mut quoted, mut escaped, mut white) = (false, false, true);
    for &b in s {
        let normal = match b {
            b'"' if !escaped => {
                quoted = !quoted;
                if quoted && white {
                    argv.push(Vec::new());
                    white = false;
                }
                false
            }
            b' ' | b'\t' if !quoted && !escaped => {
                white = true;
                false
            }
            b'\\' if !escaped => {
                escaped = true;
                continue;
            }
            _ => true,
        };
        if normal {
            if white {
                argv.push(Vec::new());
                white = false;
            }
            argv.last_mut().unwrap().push(b);
        }
        escaped = false;
    }
    argv
}

fuzz_target!(|data: &[u8]| {
    // The environment block: whole, and fed one byte more at a time, agree.
    if let (Ok(env), true) = (Env::parse(data), data.len() <= 16 * 1024) {
        let _ = (
            env.args(),
            env.query(),
            env.caller_id_name(),
            env.priority(),
        );
        let _ = (env.max_command_line(), env.script_path(), env.enhanced());
        let mut p = EnvParser::new(Limits::default());
        let mut done = None;
        for n in 0..=data.len() {
            match p.parse(&data[..n]) {
                Ok(Parsed::Complete(len)) => {
                    done = Some(p.take(&data[..len]));
                    break;
                }
                Ok(Parsed::Partial) => {}
                Err(e) => panic!("incremental parse failed where whole worked: {e}"),
            }
        }
        assert_eq!(done, Some(env));
    }

    // Command encoding.
    let text = String::from_utf8_lossy(data);
    let args: Vec<(&str, u8)> = text
        .split('\u{1}')
        .map(|a| {
            let mut chars = a.chars();
            let how = chars.next().map_or(0, |c| c as u32 as u8);
            (chars.as_str(), how)
        })
        .take(100)
        .collect();
    let cmd = Args { args };
    let limit = 64 + data.first().copied().unwrap_or(0) as usize * 64;
    let mut out = b"previous\n".to_vec();
    match cmd.encode_limited(&mut out, limit) {
        Ok(()) => {
            let line = &out[9..];
            assert!(line.len() <= limit);
            assert_eq!(line.last(), Some(&b'\n'));
            let line = &line[..line.len() - 1];
            assert!(!line.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)));
            let argv = parse_args(line);
            let mut want = vec![b"EXEC".to_vec()];
            want.extend(cmd.args.iter().map(|(a, _)| a.as_bytes().to_vec()));
            assert_eq!(argv, want, "line {:?}", String::from_utf8_lossy(line));
        }
        Err(AgiError::InvalidArgument { .. }) => {
            assert_eq!(out, b"previous\n");
            assert!(cmd
                .args
                .iter()
                .any(|(a, _)| a.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0))));
        }
        Err(AgiError::CommandTooLong { len, .. }) => {
            assert_eq!(out, b"previous\n");
            assert!(len > limit);
        }
        Err(e) => panic!("unexpected error {e}"),
    }
});
