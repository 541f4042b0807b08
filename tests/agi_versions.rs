//! Differences between Asterisk versions, and between what Asterisk does and
//! what its documentation says: AGI reply bytes in, typed results out.
//!
//! Every row names the Asterisk version(s) and the source file and function
//! the wire shape comes from (checked in Asterisk's git history). The fixture
//! bytes are written for these tests; usage texts are made up.
//!
//! The multi-line shapes are also fed to the sans-IO `Session` (and to
//! `StdioAgi`) split at every byte position: one reply per command, always,
//! and never a stall.

use asterisk_io::agi::codec::{parse_all, EnvParser, OwnedInbound};
use asterisk_io::agi::command::SpeechOutcome;
use asterisk_io::agi::commands::*;
use asterisk_io::agi::session::{Direction, Session};
use asterisk_io::agi::{
    max_command_line, AgiError, Command, DelTreeOutcome, Env, HangupSource, Limits, Parsed,
    ReplyFramer, Script, StdioAgi, MAX_COMMAND_LINE, MAX_COMMAND_LINE_8K,
};
use std::cell::RefCell;
use std::io::{self, Cursor};
use std::rc::Rc;
use std::time::Duration;

// --- Helpers ---------------------------------------------------------------

/// Frames `wire` whole; asserts it is exactly one reply and returns it.
fn one_reply(wire: &[u8]) -> asterisk_io::agi::OwnedReply {
    let (frames, used) = parse_all(wire);
    assert_eq!(used, wire.len(), "{:?}", String::from_utf8_lossy(wire));
    assert_eq!(frames.len(), 1, "{frames:?}");
    match frames.into_iter().next().unwrap() {
        Ok(OwnedInbound::Reply(r)) => r,
        other => panic!("{other:?}"),
    }
}

/// The frame lengths `ReplyFramer` finds when `wire` arrives in pieces cut
/// at `cuts` (each frame is asked for as bytes come in, as a transport does).
fn frame_lengths(wire: &[u8], cuts: &[usize]) -> Vec<usize> {
    let mut framer = ReplyFramer::new(Limits::default());
    let mut lens = Vec::new();
    let mut start = 0;
    let mut ends: Vec<usize> = cuts.iter().copied().filter(|&c| c < wire.len()).collect();
    ends.push(wire.len());
    for end in ends {
        while start < end {
            match framer.next_frame(&wire[start..end]).unwrap() {
                Parsed::Complete(n) => {
                    lens.push(n);
                    start += n;
                }
                Parsed::Partial => break,
            }
        }
    }
    lens
}

/// Asserts the framer finds the same frames whatever the split: at every
/// single split point and one byte at a time.
fn same_frames_at_every_split(wire: &[u8]) -> Vec<usize> {
    let whole = frame_lengths(wire, &[]);
    for cut in 0..=wire.len() {
        assert_eq!(frame_lengths(wire, &[cut]), whole, "split at {cut}");
    }
    let bytewise: Vec<usize> = (1..wire.len()).collect();
    assert_eq!(frame_lengths(wire, &bytewise), whole, "one byte at a time");
    whole
}

/// An environment block as Asterisk's `setup_env` writes it (shortened).
fn env(version: &str) -> Vec<u8> {
    format!(
        "agi_network: yes\nagi_network_script: t\nagi_request: agi://127.0.0.1/t\n\
         agi_channel: PJSIP/100-00000001\nagi_version: {version}\nagi_priority: 1\n\n"
    )
    .into_bytes()
}

type Log = Rc<RefCell<Vec<String>>>;

fn logged<C>(s: &mut Script<Log>, cmd: C)
where
    C: Command + 'static,
    C::Output: std::fmt::Debug,
{
    s.then(cmd, |s, r| {
        let line = format!("{r:?}");
        s.state.borrow_mut().push(line);
    });
}

/// Drives a `Session` with the script from `build` over `wire` (environment
/// and replies), cut into pieces at `cuts`. Returns the lines sent, the log
/// of typed results and whether the session ended.
fn converse(
    wire: &[u8],
    cuts: &[usize],
    limits: Limits,
    build: &dyn Fn(Log) -> Script<Log>,
) -> (Vec<u8>, Vec<String>, bool) {
    let log: Log = Rc::default();
    let mut session: Session<Script<Log>> = Session::new(limits);
    let mut out = Vec::new();
    let mut pending = Vec::new();
    let mut tap = |_: Direction, _: &[u8]| {};
    let mut done = false;
    let mut start = 0;
    let mut ends: Vec<usize> = cuts.iter().copied().filter(|&c| c < wire.len()).collect();
    ends.push(wire.len());
    for end in ends {
        pending.extend_from_slice(&wire[start..end]);
        start = end;
        let l = log.clone();
        let p = session.handle_input(&pending, &mut out, move |_| Some(build(l)), &mut tap);
        pending.drain(..p.consumed);
        done = p.done;
    }
    let log = log.borrow().clone();
    (out, log, done)
}

