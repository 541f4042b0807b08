//! Replays of the FastAGI / agi-bin recordings from Asterisk 22.10.1.

use asterisk_io::agi::codec::{parse_all, OwnedInbound};
use asterisk_io::agi::commands::*;
use asterisk_io::agi::{
    AgiError, ChannelState, Command, Env, HangupSource, Limits, Parsed, Playback, Reply,
    ReplyFramer, StdioAgi,
};
use std::io::Cursor;

const RX: &[u8] = include_bytes!("fixtures/agi/fastagi-session.bin");
const TX: &[u8] = include_bytes!("fixtures/agi/fastagi-session.tx.bin");
const SCRIPT_LOG: &str = include_str!("fixtures/agi/agi-script-log.txt");

fn env_len() -> usize {
    RX.windows(2).position(|w| w == b"\n\n").unwrap() + 2
}

#[test]
fn env_block_from_fastagi_recording() {
    let env = Env::parse(&RX[..env_len()]).unwrap();
    assert_eq!(env.len(), 24);
    assert!(env.is_network());
    assert_eq!(env.network_script(), Some("test"));
    assert_eq!(env.script_path(), "test");
    assert_eq!(env.request(), Some("agi://127.0.0.1:4573/test"));
    assert_eq!(env.channel(), Some("Local/agi-local@lab-00000012;2"));
    assert_eq!(env.unique_id(), Some("1795669149.40"));
    assert_eq!(env.caller_id(), Some("200"));
    assert_eq!(env.caller_id_name().as_deref(), Some("FastAGI"));
    assert_eq!(env.context(), Some("lab"));
    assert_eq!(env.extension(), Some("agi-local"));
    assert_eq!(env.priority(), Some(3));
    assert_eq!(env.account_code(), Some(""));
    assert!(!env.enhanced());
    assert_eq!(env.args(), vec!["arg1", "arg two"]);
    assert_eq!(env.arg(2), Some("arg two"));
    assert_eq!(env.get("agi_version"), Some("22.10.1"));
    assert_eq!(env.get("version"), Some("22.10.1"));
    assert_eq!(env.raw(), &RX[..env_len()]);
}

#[test]
fn env_incremental_at_every_split_and_bytewise() {
    let block = &RX[..env_len()];
    let whole = Env::parse(block).unwrap();
    for split in 0..block.len() {
        let mut p = asterisk_io::agi::codec::EnvParser::new(Limits::default());
        assert_eq!(p.parse(&block[..split]).unwrap(), Parsed::Partial);
        assert_eq!(p.parse(block).unwrap(), Parsed::Complete(block.len()));
        assert_eq!(p.take(block), whole);
    }
    let mut p = asterisk_io::agi::codec::EnvParser::new(Limits::default());
    for n in 1..=block.len() {
        let st = p.parse(&block[..n]).unwrap();
        if n < block.len() {
            assert_eq!(st, Parsed::Partial);
        } else {
            assert_eq!(st, Parsed::Complete(n));
        }
    }
}

#[test]
fn network_script_query_parsed() {
    let env = Env::parse(
        b"agi_network: yes\nagi_network_script: /ivr/main?lang=fr&name=a%20b&flag\nagi_request: agi://h/ivr/main?lang=fr\n\n",
    )
    .unwrap();
    assert_eq!(env.script_path(), "ivr/main");
    assert_eq!(env.query_string(), Some("lang=fr&name=a%20b&flag"));
    assert_eq!(
        env.query(),
        vec![
            ("lang".to_string(), "fr".to_string()),
            ("name".to_string(), "a b".to_string()),
            ("flag".to_string(), String::new())
        ]
    );
    assert_eq!(env.query_param("name").as_deref(), Some("a b"));
}

fn frames() -> Vec<OwnedInbound> {
    let (frames, used) = parse_all(&RX[env_len()..]);
    assert_eq!(used, RX.len() - env_len());
    frames.into_iter().map(Result::unwrap).collect()
}

fn tx_lines() -> Vec<&'static [u8]> {
    TX.split_inclusive(|&b| b == b'\n').collect()
}

