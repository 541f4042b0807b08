//! The AGI codec: reply values that hold parentheses, oversized multi-line
//! blocks skipped whole by every layer above the framer, and the skip logic
//! under arbitrary garbage at any split.

use asterisk_io::agi::codec::Reply;
use asterisk_io::agi::commands::SpeechRecognize;
use asterisk_io::agi::Command;

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
    let res = SpeechRecognize::new("prompt", std::time::Duration::from_secs(5))
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

// --- Oversized multi-line blocks -----------------------------------------------

mod oversized_block {
    use asterisk_io::agi::codec::{parse_all, OwnedInbound};
    use asterisk_io::agi::commands::*;
    use asterisk_io::agi::session::{Direction, Session};
    use asterisk_io::agi::{AgiError, Limits, Script, StdioAgi};
    use std::cell::RefCell;
    use std::rc::Rc;

    const LIMITS: Limits = Limits::new(128, 512);

    /// A `520-` usage block bigger than `max_block`, then the replies to the
    /// next two commands.
    fn replies() -> Vec<u8> {
        let mut b = b"520-Invalid command syntax.  Proper usage follows:\n".to_vec();
        for i in 0..20 {
            b.extend_from_slice(format!("usage line {i}: 520 lookalike text here\n").as_bytes());
        }
        b.extend_from_slice(b"520 End of proper usage.\n200 result=1 (x)\n200 result=1 (y)\n");
        b
    }

    fn script(log: Rc<RefCell<Vec<String>>>) -> Script<()> {
        let mut s = Script::new(());
        let (a, b, c) = (log.clone(), log.clone(), log);
        s.then(RawCommand::new("STREAM FILE"), move |_, r| {
            a.borrow_mut().push(format!("{:?}", r.map(drop)))
        });
        s.then(GetVariable::new("X"), move |_, r| {
            b.borrow_mut().push(format!("{r:?}"))
        });
        s.then(GetVariable::new("Y"), move |_, r| {
            c.borrow_mut().push(format!("{r:?}"))
        });
        s
    }

    const EXPECT: [&str; 3] = [
        "Err(LineTooLong { limit: 512 })",
        "Ok(Some(\"x\"))",
        "Ok(Some(\"y\"))",
    ];

    /// Before: only the block's first line was skipped, and each usage line
    /// became the "reply" to the next command (GET VARIABLE X got a protocol
    /// error, GET VARIABLE Y too, and the real replies went to later ones).
    #[test]
    fn session_skips_the_whole_block_at_every_split() {
        for step in [usize::MAX, 1, 3, 7] {
            let log = Rc::new(RefCell::new(Vec::new()));
            let mut sess: Session<Script<()>> = Session::new(LIMITS);
            let mut out = Vec::new();
            let mut tap = |_: Direction, _: &[u8]| {};
            let mut wire = b"agi_network: yes\n\n".to_vec();
            wire.extend_from_slice(&replies());
            let mut pending: Vec<u8> = Vec::new();
            for chunk in wire.chunks(step.min(wire.len())) {
                pending.extend_from_slice(chunk);
                // The route runs once, when the environment is complete.
                let l = log.clone();
                let p = sess.handle_input(&pending, &mut out, |_| Some(script(l)), &mut tap);
                pending.drain(..p.consumed);
            }
            assert!(sess.is_done(), "step {step}");
            let log = log.borrow();
            assert!(
                log[0].starts_with("Err(LineTooLong"),
                "step {step}: {log:?}"
            );
            assert_eq!(log[1..], EXPECT[1..], "step {step}");
        }
    }

    #[test]
    fn stdio_skips_the_whole_block() {
        let mut rx = b"agi_network: yes\n\n".to_vec();
        rx.extend_from_slice(&replies());
        let mut agi = StdioAgi::with_limits(std::io::Cursor::new(rx), Vec::new(), LIMITS).unwrap();
        assert!(matches!(
            agi.run(RawCommand::new("STREAM FILE")),
            Err(AgiError::LineTooLong { limit: 512 })
        ));
        assert_eq!(
            agi.run(GetVariable::new("X")).unwrap().as_deref(),
            Some("x")
        );
        assert_eq!(
            agi.run(GetVariable::new("Y")).unwrap().as_deref(),
            Some("y")
        );
    }