/// `converse` at every split point and one byte at a time must give the
/// same result as the whole wire at once; returns that result.
fn converse_at_every_split(
    wire: &[u8],
    limits: Limits,
    build: &dyn Fn(Log) -> Script<Log>,
) -> (Vec<u8>, Vec<String>, bool) {
    let whole = converse(wire, &[], limits, build);
    for cut in 0..=wire.len() {
        assert_eq!(
            converse(wire, &[cut], limits, build),
            whole,
            "split at {cut}"
        );
    }
    let bytewise: Vec<usize> = (1..wire.len()).collect();
    assert_eq!(converse(wire, &bytewise, limits, build), whole, "bytewise");
    whole
}

// --- 1. DATABASE DELTREE -----------------------------------------------------

/// `res_agi.c` `handle_dbdeltree` prints `result=0` when `ast_db_deltree`
/// deleted something and `1` otherwise (`num_deleted > 0 ? '0' : '1'` since
/// 1.8.18.0 / 10.10.0 / 11.0.0; `res ? '0' : '1'` in 1.4 to 1.8.17, where a
/// database error also gave `0`). The documentation says the opposite.
#[test]
fn database_deltree_result_zero_means_deleted() {
    let rows: [(&str, &str, &[u8], DelTreeOutcome); 4] = [
        (
            "22.6.0",
            "res_agi.c handle_dbdeltree, keys deleted",
            b"200 result=0\n",
            DelTreeOutcome::Deleted,
        ),
        (
            "22.6.0",
            "res_agi.c handle_dbdeltree, nothing deleted (or database unavailable)",
            b"200 result=1\n",
            DelTreeOutcome::NothingDeleted,
        ),
        (
            "13.17.0",
            "res_agi.c handle_dbdeltree, keys deleted",
            b"200 result=0\n",
            DelTreeOutcome::Deleted,
        ),
        (
            "1.4.0",
            "res_agi.c handle_dbdeltree, nothing deleted",
            b"200 result=1\n",
            DelTreeOutcome::NothingDeleted,
        ),
    ];
    for (version, source, wire, want) in rows {
        let r = one_reply(wire);
        let got = DatabaseDelTree::new("fam").parse_reply(&r.reply());
        assert_eq!(got.unwrap(), want, "Asterisk {version}, {source}");
    }
    assert!(DelTreeOutcome::Deleted.deleted());
    assert!(!DelTreeOutcome::NothingDeleted.deleted());
    // Anything else is not a DELTREE answer.
    let r = one_reply(b"200 result=-1\n");
    assert!(matches!(
        DatabaseDelTree::new("fam").parse_reply(&r.reply()),
        Err(AgiError::Failed { result: -1, .. })
    ));
}

// --- 2. SPEECH RECOGNIZE -------------------------------------------------------

/// `handle_speechrecognize` (1.6.0 to 22.6.0) compares the timeout with the
/// difference of two `time()` readings: it is seconds.
#[test]
fn speech_recognize_timeout_is_sent_in_whole_seconds() {
    for (timeout, line) in [
        (Duration::from_secs(5), "SPEECH RECOGNIZE menu 5"),
        (Duration::from_millis(1500), "SPEECH RECOGNIZE menu 2"),
        (Duration::from_millis(1), "SPEECH RECOGNIZE menu 1"),
        (Duration::ZERO, "SPEECH RECOGNIZE menu 0"),
        (
            Duration::from_secs(u64::MAX),
            "SPEECH RECOGNIZE menu 2147483647",
        ),
        (Duration::MAX, "SPEECH RECOGNIZE menu 2147483647"),
    ] {
        assert_eq!(
            SpeechRecognize::new("menu", timeout).to_line().unwrap(),
            line
        );
    }
    assert_eq!(
        SpeechRecognize::new("menu", Duration::from_secs(3))
            .offset(8000)
            .to_line()
            .unwrap(),
        "SPEECH RECOGNIZE menu 3 8000"
    );
}