#[test]
fn reply_frames_of_the_recording() {
    let f = frames();
    // 31 commands; HANGUP's reply is followed by the unsolicited HANGUP line.
    assert_eq!(tx_lines().len(), 31);
    assert_eq!(f.len(), 32);
    let hangup_at = f.iter().position(|x| *x == OwnedInbound::Hangup).unwrap();
    assert_eq!(hangup_at, 27);
    let usage = match &f[22] {
        OwnedInbound::Reply(r) => r.reply(),
        _ => panic!(),
    };
    assert_eq!(usage.code, 520);
    let text = String::from_utf8_lossy(usage.usage.unwrap());
    assert!(text.starts_with("Send the given file, allowing playback"));
    assert!(text.ends_with("<value>FAILED</value>"));
    assert!(!text.contains("520"));
}

#[test]
fn framing_identical_at_every_split_and_bytewise() {
    let data = &RX[env_len()..];
    let whole = frames();
    for split in 0..data.len() {
        let mut framer = ReplyFramer::default();
        let mut got = Vec::new();
        let mut pos = 0;
        let mut avail = split;
        loop {
            match framer.next_frame(&data[pos..avail]).unwrap() {
                Parsed::Complete(n) => {
                    got.push(n);
                    pos += n;
                }
                Parsed::Partial if avail < data.len() => avail = data.len(),
                Parsed::Partial => break,
            }
        }
        assert_eq!(got.len(), whole.len(), "split {split}");
    }
    // One byte at a time.
    let mut framer = ReplyFramer::default();
    let mut count = 0;
    let mut start = 0;
    for end in 1..=data.len() {
        if let Parsed::Complete(n) = framer.next_frame(&data[start..end]).unwrap() {
            assert_eq!(start + n, end);
            start = end;
            count += 1;
        }
    }
    assert_eq!(count, whole.len());
}

