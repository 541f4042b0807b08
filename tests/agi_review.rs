//! Regression tests for bugs found in review of the AGI module.

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