/// Reply shapes of `res_agi.c` `handle_speechrecognize` (22.6.0; the same
/// format strings since 1.6.0).
#[test]
fn speech_recognize_replies() {
    let cmd = SpeechRecognize::new("p", Duration::from_secs(5));
    let parse = |wire: &[u8]| cmd.parse_reply(&one_reply(wire).reply());

    // No speech object, or ast_set_read_format(slin) failed: bare result=0.
    assert!(matches!(
        parse(b"200 result=0\n"),
        Err(AgiError::Failed { result: 0, .. })
    ));
    // The fall-through `200 result=0 endpos=%ld` (no path reaches it).
    let r = parse(b"200 result=0 endpos=0\n").unwrap();
    assert_eq!(r.outcome, SpeechOutcome::Nothing);
    assert_eq!(r.endpos, Some(0));
    // `(digit) digit=%c endpos=%ld`.
    let r = parse(b"200 result=1 (digit) digit=# endpos=1600\n").unwrap();
    assert_eq!(r.outcome, SpeechOutcome::Digit('#'));
    assert_eq!(r.endpos, Some(1600));
    // `(%s) endpos=%ld` for timeout and hangup.
    let r = parse(b"200 result=1 (timeout) endpos=24000\n").unwrap();
    assert_eq!((r.outcome, r.endpos), (SpeechOutcome::Timeout, Some(24000)));
    let r = parse(b"200 result=1 (hangup) endpos=0\n").unwrap();
    assert_eq!((r.outcome, r.endpos), (SpeechOutcome::Hangup, Some(0)));
    // No results: the list is empty, the line ends with a space.
    let r = parse(b"200 result=1 (speech) endpos=0 results=0 \n").unwrap();
    assert_eq!(r.outcome, SpeechOutcome::Speech(vec![]));
}

/// `handle_speechrecognize` builds each match with
/// `score%d=%d text%d="%s" grammar%d=%s`: the text is printed raw, so
/// quotes, backslashes and parentheses arrive as they are.
#[test]
fn speech_recognize_text_is_raw() {
    let cmd = SpeechRecognize::new("p", Duration::from_secs(5));
    let wire = b"200 result=1 (speech) endpos=480 results=3 \
        score0=912 text0=\"C:\\temp \"quoted\" (x)\" grammar0=paths \
        score1=-3 text1=\"\" grammar1=empty(1) \
        score2=40 text2=\"a \\\" b\" grammar2=last)\n";
    let r = cmd.parse_reply(&one_reply(wire).reply()).unwrap();
    assert_eq!(r.endpos, Some(480));
    let SpeechOutcome::Speech(m) = r.outcome else {
        panic!("{:?}", r.outcome)
    };
    assert_eq!(m.len(), 3);
    assert_eq!(
        (m[0].score, m[0].text.as_str(), m[0].grammar.as_str()),
        (912, "C:\\temp \"quoted\" (x)", "paths")
    );
    assert_eq!(
        (m[1].score, m[1].text.as_str(), m[1].grammar.as_str()),
        (-3, "", "empty(1)")
    );
    assert_eq!(
        (m[2].score, m[2].text.as_str(), m[2].grammar.as_str()),
        (40, "a \\\" b", "last)")
    );
}

/// The match list is built in a 4 KiB buffer with `ast_build_string`, which
/// cuts it short: a match without its `grammar` is left out, the complete
/// ones are kept.
#[test]
fn speech_recognize_truncated_match_list_keeps_complete_matches() {
    let cmd = SpeechRecognize::new("p", Duration::from_secs(5));
    let wire = b"200 result=1 (speech) endpos=0 results=2 \
        score0=900 text0=\"yes\" grammar0=yesno score1=800 text1=\"ye\n";
    let r = cmd.parse_reply(&one_reply(wire).reply()).unwrap();
    let SpeechOutcome::Speech(m) = r.outcome else {
        panic!("{:?}", r.outcome)
    };
    assert_eq!(m.len(), 1);
    assert_eq!(
        (m[0].text.as_str(), m[0].grammar.as_str()),
        ("yes", "yesno")
    );
}

// --- 3. RECEIVE CHAR -------------------------------------------------------------

