//! Malformed input: a panic is our bug, never the input's. Typed errors,
//! bounded memory, and the stream survives a bad line.

use asterisk_io::agi::codec::{parse_all, EnvParser, OwnedInbound};
use asterisk_io::agi::commands::*;
use asterisk_io::agi::session::{Direction, Session};
use asterisk_io::agi::{
    AgiError, Command, Env, HangupSource, Inbound, Limits, Parsed, Reply, ReplyFramer, Script,
    StdioAgi,
};
use proptest::prelude::*;
use std::io::{self, Cursor, Write};

#[test]
fn garbage_replies_are_protocol_errors() {
    for bad in [
        &b"hello world\n"[..],
        b"20 result=1\n",
        b"2000 result=1\n",
        b"200result=1\n",
        b"200 result=1 (unbalanced\n",
        b"200 result=1 endpos=abc\n",
        b"\n",
        b"\xff\xfe\n",
    ] {
        match ReplyFramer::frame(bad) {
            Err(AgiError::Protocol { .. }) => {}
            other => panic!("{bad:?}: {other:?}"),
        }
    }
}

#[test]
fn odd_but_valid_replies() {
    let r = Reply::parse(b"200 result= (timeout)\n").unwrap();
    assert_eq!(r.result, Some(&b""[..]));
    assert_eq!(r.data, Some(&b"timeout"[..]));
    let r = Reply::parse(b"100 result=0 Trying...\n").unwrap();
    assert_eq!((r.code, r.rest), (100, &b"Trying..."[..]));
    let r = Reply::parse(b"200 result=0 Gosub complete\n").unwrap();
    assert_eq!(r.rest, b"Gosub complete");
    let r = Reply::parse(b"503 result=-2 Memory allocation failure\n").unwrap();
    assert!(matches!(
        r.check(),
        Err(AgiError::Failed { result: -2, .. })
    ));
    let r = Reply::parse(b"520 Invalid command syntax.  Proper usage not available.\n").unwrap();
    assert!(matches!(r.check(), Err(AgiError::Usage { .. })));
    // "(hangup)" inside data is data.
    let r = Reply::parse(b"200 result=1 (hangup)\n").unwrap();
    assert_eq!(
        GetVariable::new("X").parse_reply(&r).unwrap().as_deref(),
        Some("hangup")
    );
    // Nested parentheses in a value.
    let r = Reply::parse(b"200 result=1 (Alice (Sales))\n").unwrap();
    assert_eq!(r.data, Some(&b"Alice (Sales)"[..]));
    // Speech and record results.
    let r = Reply::parse(
        b"200 result=1 (speech) endpos=0 results=2 score0=969 text0=\"one two\" grammar0=digits score1=5 text1=\"x\" grammar1=g\n",
    )
    .unwrap();
    let s = SpeechRecognize::new("p", std::time::Duration::from_secs(1))
        .parse_reply(&r)
        .unwrap();
    match s.outcome {
        asterisk_io::agi::command::SpeechOutcome::Speech(m) => {
            assert_eq!(m.len(), 2);
            assert_eq!(m[0].text, "one two");
            assert_eq!(m[0].score, 969);
            assert_eq!(m[1].grammar, "g");
        }
        o => panic!("{o:?}"),
    }
    let r = Reply::parse(b"200 result=1 (digit) digit=5 endpos=1234\n").unwrap();
    assert_eq!(r.endpos, Some(1234));
    let r = Reply::parse(b"200 result=53 (dtmf) endpos=900\n").unwrap();
    let rec = RecordFile::new("f", "wav", "5", 1000)
        .parse_reply(&r)
        .unwrap();
    assert_eq!(rec.ended_by, asterisk_io::agi::RecordEnd::Digit('5'));
    let r = Reply::parse(b"200 result=12#* (timeout)\n").unwrap();
    let d = GetData::new("x").parse_reply(&r).unwrap();
    assert_eq!((d.digits.as_str(), d.timed_out), ("12#*", true));
}

#[test]
fn endless_line_is_bounded_and_stream_recovers() {
    let limits = Limits::new(64, 256);
    let mut framer = ReplyFramer::new(limits);
    let mut buf = Vec::new();
    let mut err = None;
    for _ in 0..1000 {
        buf.extend_from_slice(b"xxxxxxxxxx");
        match framer.next_frame(&buf) {
            Ok(Parsed::Partial) => {}
            Err(e) => {
                err = Some(e);
                break;
            }
            Ok(Parsed::Complete(_)) => panic!("no LF yet"),
        }
    }
    assert!(matches!(err, Some(AgiError::LineTooLong { limit: 64 })));
    assert!(buf.len() <= 64 + 10);
    // parse_all resynchronises at the next LF.
    let mut data = vec![b'y'; 100_000];
    data.extend_from_slice(b"\n200 result=1 (ok)\n");
    let (frames, used) = parse_all(&data);
    assert_eq!(used, data.len());
    assert!(frames[0].is_err());
    assert!(matches!(frames[1], Ok(OwnedInbound::Reply(_))));
}

