//! Regression tests for bugs found in review of the AGI module.

use asterisk_io::agi::codec::Reply;
use asterisk_io::agi::command::MAX_COMMAND_LINE;
use asterisk_io::agi::commands::*;
use asterisk_io::agi::{AgiError, Command};

// --- Outbound lines Asterisk would split --------------------------------------

/// Asterisk reads a command with `fgets` into a 2048-byte buffer
/// (`res_agi.c` `run_agi`, `AGI_BUF_LEN`): a longer line is cut after 2047
/// bytes and the rest is read as the *next command* — attacker-controlled
/// text in a long value would run as its own AGI command.
#[test]
fn command_line_longer_than_asterisk_buffer_is_refused() {
    let payload = format!("{}\" EXEC System \"evil", "x".repeat(2100));
    let mut out = b"before".to_vec();
    let err = SetVariable::new("V", payload).encode(&mut out).unwrap_err();
    assert!(
        matches!(err, AgiError::CommandTooLong { limit, .. } if limit == MAX_COMMAND_LINE),
        "{err:?}"
    );
    assert_eq!(out, b"before", "nothing written on error");
}

#[test]
fn command_line_at_the_limit_is_accepted_one_more_is_refused() {
    // `VERBOSE "` + body + `" 1\n`
    let overhead = "VERBOSE \"".len() + "\" 1\n".len();
    let fits = "a b".to_string() + &"c".repeat(MAX_COMMAND_LINE - overhead - 3);
    let mut out = Vec::new();
    Verbose::new(fits.clone(), 1).encode(&mut out).unwrap();
    assert_eq!(out.len(), MAX_COMMAND_LINE);
    let mut out = Vec::new();
    let err = Verbose::new(fits + "c", 1).encode(&mut out).unwrap_err();
    assert!(matches!(err, AgiError::CommandTooLong { .. }), "{err:?}");
    assert!(out.is_empty());
}

#[test]
fn raw_command_longer_than_asterisk_buffer_is_refused() {
    let mut out = Vec::new();
    let err = RawCommand::new("NOOP ".to_string() + &"y".repeat(3000))
        .encode(&mut out)
        .unwrap_err();
    assert!(matches!(err, AgiError::CommandTooLong { .. }), "{err:?}");
    assert!(out.is_empty());
}

/// A NUL ends the C string Asterisk parses: over FastAGI `run_agi` then
/// waits for the rest of a line that never comes (the session hangs), over
/// stdio the command is silently cut. Refuse it like CR/LF.
#[test]
fn nul_in_argument_is_refused() {
    let mut out = Vec::new();
    let err = SetVariable::new("V", "a\0b").encode(&mut out).unwrap_err();
    assert!(
        matches!(err, AgiError::InvalidArgument { index: 1, .. }),
        "{err:?}"
    );
    assert!(out.is_empty());
    let err = RawCommand::new("NOOP a\0b").encode(&mut out).unwrap_err();
    assert!(matches!(err, AgiError::InvalidArgument { .. }), "{err:?}");
    assert!(out.is_empty());
}

// --- Replies ----------------------------------------------------------------

/// `handle_speechrecognize` writes `200 result=1 (speech) endpos=N results=K
/// score0=.. text0="..." grammar0=..`; the recognised text may contain
/// parentheses. The `(speech)` marker must end at its own `)`.
#[test]
fn speech_text_with_parentheses_keeps_matches() {
    let line =
        b"200 result=1 (speech) endpos=1234 results=1 score0=900 text0=\"one (two) three\" grammar0=digits\n";
    let r = Reply::parse(line).unwrap();
    assert_eq!(r.data, Some(&b"speech"[..]));
    assert_eq!(r.endpos, Some(1234));
    let res = SpeechRecognize::new("prompt", 5000)
        .parse_reply(&r)
        .unwrap();
    assert_eq!(res.endpos, Some(1234));
    match res.outcome {
        asterisk_io::agi::command::SpeechOutcome::Speech(m) => {
            assert_eq!(m.len(), 1);
            assert_eq!(m[0].text, "one (two) three");
            assert_eq!(m[0].score, 900);
            assert_eq!(m[0].grammar, "digits");
        }
        o => panic!("{o:?}"),
    }
}

/// A value reply keeps everything up to the last `)`, whatever it holds.
#[test]
fn value_with_parentheses_and_attribute_lookalikes_is_kept_whole() {
    for (line, value) in [
        (&b"200 result=1 (a) endpos=5)\n"[..], &b"a) endpos=5"[..]),
        (b"200 result=1 ((x) y)\n", b"(x) y"),
        (b"200 result=1 (f(x)\n", b"f(x"),
        (b"200 result=1 ()\n", b""),
        (b"200 result=1 (hangup)\n", b"hangup"),
    ] {
        let r = Reply::parse(line).unwrap();
        assert_eq!(r.data, Some(value), "{}", String::from_utf8_lossy(line));
        assert_eq!(r.endpos, None);
    }
    let r = Reply::parse(b"200 result=49 (dtmf) endpos=800\n").unwrap();
    assert_eq!(r.data, Some(&b"dtmf"[..]));
    assert_eq!(r.endpos, Some(800));
}