/// `res_agi.c` `handle_recvchar` prints `result=%d (hangup)` for every -1
/// of `ast_recvchar` (`main/channel.c`), which is -1 for a timeout as well as
/// for a hangup (`ast_recvtext` returns NULL for both); `result=0 (timeout)`
/// comes only for an empty text frame. Same in 1.4 to 22.6.0.
#[test]
fn receive_char_replies() {
    let cmd = ReceiveChar::new(3000);
    assert_eq!(cmd.to_line().unwrap(), "RECEIVE CHAR 3000");
    let rows: [(&str, &[u8], Option<char>); 5] = [
        (
            "22.6.0 handle_recvchar: timeout or hangup",
            b"200 result=-1 (hangup)\n",
            None,
        ),
        (
            "1.8.0 handle_recvchar: timeout or hangup",
            b"200 result=-1 (hangup)\n",
            None,
        ),
        (
            "22.6.0 handle_recvchar: empty text frame",
            b"200 result=0 (timeout)\n",
            None,
        ),
        (
            "22.6.0 handle_recvchar: a character",
            b"200 result=65\n",
            Some('A'),
        ),
        (
            "22.6.0 handle_recvchar: Latin-1 byte",
            b"200 result=233\n",
            Some('\u{e9}'),
        ),
    ];
    for (source, wire, want) in rows {
        let got = cmd.parse_reply(&one_reply(wire).reply());
        assert_eq!(got.unwrap(), want, "{source}");
    }
    // On a channel that is already dead the command is refused (511, the
    // command table marks RECEIVE CHAR as not allowed on dead channels):
    // that is the crate's hangup error.
    let got = cmd.parse_reply(
        &one_reply(b"511 Command Not Permitted on a dead channel or intercept routine\n").reply(),
    );
    assert!(matches!(
        got,
        Err(AgiError::HungUp(HangupSource::DeadChannel))
    ));
}

// --- 4. The glued 520 terminator ---------------------------------------------------

const USAGE_GLUED: &[u8] = b"520-Invalid command syntax.  Proper usage follows:\n\
    Plays a sound file; a listed digit stops it.\n\
    Returns the digit, or 0.520 End of proper usage.\n";
const USAGE_OWN_LINE: &[u8] = b"520-Invalid command syntax.  Proper usage follows:\n\
    Plays a sound file; a listed digit stops it.\n\
    Returns the digit, or 0.\n520 End of proper usage.\n";

/// `res_agi.c` `agi_handle_command` wrote the usage text with `"%s"` and no
/// line feed from 1.6.2.0 (usage from the XML docs) to 13.16 and 14.0 to
/// 14.5; commit "res_agi: Fix malformed AGI usage response" added the `\n`
/// in 13.17.0, 14.6.0 and 15.0.0.
#[test]
fn usage_block_with_glued_terminator_is_one_reply() {
    let rows: [(&str, &[u8]); 4] = [
        ("13.16.0 agi_handle_command, \"%s\"", USAGE_GLUED),
        ("14.5.0 agi_handle_command, \"%s\"", USAGE_GLUED),
        ("13.17.0 agi_handle_command, \"%s\\n\"", USAGE_OWN_LINE),
        ("22.6.0 agi_handle_command, \"%s\\n\"", USAGE_OWN_LINE),
    ];
    for (source, wire) in rows {
        let r = one_reply(wire);
        let reply = r.reply();
        assert_eq!(reply.code, 520, "{source}");
        assert_eq!(
            reply.usage,
            Some(&b"Plays a sound file; a listed digit stops it.\nReturns the digit, or 0."[..]),
            "{source}"
        );
        match StreamFile::new("x", "").parse_reply(&reply) {
            Err(AgiError::Usage { usage }) => assert!(usage.ends_with("or 0."), "{source}"),
            other => panic!("{source}: {other:?}"),
        }
        let mut two = wire.to_vec();
        two.extend_from_slice(b"200 result=0\n");
        assert_eq!(
            same_frames_at_every_split(&two),
            [wire.len(), 13],
            "{source}"
        );
    }
    // A usage of one line only, glued.
    let r = one_reply(
        b"520-Invalid command syntax.  Proper usage follows:\nOne line.520 End of proper usage.\n",
    );
    assert_eq!(r.reply().usage, Some(&b"One line."[..]));
}

/// The whole conversation: before, the framer waited for a terminator line
/// that never came and the session stalled; now the next command runs.
#[test]
fn glued_usage_block_does_not_stall_the_session() {
    let mut wire = env("13.16.0");
    wire.extend_from_slice(USAGE_GLUED);
    wire.extend_from_slice(b"200 result=0\n");
    let build = |l: Log| {
        let mut s = Script::new(l);
        logged(&mut s, StreamFile::new("x", ""));
        logged(&mut s, Noop::new());
        s
    };
    let (out, log, done) = converse_at_every_split(&wire, Limits::default(), &build);
    assert_eq!(out, b"STREAM FILE x \"\"\nNOOP\n");
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log[0].starts_with("Err(Usage"), "{log:?}");
    assert_eq!(log[1], "Ok(())");
    assert!(done);
}