/// Run the recorded session through the stdio transport with typed commands:
/// the bytes written must equal what the recording server sent, and every
/// typed result must match what Asterisk answered.
#[test]
fn stdio_replay_typed_results_and_exact_commands() {
    let mut out = Vec::new();
    {
        let mut agi = StdioAgi::new(Cursor::new(RX), &mut out).unwrap();
        assert_eq!(agi.env().channel(), Some("Local/agi-local@lab-00000012;2"));
        agi.run(Answer).unwrap();
        assert_eq!(
            agi.run(GetVariable::new("CHANNEL")).unwrap().as_deref(),
            Some("Local/agi-local@lab-00000012;2")
        );
        assert_eq!(
            agi.run(GetVariable::new("LABVAR")).unwrap().as_deref(),
            Some("fast-agi-value")
        );
        assert_eq!(agi.run(GetVariable::new("NOSUCHVAR")).unwrap(), None);
        assert_eq!(
            agi.run(GetFullVariable::new(
                "${LABVAR}|${CHANNEL(state)}|${CALLERID(num)}"
            ))
            .unwrap()
            .as_deref(),
            Some("fast-agi-value|Up|200")
        );
        agi.run(SetVariable::new("FASTVAR", "value with spaces"))
            .unwrap();
        assert_eq!(
            agi.run(GetVariable::new("FASTVAR")).unwrap().as_deref(),
            Some("value with spaces")
        );
        assert_eq!(
            agi.run(StreamFile::new("demo-congrats", "0123456789*#"))
                .unwrap(),
            Playback {
                digit: Some('5'),
                endpos: Some(17760)
            }
        );
        assert_eq!(
            agi.run(StreamFile::new("beep", "")).unwrap(),
            Playback {
                digit: None,
                endpos: Some(3520)
            }
        );
        match agi.run(StreamFile::new("no-such-sound-file", "")) {
            Err(AgiError::Failed { result: -1, .. }) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(agi.run(SayNumber::new(42, "")).unwrap(), None);
        assert_eq!(agi.run(SayDigits::new("123", "#")).unwrap(), None);
        assert!(agi
            .run(DatabasePut::new("lab", "agikey", "agi value"))
            .unwrap());
        assert_eq!(
            agi.run(DatabaseGet::new("lab", "agikey"))
                .unwrap()
                .as_deref(),
            Some("agi value")
        );
        assert_eq!(
            agi.run(DatabaseGet::new("lab", "missingkey")).unwrap(),
            None
        );
        assert!(agi.run(DatabaseDel::new("lab", "agikey")).unwrap());
        assert_eq!(
            agi.run(Exec::new("Verbose", "1,hello from exec")).unwrap(),
            0
        );
        match agi.run(Exec::new("NoSuchApplication", "foo")) {
            Err(AgiError::Failed { result: -2, .. }) => {}
            other => panic!("{other:?}"),
        }
        agi.run(Verbose::new("a verbose message", 1)).unwrap();
        agi.run(Noop::text("noop text")).unwrap();
        assert_eq!(agi.run(WaitForDigit::new(100)).unwrap(), None);
        assert!(matches!(
            agi.run(RawCommand::new("FOO BAR")),
            Err(AgiError::InvalidCommand)
        ));
        match agi.run(RawCommand::new("STREAM FILE")) {
            Err(AgiError::Usage { usage }) => {
                assert!(usage.starts_with("Send the given file"));
                assert!(usage.contains("PLAYBACKSTATUS"));
            }
            other => panic!("{other:?}"),
        }
        match agi.run(RawCommand::new("SAY NUMBER")) {
            Err(AgiError::Usage { usage }) => assert!(usage.starts_with("Say a given number")),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            agi.run(ChannelStatus::new()).unwrap(),
            Some(ChannelState::Up)
        );
        assert_eq!(
            agi.run(ChannelStatus::of("Local/nosuch@lab-00000000;1"))
                .unwrap(),
            None
        );
        agi.run(Hangup::new()).unwrap();
        assert_eq!(agi.hangup(), None);
        // The HANGUP line arrives before the next reply.
        match agi.run(Answer) {
            Err(AgiError::HungUp(HangupSource::DeadChannel)) => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(agi.hangup(), Some(HangupSource::HangupLine));
        assert!(agi
            .run(StreamFile::new("beep", ""))
            .unwrap_err()
            .is_hangup());
        // GET VARIABLE still works on the dead channel.
        assert_eq!(
            agi.run(GetVariable::new("CHANNEL")).unwrap().as_deref(),
            Some("Local/agi-local@lab-00000012;2")
        );
        assert!(matches!(
            agi.run(ChannelStatus::new()),
            Err(AgiError::HungUp(HangupSource::DeadChannel))
        ));
        // The recording ends here: EOF is a hangup, not a panic.
        assert!(matches!(
            agi.run(Noop::new()),
            Err(AgiError::HungUp(HangupSource::Eof))
        ));
    }
    // Everything but the final NOOP matches the recording byte for byte,
    // except that the recorded server quoted GET FULL VARIABLE's argument
    // (so do we) -- i.e. all of it.
    assert_eq!(&out[..TX.len()], TX);
    assert_eq!(&out[TX.len()..], b"NOOP\n");
}

#[test]
fn agi_script_log_replay() {
    let mut env = String::new();
    let mut cmds = Vec::new();
    for line in SCRIPT_LOG.lines() {
        if let Some(e) = line.strip_prefix("ENV: ") {
            env.push_str(e);
            env.push('\n');
        } else if let Some(c) = line.strip_prefix("CMD: ") {
            let (cmd, reply) = c.split_once(" -> ").unwrap();
            cmds.push((cmd.to_string(), format!("{reply}\n")));
        }
    }
    env.push('\n');
    let env = Env::parse(env.as_bytes()).unwrap();
    assert!(!env.is_network());
    assert_eq!(env.request(), Some("lab-test.sh"));
    assert_eq!(env.script_path(), "");
    assert_eq!(env.args(), vec!["scriptarg"]);
    assert_eq!(env.get("agi_callingpres"), Some("67"));
    assert_eq!(Answer.to_line().unwrap(), cmds[0].0);
    assert_eq!(Verbose::new("hello", 1).to_line().unwrap(), cmds[1].0);
    assert_eq!(GetVariable::new("CHANNEL").to_line().unwrap(), cmds[2].0);
    Answer
        .parse_reply(&Reply::parse(cmds[0].1.as_bytes()).unwrap())
        .unwrap();
    Verbose::new("hello", 1)
        .parse_reply(&Reply::parse(cmds[1].1.as_bytes()).unwrap())
        .unwrap();
    assert_eq!(
        GetVariable::new("CHANNEL")
            .parse_reply(&Reply::parse(cmds[2].1.as_bytes()).unwrap())
            .unwrap()
            .as_deref(),
        Some("Local/agi-script@lab-0000000e;2")
    );
}
