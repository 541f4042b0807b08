//! Every one of the 47 commands: its line, and its typed result; lines
//! Asterisk would cut or split are refused.

use asterisk_io::agi::command::{SpeechOutcome, SpeechResult, MAX_COMMAND_LINE};
use asterisk_io::agi::commands::*;
use asterisk_io::agi::{
    AgiError, ChannelState, Command, DelTreeOutcome, DigitsInput, Playback, RecordEnd, Recording,
    Reply,
};
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::time::Duration;

fn check<C>(cmd: C, line: &str, reply: &str, want: C::Output) -> &'static str
where
    C: Command,
    C::Output: Debug + PartialEq,
{
    assert_eq!(cmd.to_line().unwrap(), line);
    let raw = format!("{reply}\n");
    let r = Reply::parse(raw.as_bytes()).unwrap();
    assert_eq!(cmd.parse_reply(&r).unwrap(), want, "{line} <- {reply}");
    cmd.name()
}

fn fails<C: Command>(cmd: C, reply: &str) -> AgiError
where
    C::Output: Debug,
{
    let raw = format!("{reply}\n");
    cmd.parse_reply(&Reply::parse(raw.as_bytes()).unwrap())
        .unwrap_err()
}

#[test]
fn all_47_commands_encode_and_parse() {
    let pb = |d: Option<char>, e: i64| Playback {
        digit: d,
        endpos: Some(e),
    };
    let names = vec![
        check(Answer, "ANSWER", "200 result=0", ()),
        check(AsyncAgiBreak, "ASYNCAGI BREAK", "200 result=0", ()),
        check(
            ChannelStatus::of("PJSIP/100-01"),
            "CHANNEL STATUS PJSIP/100-01",
            "200 result=4",
            Some(ChannelState::Ring),
        ),
        check(
            ControlStreamFile::new("menu", "123").skip_ms(5000),
            r#"CONTROL STREAM FILE menu "123" 5000"#,
            "200 result=50 endpos=1234",
            pb(Some('2'), 1234),
        ),
        check(
            DatabaseDel::new("fam", "key"),
            "DATABASE DEL fam key",
            "200 result=0",
            false,
        ),
        check(
            DatabaseDelTree::new("fam").keytree("sub"),
            "DATABASE DELTREE fam sub",
            "200 result=0",
            DelTreeOutcome::Deleted,
        ),
        check(
            DatabaseGet::new("fam", "key"),
            "DATABASE GET fam key",
            "200 result=1 (v a l)",
            Some("v a l".into()),
        ),
        check(
            DatabasePut::new("fam", "key", "v"),
            "DATABASE PUT fam key v",
            "200 result=1",
            true,
        ),
        check(
            Exec::new("Playback", "hello-world"),
            "EXEC Playback hello-world",
            "200 result=0",
            0,
        ),
        check(
            GetData::new("enter-number").timeout_ms(3000).max_digits(4),
            "GET DATA enter-number 3000 4",
            "200 result=1234",
            DigitsInput {
                digits: "1234".into(),
                timed_out: false,
            },
        ),
        check(
            GetFullVariable::new("${EXTEN}").on("SIP/1"),
            r#"GET FULL VARIABLE "${EXTEN}" SIP/1"#,
            "200 result=1 (100)",
            Some("100".into()),
        ),
        check(
            GetOption::new("menu", "12").timeout_ms(2000),
            r#"GET OPTION menu "12" 2000"#,
            "200 result=49 endpos=400",
            pb(Some('1'), 400),
        ),
        check(
            GetVariable::new("FOO"),
            "GET VARIABLE FOO",
            "200 result=0",
            None,
        ),
        check(
            Gosub::new("sub", "s", "1").argument("a,b c"),
            r#"GOSUB sub s 1 "a,b c""#,
            "200 result=0 Gosub complete",
            (),
        ),
        check(Hangup::new(), "HANGUP", "200 result=1", ()),
        check(Noop::new(), "NOOP", "200 result=0", ()),
        check(
            ReceiveChar::new(5000),
            "RECEIVE CHAR 5000",
            "200 result=65",
            Some('A'),
        ),
        check(
            ReceiveText::new(0),
            "RECEIVE TEXT 0",
            "200 result=1 (hello there)",
            "hello there".to_string(),
        ),
        check(
            RecordFile::new("msg", "wav", "#", 30000),
            r##"RECORD FILE msg wav "#" 30000"##,
            "200 result=0 (timeout) endpos=16000",
            Recording {
                ended_by: RecordEnd::Timeout,
                endpos: Some(16000),
            },
        ),
        check(
            SayAlpha::new("abc", ""),
            r#"SAY ALPHA abc """#,
            "200 result=0",
            None,
        ),
        check(
            SayDate::new(1700000000i64, "#"),
            r##"SAY DATE 1700000000 "#""##,
            "200 result=35",
            Some('#'),
        ),
        check(
            SayDateTime::new(1700000000, "").timezone("UTC"),
            r#"SAY DATETIME 1700000000 "" "ABdY 'digits/at' IMp" UTC"#,
            "200 result=0",
            None,
        ),
        check(
            SayDigits::new("0042", ""),
            r#"SAY DIGITS 0042 """#,
            "200 result=0",
            None,
        ),
        check(
            SayNumber::new(-5, "").gender("f"),
            r#"SAY NUMBER -5 "" f"#,
            "200 result=0",
            None,
        ),
        check(
            SayPhonetic::new("xyz", "*"),
            r#"SAY PHONETIC xyz "*""#,
            "200 result=42",
            Some('*'),
        ),
        check(
            SayTime::new(0i64, ""),
            r#"SAY TIME 0 """#,
            "200 result=0",
            None,
        ),
        check(
            SendImage::new("logo"),
            "SEND IMAGE logo",
            "200 result=0",
            (),
        ),
        check(
            SendText::new("hi there"),
            r#"SEND TEXT "hi there""#,
            "200 result=0",
            (),
        ),
        check(
            SetAutoHangup::new(60),
            "SET AUTOHANGUP 60",
            "200 result=0",
            (),
        ),
        check(
            SetCallerId::new("\"Bob\" <100>"),
            r#"SET CALLERID "\"Bob\" <100>""#,
            "200 result=1",
            (),
        ),
        check(
            SetContext::new("ivr"),
            "SET CONTEXT ivr",
            "200 result=0",
            (),
        ),
        check(
            SetExtension::new("s"),
            "SET EXTENSION s",
            "200 result=0",
            (),
        ),
        check(
            SetMusic::new(true).class("default"),
            "SET MUSIC on default",
            "200 result=0",
            (),
        ),
        check(SetPriority::new("2"), "SET PRIORITY 2", "200 result=0", ()),
        check(
            SetVariable::new("X", ""),
            r#"SET VARIABLE X """#,
            "200 result=1",
            (),
        ),
        check(
            SpeechActivateGrammar::new("digits"),
            "SPEECH ACTIVATE GRAMMAR digits",
            "200 result=1",
            (),
        ),
        check(
            SpeechCreate::new("lumenvox"),
            "SPEECH CREATE lumenvox",
            "200 result=1",
            (),
        ),
        check(
            SpeechDeactivateGrammar::new("digits"),
            "SPEECH DEACTIVATE GRAMMAR digits",
            "200 result=1",
            (),
        ),
        check(SpeechDestroy, "SPEECH DESTROY", "200 result=1", ()),
        check(
            SpeechLoadGrammar::new("digits", "/g/digits.gram"),
            "SPEECH LOAD GRAMMAR digits /g/digits.gram",
            "200 result=1",
            (),
        ),
        check(
            SpeechRecognize::new("prompt", Duration::from_secs(5)),
            "SPEECH RECOGNIZE prompt 5",
            "200 result=1 (digit) digit=7 endpos=800",
            SpeechResult {
                outcome: SpeechOutcome::Digit('7'),
                endpos: Some(800),
            },
        ),
        check(
            SpeechSet::new("confidence", "50"),
            "SPEECH SET confidence 50",
            "200 result=1",
            (),
        ),
        check(
            SpeechUnloadGrammar::new("digits"),
            "SPEECH UNLOAD GRAMMAR digits",
            "200 result=1",
            (),
        ),
        check(
            StreamFile::new("beep", "").offset(800),
            r#"STREAM FILE beep "" 800"#,
            "200 result=0 endpos=3520",
            pb(None, 3520),
        ),
        check(TddMode::new(true), "TDD MODE on", "200 result=0", false),
        check(
            Verbose::new("hello", 3),
            r#"VERBOSE "hello" 3"#,
            "200 result=1",
            (),
        ),
        check(
            WaitForDigit::new(-1),
            "WAIT FOR DIGIT -1",
            "200 result=57",
            Some('9'),
        ),
    ];
    assert_eq!(names.len(), 47);
    let set: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(set.len(), 47);
    let all: BTreeSet<&str> = ALL_COMMANDS.iter().copied().collect();
    assert_eq!(set, all);
}