/// An oversized glued block costs one error, and the skip that follows
/// finds its glued end: the next reply goes to the next command.
#[test]
fn oversized_glued_usage_block_is_skipped_through_its_glued_end() {
    let mut usage = b"520-Invalid command syntax.  Proper usage follows:\n".to_vec();
    for _ in 0..8 {
        usage.extend_from_slice(b"A usage line that is long enough to count.\n");
    }
    usage.extend_from_slice(b"Last line of the usage.520 End of proper usage.\n");
    let mut wire = b"agi_network: yes\nagi_version: 13.16.0\n\n".to_vec();
    wire.extend_from_slice(&usage);
    wire.extend_from_slice(b"200 result=0\n");
    let limits = Limits::new(100, 200);
    let build = |l: Log| {
        let mut s = Script::new(l);
        logged(&mut s, StreamFile::new("x", ""));
        logged(&mut s, Noop::new());
        s
    };
    let (_, log, done) = converse_at_every_split(&wire, limits, &build);
    assert_eq!(log, ["Err(LineTooLong { limit: 200 })", "Ok(())"]);
    assert!(done);
}

// --- 5. Values holding a line feed ------------------------------------------------

/// `res_agi.c` prints values raw as `200 result=1 (%s)\n`:
/// `handle_getvariable`, `handle_getvariablefull`, `handle_dbget` and
/// `handle_recvtext` (22.6.0; the same in every version checked).
#[test]
fn values_with_line_feeds_are_one_reply() {
    let rows: [(&str, &[u8], &str); 6] = [
        (
            "handle_getvariable",
            b"200 result=1 (line1\nline2)\n",
            "line1\nline2",
        ),
        (
            "handle_getvariable, CRLF and an empty line",
            b"200 result=1 (first\r\n\r\nlast)\n",
            "first\r\n\r\nlast",
        ),
        (
            "handle_getvariablefull, a line starting with digits",
            b"200 result=1 (Jane Doe\n123 Main St\n200 West)\n",
            "Jane Doe\n123 Main St\n200 West",
        ),
        (
            "handle_dbget, parentheses inside",
            b"200 result=1 (f(x\n) = y (z) w)\n",
            "f(x\n) = y (z) w",
        ),
        (
            "handle_getvariable, a line that looks like a marker attribute",
            b"200 result=1 (a\nendpos=5 (timeout) x)\n",
            "a\nendpos=5 (timeout) x",
        ),
        (
            "handle_recvtext",
            b"200 result=1 (hi\nthere)\n",
            "hi\nthere",
        ),
    ];
    for (source, wire, want) in rows {
        let r = one_reply(wire);
        let reply = r.reply();
        assert_eq!(reply.data, Some(want.as_bytes()), "22.6.0 {source}");
        let got = GetVariable::new("X").parse_reply(&reply).unwrap();
        assert_eq!(got.as_deref(), Some(want), "22.6.0 {source}");
        let mut two = wire.to_vec();
        two.extend_from_slice(b"200 result=1 (next)\n");
        assert_eq!(
            same_frames_at_every_split(&two),
            [wire.len(), 20],
            "{source}"
        );
    }
    let r = one_reply(b"200 result=1 (hi\nthere)\n");
    assert_eq!(
        ReceiveText::new(100).parse_reply(&r.reply()).unwrap(),
        "hi\nthere"
    );
    let r = one_reply(b"200 result=1 (v1\nv2)\n");
    assert_eq!(
        DatabaseGet::new("f", "k").parse_reply(&r.reply()).unwrap(),
        Some("v1\nv2".into())
    );
}

/// Asterisk's `(word)` markers followed by attributes are not open values,
/// so the `HANGUP` line or the next reply right after them is its own frame.
#[test]
fn markers_with_attributes_do_not_open_a_value() {
    for line in [
        &b"200 result=1 (timeout) endpos=800\n"[..],
        b"200 result=1 (digit) digit=5 endpos=10\n",
        b"200 result=1 (speech) endpos=0 results=0 \n",
        b"200 result=1 (hangup) endpos=0\n",
        b"200 result=1 (speech) endpos=0 results=1 score0=1 text0=\"(\" grammar0=g\n",
    ] {
        let mut wire = line.to_vec();
        wire.extend_from_slice(b"HANGUP\n200 result=0\n");
        assert_eq!(
            same_frames_at_every_split(&wire),
            [line.len(), 7, 13],
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
}

/// The session at every split point: each command gets its own reply.
#[test]
fn value_with_line_feeds_in_a_session_keeps_one_reply_per_command() {
    let mut wire = env("22.6.0");
    wire.extend_from_slice(b"200 result=1 (line1\nline2)\n");
    wire.extend_from_slice(b"200 result=1 (Jane\r\n123 Main St)\n");
    wire.extend_from_slice(b"200 result=1 (x)\n");
    wire.extend_from_slice(b"200 result=0\n");
    let build = |l: Log| {
        let mut s = Script::new(l);
        logged(&mut s, GetVariable::new("A"));
        logged(&mut s, GetFullVariable::new("${B}"));
        logged(&mut s, DatabaseGet::new("f", "k"));
        logged(&mut s, Noop::new());
        s
    };
    let (out, log, done) = converse_at_every_split(&wire, Limits::default(), &build);
    assert_eq!(
        out,
        b"GET VARIABLE A\nGET FULL VARIABLE \"${B}\"\nDATABASE GET f k\nNOOP\n"
    );
    assert_eq!(
        log,
        [
            "Ok(Some(\"line1\\nline2\"))",
            "Ok(Some(\"Jane\\r\\n123 Main St\"))",
            "Ok(Some(\"x\"))",
            "Ok(())"
        ]
    );
    assert!(done);
}

/// The same over stdio, fed one byte at a time.
#[test]
fn value_with_line_feeds_over_stdio() {
    struct OneByte<'a>(&'a [u8]);
    impl io::Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }
    let mut wire = env("22.6.0");
    wire.extend_from_slice(b"200 result=1 (line1\nline2)\n200 result=1 (x)\n");
    let reader = io::BufReader::with_capacity(1, OneByte(&wire));
    let mut agi = StdioAgi::new(reader, io::sink()).unwrap();
    assert_eq!(
        agi.run(GetVariable::new("A")).unwrap().as_deref(),
        Some("line1\nline2")
    );
    assert_eq!(
        agi.run(GetVariable::new("B")).unwrap().as_deref(),
        Some("x")
    );
    assert!(matches!(
        agi.run(Noop::new()),
        Err(AgiError::HungUp(HangupSource::Eof))
    ));
}