    #[test]
    fn parse_all_reports_one_error_for_the_block() {
        let mut wire = b"200 result=0\n".to_vec();
        let block = replies();
        // parse_all uses the default limits: make the block exceed 64 KiB.
        let mut big = b"520-Invalid command syntax.  Proper usage follows:\n".to_vec();
        while big.len() < 70 * 1024 {
            big.extend_from_slice(b"usage usage usage usage usage usage usage usage\n");
        }
        big.extend_from_slice(&block[block.len() - 60..]);
        wire.extend_from_slice(&big);
        let (frames, used) = parse_all(&wire);
        assert_eq!(used, wire.len());
        let kinds: Vec<String> = frames
            .iter()
            .map(|f| match f {
                Ok(OwnedInbound::Reply(r)) => {
                    String::from_utf8_lossy(r.reply().line()).into_owned()
                }
                Ok(OwnedInbound::Hangup) => "HANGUP".into(),
                Err(e) => format!("{e:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "200 result=0",
                "LineTooLong { limit: 65536 }",
                "200 result=1 (x)",
                "200 result=1 (y)"
            ]
        );
    }

    /// The framer reports the limit that was exceeded whether the block
    /// arrives at once or in pieces (the partial path read the mode after
    /// resetting it and always said `max_line`).
    #[test]
    fn framer_reports_the_block_limit_at_every_split() {
        use asterisk_io::agi::codec::{Parsed, ReplyFramer};
        let wire = replies();
        for step in [1, 2, 5, 64, usize::MAX] {
            let mut framer = ReplyFramer::new(LIMITS);
            let mut got = None;
            let mut have = 0;
            while got.is_none() {
                have = (have + step.min(wire.len())).min(wire.len());
                match framer.next_frame(&wire[..have]) {
                    Ok(Parsed::Partial) => assert!(have < wire.len()),
                    Ok(Parsed::Complete(n)) => panic!("frame of {n} bytes"),
                    Err(e) => got = Some(e),
                }
            }
            assert!(
                matches!(got, Some(AgiError::LineTooLong { limit: 512 })),
                "step {step}: {got:?}"
            );
        }
    }
}

// --- The skip logic never panics and never loses sync on valid replies ----------

mod skip_props {
    use asterisk_io::agi::commands::Noop;
    use asterisk_io::agi::session::{Direction, Session};
    use asterisk_io::agi::{Limits, Script};
    use proptest::prelude::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    fn garbage_line() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop::sample::select(vec![b'5', b'2', b'0', b'-', b' ', b'x', b'\n', b'\r']),
            0..200,
        )
    }

    proptest! {
        /// Garbage (including oversized `520-` blocks) followed by a
        /// terminated block and one good reply, fed at any split: no panic,
        /// every command gets at most one answer, memory stays bounded.
        #[test]
        fn any_split_any_garbage(
            junk in garbage_line(),
            step in 1usize..40,
        ) {
            let limits = Limits::new(32, 96);
            let answers = Rc::new(RefCell::new(0usize));
            let mut sess: Session<Script<()>> = Session::new(limits);
            let mut out = Vec::new();
            let mut tap = |_: Direction, _: &[u8]| {};
            let mut wire = b"agi_network: yes\n\n".to_vec();
            wire.extend_from_slice(&junk);
            wire.extend_from_slice(b"\n520 End of proper usage.\n200 result=0\n");
            let mut pending = Vec::new();
            for chunk in wire.chunks(step) {
                pending.extend_from_slice(chunk);
                let a = answers.clone();
                let p = sess.handle_input(&pending, &mut out, move |_| {
                    let mut s = Script::new(());
                    for _ in 0..1000 {
                        let a = a.clone();
                        s.then(Noop::new(), move |_, _| *a.borrow_mut() += 1);
                    }
                    Some(s)
                }, &mut tap);
                prop_assert!(p.consumed <= pending.len());
                pending.drain(..p.consumed);
                // Bounded by the block limit plus one read.
                prop_assert!(pending.len() <= 96 + 40, "kept {} bytes", pending.len());
            }
            let sent = out.iter().filter(|&&b| b == b'\n').count();
            prop_assert!(*answers.borrow() <= sent);
        }
    }
}