#[test]
fn failures_are_typed() {
    assert!(matches!(
        fails(Answer, "200 result=-1"),
        AgiError::Failed { result: -1, .. }
    ));
    assert!(matches!(
        fails(Hangup::channel("nosuch"), "200 result=-1"),
        AgiError::Failed { .. }
    ));
    assert!(matches!(
        fails(SpeechCreate::new("x"), "200 result=0"),
        AgiError::Failed { .. }
    ));
    assert!(matches!(
        fails(Gosub::new("a", "b", "1"), "200 result=-1 Gosub failed"),
        AgiError::Failed { .. }
    ));
    assert!(matches!(
        fails(GetData::new("p"), "200 result=-1"),
        AgiError::Failed { .. }
    ));
    assert!(matches!(
        fails(ReceiveText::new(1), "200 result=-1"),
        AgiError::Failed { .. }
    ));
    assert!(matches!(
        fails(WaitForDigit::new(1), "200 result=-1"),
        AgiError::Failed { .. }
    ));
    assert!(matches!(
        fails(
            Gosub::new("a", "b", "1"),
            "503 result=-2 Memory allocation failure"
        ),
        AgiError::Failed { result: -2, .. }
    ));
    assert!(matches!(
        fails(
            Answer,
            "511 Command Not Permitted on a dead channel or intercept routine"
        ),
        AgiError::HungUp(_)
    ));
    assert!(matches!(
        fails(Answer, "510 Invalid or unknown command"),
        AgiError::InvalidCommand
    ));
    assert!(matches!(
        fails(Answer, "200 result=abc"),
        AgiError::Protocol { .. }
    ));
    assert!(matches!(
        fails(Answer, "404 nope"),
        AgiError::Protocol { .. }
    ));
    // RECORD FILE: a hangup during recording is a result, not an error.
    let r = Reply::parse(b"200 result=-1 (hangup) endpos=777\n").unwrap();
    assert_eq!(
        RecordFile::new("m", "wav", "", 1000)
            .parse_reply(&r)
            .unwrap(),
        Recording {
            ended_by: RecordEnd::Hangup,
            endpos: Some(777)
        }
    );
    assert!(matches!(
        fails(
            RecordFile::new("m", "wav", "", 1000),
            "200 result=-1 (writefile)"
        ),
        AgiError::Failed { .. }
    ));
    // CHANNEL STATUS of a missing channel is "no such channel", not an error.
    let r = Reply::parse(b"200 result=-1\n").unwrap();
    assert_eq!(ChannelStatus::of("x").parse_reply(&r).unwrap(), None);
}

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