/// A peer that never closes its parenthesis cannot swallow what follows:
/// the `HANGUP` line (or a status line with `result=`) ends the value, the
/// broken reply is one error for its command, and the next command gets
/// the next reply.
#[test]
fn unclosed_value_is_ended_by_the_next_frame() {
    let mut wire = env("22.6.0");
    wire.extend_from_slice(b"200 result=1 (never closed\nHANGUP\n200 result=0\n");
    let build = |l: Log| {
        let mut s = Script::new(l);
        logged(&mut s, GetVariable::new("A"));
        logged(&mut s, Noop::new());
        s
    };
    let (_, log, done) = converse_at_every_split(&wire, Limits::default(), &build);
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(log[0].starts_with("Err(Protocol"), "{log:?}");
    assert_eq!(log[1], "Ok(())");
    assert!(done);

    let mut wire = env("22.6.0");
    wire.extend_from_slice(b"200 result=1 (never closed\n510 Invalid or unknown command\n");
    let (_, log, _) = converse_at_every_split(&wire, Limits::default(), &build);
    assert!(log[0].starts_with("Err(Protocol"), "{log:?}");
    assert_eq!(log[1], "Err(InvalidCommand)");
}

/// An oversized value that holds line feeds is skipped through the line
/// that closes it: its other lines do not become replies.
#[test]
fn oversized_value_with_line_feeds_is_skipped_whole() {
    let mut wire = b"agi_network: yes\nagi_version: 22.6.0\n\n".to_vec();
    wire.extend_from_slice(b"200 result=1 (");
    for _ in 0..6 {
        wire.extend_from_slice(b"a line of the value, long enough to count\n");
    }
    wire.extend_from_slice(b"end)\n200 result=1 (ok)\n");
    let limits = Limits::new(100, 200);
    let build = |l: Log| {
        let mut s = Script::new(l);
        logged(&mut s, GetVariable::new("BIG"));
        logged(&mut s, GetVariable::new("SMALL"));
        s
    };
    let (_, log, done) = converse_at_every_split(&wire, limits, &build);
    assert_eq!(log, ["Err(LineTooLong { limit: 200 })", "Ok(Some(\"ok\"))"]);
    assert!(done);

    // The first line alone over the line limit, then more value lines.
    let mut wire = b"agi_network: yes\nagi_version: 22.6.0\n\n".to_vec();
    wire.extend_from_slice(b"200 result=1 (");
    wire.extend_from_slice(&[b'v'; 150]);
    wire.extend_from_slice(b"\nmore\nend)\n200 result=1 (ok)\n");
    let (_, log, _) = converse_at_every_split(&wire, limits, &build);
    assert_eq!(log, ["Err(LineTooLong { limit: 100 })", "Ok(Some(\"ok\"))"]);
}

// --- 6. The command line limit follows the server ------------------------------------