#[test]
fn endless_520_block_is_bounded() {
    let limits = Limits::new(64, 256);
    let mut framer = ReplyFramer::new(limits);
    let mut buf = b"520-Invalid command syntax.\n".to_vec();
    let mut failed = false;
    for _ in 0..100 {
        buf.extend_from_slice(b"more usage text\n");
        match framer.next_frame(&buf) {
            Ok(Parsed::Partial) => {}
            Err(AgiError::LineTooLong { limit: 256 }) => {
                failed = true;
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(failed);
}

#[test]
fn truncated_env_is_an_error_not_a_hang() {
    let full = include_bytes!("fixtures/agi/fastagi-session.bin");
    let end = full.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
    for cut in 0..end {
        let r = StdioAgi::new(Cursor::new(&full[..cut]), io::sink());
        assert!(matches!(r, Err(AgiError::Protocol { .. })), "cut {cut}");
    }
    assert!(Env::parse(&full[..end - 1]).is_err());
    // Not AGI at all: the first line is no variable. (A line without `key:`
    // after a variable is kept aside instead; see agi_versions.rs.)
    assert!(Env::parse(b"no colon here\n\n").is_err());
    // Endless environment line.
    let mut p = EnvParser::new(Limits::new(100, 1000));
    let long = vec![b'a'; 5000];
    assert!(matches!(p.parse(&long), Err(AgiError::LineTooLong { .. })));
    // Endless environment block of short lines.
    let mut p = EnvParser::new(Limits::new(100, 1000));
    let many: Vec<u8> = b"agi_x: y\n".repeat(500);
    assert!(matches!(p.parse(&many), Err(AgiError::LineTooLong { .. })));
}

#[test]
fn cr_or_lf_in_arguments_is_refused_before_writing() {
    let mut out = b"prefix".to_vec();
    for (cmd, idx) in [
        (SetVariable::new("A", "x\ny").encode(&mut out), 1),
        (SetVariable::new("A\r", "y").encode(&mut out), 0),
    ] {
        match cmd {
            Err(AgiError::InvalidArgument {
                command: "SET VARIABLE",
                index,
            }) => assert_eq!(index, idx),
            other => panic!("{other:?}"),
        }
    }
    assert!(RawCommand::new("NOOP\nHANGUP").encode(&mut out).is_err());
    assert!(Verbose::new("a\r\nb", 1).encode(&mut out).is_err());
    assert_eq!(out, b"prefix");
    // And the stdio transport writes nothing.
    let env = b"agi_request: x\n\n";
    let mut w = Vec::new();
    let mut agi = StdioAgi::new(Cursor::new(&env[..]), &mut w).unwrap();
    assert!(matches!(
        agi.run(StreamFile::new("a\nHANGUP", "")),
        Err(AgiError::InvalidArgument { .. })
    ));
    drop(agi);
    assert!(w.is_empty());
}

#[test]
fn quoting() {
    assert_eq!(
        SetVariable::new("V", r#"say "hi" \ bye"#)
            .to_line()
            .unwrap(),
        r#"SET VARIABLE V "say \"hi\" \\ bye""#
    );
    assert_eq!(
        DatabasePut::new("fam", "k", "").to_line().unwrap(),
        r#"DATABASE PUT fam k """#
    );
    assert_eq!(
        Exec::new("Dial", "PJSIP/100,30,tT").to_line().unwrap(),
        "EXEC Dial PJSIP/100,30,tT"
    );
    assert_eq!(
        SetVariable::new("BENCH", "1").to_line().unwrap(),
        r#"SET VARIABLE BENCH "1""#
    );
    assert_eq!(
        ControlStreamFile::new("f", "#")
            .offset_ms(500)
            .to_line()
            .unwrap(),
        r##"CONTROL STREAM FILE f "#" 3000 "#" "*" "" 500"##
    );
    assert_eq!(
        RecordFile::new("f", "wav", "#", -1)
            .beep()
            .silence(3)
            .to_line()
            .unwrap(),
        r##"RECORD FILE f wav "#" -1 0 BEEP s=3"##
    );
    assert_eq!(
        GetData::new("prompt").max_digits(4).to_line().unwrap(),
        "GET DATA prompt 0 4"
    );
}

/// A writer whose reader went away.
struct ClosedPipe;
impl Write for ClosedPipe {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::from(io::ErrorKind::BrokenPipe))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn closed_pipe_is_a_hangup_not_a_panic() {
    let mut agi = StdioAgi::new(Cursor::new(&b"agi_request: x\n\n"[..]), ClosedPipe).unwrap();
    assert!(matches!(
        agi.run(Answer),
        Err(AgiError::HungUp(HangupSource::BrokenPipe))
    ));
    let mut agi = StdioAgi::new(Cursor::new(&b"agi_request: x\n\n"[..]), io::sink()).unwrap();
    assert!(matches!(
        agi.run(Answer),
        Err(AgiError::HungUp(HangupSource::Eof))
    ));
}

#[test]
fn hangup_line_before_reply_then_reply() {
    let input = b"agi_request: x\n\nHANGUP\n200 result=-1\n511 Command Not Permitted on a dead channel or intercept routine\n";
    let mut agi = StdioAgi::new(Cursor::new(&input[..]), io::sink()).unwrap();
    assert!(matches!(
        agi.run(StreamFile::new("x", "")),
        Err(AgiError::Failed { .. })
    ));
    assert_eq!(agi.hangup(), Some(HangupSource::HangupLine));
    assert!(agi.run(Answer).unwrap_err().is_hangup());
}

#[test]
fn gosub_skips_100_trying() {
    let input = b"agi_request: x\n\n100 result=0 Trying...\n200 result=0 Gosub complete\n";
    let mut agi = StdioAgi::new(Cursor::new(&input[..]), io::sink()).unwrap();
    agi.run(Gosub::new("sub", "s", "1").argument("a,b"))
        .unwrap();
}

#[test]
fn session_core_survives_garbage() {
    let mut session: Session<Script<()>> = Session::new(Limits::new(128, 4096));
    let mut out = Vec::new();
    let mut tap = |_: Direction, _: &[u8]| {};
    let env = b"agi_network: yes\nagi_network_script: x\n\n";
    let p = session.handle_input(
        env,
        &mut out,
        |_| {
            let mut s = Script::new(());
            s.then(Noop::new(), |_, r| assert!(r.is_err()));
            s.then(Noop::new(), |_, r| assert!(r.is_err()));
            s.then(Noop::new(), |_, r| assert!(r.is_ok()));
            Some(s)
        },
        &mut tap,
    );
    assert_eq!((p.consumed, p.done), (env.len(), false));
    assert_eq!(out, b"NOOP\n");
    let mut data = b"garbage!\n".to_vec();
    data.extend(std::iter::repeat(b'z').take(1000));
    data.extend_from_slice(b"\n200 result=0\n");
    let p = session.handle_input(&data, &mut out, |_| None, &mut tap);
    assert_eq!(p.consumed, data.len());
    assert!(p.done);
    assert_eq!(out, b"NOOP\nNOOP\nNOOP\n");
}

fn arb_reply() -> impl Strategy<Value = (u16, String, Option<String>, Option<i64>)> {
    (
        prop_oneof![Just(100u16), Just(200u16), Just(503u16)],
        "-?[0-9]{1,6}|[0-9*#]{0,5}",
        proptest::option::of("[ -'*-~]{0,40}"),
        proptest::option::of(-1_000_000i64..1_000_000),
    )
}

proptest! {
    #[test]
    fn reply_parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_all(&data);
        let _ = Reply::parse(&data);
        let _ = Env::parse(&data);
        let mut framer = ReplyFramer::default();
        for n in 0..=data.len() {
            if let Ok(Parsed::Complete(k)) = framer.next_frame(&data[..n]) {
                prop_assert!(k <= n);
                let _ = ReplyFramer::frame(&data[..k]);
                break;
            }
        }
    }

    #[test]
    fn valid_replies_round_trip((code, result, data, endpos) in arb_reply()) {
        let mut line = format!("{code} result={result}");
        if let Some(d) = &data {
            line.push_str(&format!(" ({d})"));
        }
        if let Some(e) = endpos {
            line.push_str(&format!(" endpos={e}"));
        }
        line.push('\n');
        let r = Reply::parse(line.as_bytes()).unwrap();
        prop_assert_eq!(r.code, code);
        prop_assert_eq!(r.result, Some(result.as_bytes()));
        prop_assert_eq!(r.data, data.as_deref().map(str::as_bytes));
        prop_assert_eq!(r.endpos, endpos);
        let mut framer = ReplyFramer::default();
        prop_assert_eq!(framer.next_frame(line.as_bytes()).unwrap(), Parsed::Complete(line.len()));
        prop_assert!(matches!(ReplyFramer::frame(line.as_bytes()).unwrap(), Inbound::Reply(_)));
    }

    #[test]
    fn arguments_round_trip_through_quoting(v in "[ -~]{0,40}") {
        // Decode the way Asterisk splits arguments: quotes group, backslash escapes.
        let line = SetVariable::new("X", v.clone()).to_line().unwrap();
        let rest = line.strip_prefix("SET VARIABLE X ").unwrap();
        let mut out = String::new();
        let mut chars = rest.chars();
        prop_assert_eq!(chars.next(), Some('"'));
        let mut closed = false;
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.push(chars.next().unwrap()),
                '"' => { closed = true; break; }
                c => out.push(c),
            }
        }
        prop_assert!(closed);
        prop_assert_eq!(chars.next(), None);
        prop_assert_eq!(out, v);
    }
}