/// `res_agi.c` `#define AGI_BUF_LEN`: 2048 up to 20.15.x, 21.10.x, 22.5.x
/// (and 1.6.0 .. 19, certified 16.8 and 18.9), 8192 from 20.16.0, 21.11.0,
/// 22.6.0 and in 23.0.0 (commit "res_agi: Increase AGI command buffer size
/// from 2K to 8K"). `run_agi` reads with `fgets(buf, AGI_BUF_LEN)`: one byte
/// less, LF included.
#[test]
fn max_command_line_follows_agi_version() {
    let rows: [(Option<&str>, usize); 22] = [
        (Some("1.8.32.3"), 2047),
        (Some("13.38.3"), 2047),
        (Some("16.30.1"), 2047),
        (Some("18.26.4"), 2047),
        (Some("20.15.2"), 2047),
        (Some("20.16.0"), 8191),
        (Some("20.17.0"), 8191),
        (Some("21.10.2"), 2047),
        (Some("21.11.0"), 8191),
        (Some("22.5.2"), 2047),
        (Some("22.6.0"), 8191),
        (Some("22.6.0-rc1"), 8191),
        (Some("22.10.1"), 8191),
        (Some("23.0.0-pre1"), 8191),
        (Some("23.4.1"), 8191),
        (Some("certified/18.9-cert4"), 2047),
        (Some("certified/20.7-cert6"), 2047),
        (Some("18.9-cert4"), 2047),
        (Some("GIT-master-f0c1c1a7b7"), 2047),
        (Some("22-6"), 2047),
        (Some(""), 2047),
        (None, 2047),
    ];
    for (version, want) in rows {
        assert_eq!(max_command_line(version), want, "{version:?}");
    }
    assert_eq!((MAX_COMMAND_LINE, MAX_COMMAND_LINE_8K), (2047, 8191));
    let new = Env::parse(&env("22.6.0")).unwrap();
    assert_eq!(new.max_command_line(), 8191);
    let old = Env::parse(&env("21.10.0")).unwrap();
    assert_eq!(old.max_command_line(), 2047);
}

/// `encode` keeps the limit of every Asterisk; `encode_limited` takes the
/// server's. `RawCommand` honours both, also through a reference.
#[test]
fn encode_limited_applies_the_given_limit() {
    let value = "v".repeat(5000);
    let mut out = Vec::new();
    let err = SetVariable::new("X", value.clone())
        .encode(&mut out)
        .unwrap_err();
    assert!(matches!(err, AgiError::CommandTooLong { limit: 2047, .. }));
    assert!(out.is_empty());
    SetVariable::new("X", value.clone())
        .encode_limited(&mut out, MAX_COMMAND_LINE_8K)
        .unwrap();
    assert_eq!(out.len(), "SET VARIABLE X \"\"\n".len() + 5000);
    let raw = RawCommand::new(format!("NOOP {value}"));
    assert!(raw.encode(&mut Vec::new()).is_err());
    // Through `impl Command for &C`, as generic code sees it.
    fn limited<C: Command>(cmd: C, limit: usize) -> Result<Vec<u8>, AgiError> {
        let mut out = Vec::new();
        cmd.encode_limited(&mut out, limit).map(|()| out)
    }
    fn line<C: Command>(cmd: C) -> String {
        cmd.to_line().unwrap()
    }
    assert!(limited(&raw, 8191).is_ok());
    assert!(limited(&raw, 2047).is_err());
    let noop: &RawCommand = &RawCommand::new("NOOP x");
    assert_eq!(line(noop), "NOOP x");
    let exact = RawCommand::new("N".repeat(8190));
    assert!(exact.encode_limited(&mut Vec::new(), 8191).is_ok());
    let over = RawCommand::new("N".repeat(8191));
    assert!(matches!(
        over.encode_limited(&mut Vec::new(), 8191),
        Err(AgiError::CommandTooLong {
            len: 8192,
            limit: 8191,
            ..
        })
    ));
}

/// A `Script` learns the limit from the session's `agi_version`: a
/// 5000-byte line goes out to 22.6.0 and is refused for 22.5.0 (nothing
/// sent, the script goes on).
#[test]
fn script_applies_the_servers_limit() {
    let build = |l: Log| {
        let mut s = Script::new(l);
        logged(&mut s, SetVariable::new("X", "v".repeat(5000)));
        logged(&mut s, Noop::new());
        s
    };
    let mut wire = env("22.6.0");
    wire.extend_from_slice(b"200 result=1\n200 result=0\n");
    let (out, log, done) = converse(&wire, &[], Limits::default(), &build);
    assert_eq!(
        out.len(),
        "SET VARIABLE X \"\"\n".len() + 5000 + "NOOP\n".len()
    );
    assert_eq!(log, ["Ok(())", "Ok(())"]);
    assert!(done);

    let mut wire = env("22.5.0");
    wire.extend_from_slice(b"200 result=0\n");
    let (out, log, done) = converse(&wire, &[], Limits::default(), &build);
    assert_eq!(out, b"NOOP\n");
    assert_eq!(log.len(), 2);
    assert!(
        log[0]
            .starts_with("Err(CommandTooLong { command: \"SET VARIABLE\", len: 5018, limit: 2047"),
        "{log:?}"
    );
    assert!(done);

    // Over even the larger limit: refused when queued, reported with the
    // session's limit.
    let huge = |l: Log| {
        let mut s = Script::new(l);
        logged(&mut s, SetVariable::new("X", "v".repeat(9000)));
        s
    };
    let (out, log, _) = converse(&env("20.15.0"), &[], Limits::default(), &huge);
    assert!(out.is_empty());
    assert!(log[0].contains("len: 9018, limit: 2047"), "{log:?}");
    let (_, log, _) = converse(&env("20.16.0"), &[], Limits::default(), &huge);
    assert!(log[0].contains("len: 9018, limit: 8191"), "{log:?}");

    // Fixed by the caller: the version no longer matters.
    let fixed = |l: Log| {
        let mut s = build(l);
        s.set_max_command_line(MAX_COMMAND_LINE_8K);
        s
    };
    let mut wire = env("GIT-master-f0c1c1a7b7");
    wire.extend_from_slice(b"200 result=1\n200 result=0\n");
    let (_, log, _) = converse(&wire, &[], Limits::default(), &fixed);
    assert_eq!(log, ["Ok(())", "Ok(())"]);
    let s = Script::new(());
    assert_eq!(s.max_command_line(), MAX_COMMAND_LINE);
}

/// `StdioAgi` takes the limit from the environment it read.
#[test]
fn stdio_applies_the_servers_limit() {
    let mut wire = env("21.11.0");
    wire.extend_from_slice(b"200 result=1\n");
    let mut agi = StdioAgi::new(Cursor::new(wire), Vec::new()).unwrap();
    assert_eq!(agi.max_command_line(), 8191);
    agi.run(SetVariable::new("X", "v".repeat(5000))).unwrap();

    let mut wire = env("21.10.2");
    wire.extend_from_slice(b"200 result=1\n");
    let mut agi = StdioAgi::new(Cursor::new(wire), Vec::new()).unwrap();
    assert_eq!(agi.max_command_line(), 2047);
    assert!(matches!(
        agi.run(SetVariable::new("X", "v".repeat(5000))),
        Err(AgiError::CommandTooLong { limit: 2047, .. })
    ));
    agi.set_max_command_line(8191);
    agi.run(SetVariable::new("X", "v".repeat(5000))).unwrap();
    let (_, written) = agi.into_inner();
    assert_eq!(written.len(), "SET VARIABLE X \"\"\n".len() + 5000);
}

// --- 7. Environment lines without a colon -----------------------------------------

/// `res_agi.c` `setup_env` writes `agi_arg_%d: %s\n` with the argument as
/// is (22.6.0; the same since 1.4): `AGI(script,"first\nsecond")` gives a
/// line without a key. The session starts with the other variables.
#[test]
fn environment_line_without_colon_is_kept_aside() {
    let block = b"agi_network: yes\nagi_network_script: t\nagi_version: 22.6.0\n\
        agi_arg_1: first\nsecond\n: leading colon\nagi_arg_2: x\n\n";
    let env = Env::parse(block).unwrap();
    assert_eq!(env.args(), ["first", "x"]);
    assert_eq!(env.version(), Some("22.6.0"));
    assert!(env.has_skipped_lines());
    assert_eq!(
        env.skipped_lines().collect::<Vec<_>>(),
        [&b"second"[..], &b": leading colon"[..]]
    );
    assert!(format!("{env:?}").contains("second"));
    // Incrementally, at every split point, the same.
    for cut in 0..block.len() {
        let mut p = EnvParser::new(Limits::default());
        let first = p.parse(&block[..cut]).unwrap();
        assert_eq!(first, Parsed::Partial, "split at {cut}");
        assert_eq!(p.parse(block).unwrap(), Parsed::Complete(block.len()));
        assert_eq!(p.take(block), env, "split at {cut}");
    }
    // The whole session: it starts and runs.
    let mut wire = block.to_vec();
    wire.extend_from_slice(b"200 result=0\n");
    let build = |l: Log| {
        let mut s = Script::new(l);
        logged(&mut s, Noop::new());
        s
    };
    let (out, log, done) = converse_at_every_split(&wire, Limits::default(), &build);
    assert_eq!(out, b"NOOP\n");
    assert_eq!(log, ["Ok(())"]);
    assert!(done);
    // A block that does not start with a variable is still no AGI.
    assert!(Env::parse(b"not agi\nagi_x: y\n\n").is_err());
}
