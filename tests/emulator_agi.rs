//! The AGI side of the emulator: `emu::agi::FakeAgiClient` calls the crate's
//! own FastAGI `Server`, both in one `Driver`, answering from rules, hanging
//! up, and replaying a real Asterisk 22 FastAGI capture.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use asterisk_io::agi::commands::*;
use asterisk_io::agi::{Env, Script, Server};
use asterisk_io::driver::{Driver, Handle};
use asterisk_io::emu::agi::{
    AgiCallConfig, AgiRecording, AgiRules, FakeAgiClient, Turn, DEAD_CHANNEL_REPLY,
};
use asterisk_io::emu::transcript::Transcript;

const T: Duration = Duration::from_secs(3);

type Log = Rc<RefCell<Vec<String>>>;

/// A script that answers, reads a variable, plays a file and hangs up,
/// logging each result.
fn ivr(log: &Log) -> impl FnMut(&Env) -> Script<()> + 'static {
    let log = log.clone();
    move |env: &Env| {
        log.borrow_mut().push(format!(
            "env callerid={:?} arg1={:?}",
            env.caller_id(),
            env.arg(1)
        ));
        let mut s = Script::new(());
        let l = log.clone();
        s.then(Answer, move |_, r| {
            l.borrow_mut().push(format!("answer {r:?}"))
        });
        let l = log.clone();
        s.then(GetVariable::new("COLOR"), move |_, r| {
            l.borrow_mut().push(format!("color {r:?}"))
        });
        let l = log.clone();
        s.then(StreamFile::new("beep", ""), move |_, r| {
            l.borrow_mut().push(format!("stream {}", r.is_ok()))
        });
        let l = log.clone();
        s.then(Hangup::new(), move |_, r| {
            l.borrow_mut().push(format!("hangup {}", r.is_ok()))
        });
        s
    }
}

fn run(config: AgiCallConfig, log: &Log) -> (Driver, Handle<FakeAgiClient>) {
    let mut driver = Driver::new().unwrap();
    let mut server = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    server.route("ivr", ivr(log));
    let addr = server.local_addr().unwrap();
    driver.add(server).unwrap();
    let call = driver
        .add(FakeAgiClient::connect(addr, config).unwrap())
        .unwrap();
    let done = driver.run_until(T, |d| d.get(call).is_finished()).unwrap();
    assert!(done, "{}", driver.get(call).agi().conversation_text());
    (driver, call)
}

#[test]
fn rules_answer_the_servers_commands_in_one_loop() {
    let rules = AgiRules::parse(
        "agi_callerid: 4105551234\n\n\
         GET VARIABLE => 200 result=1 (blue)\n\
         STREAM FILE => 200 result=0 endpos=8000\n\
         HANGUP => 200 result=1\\nHANGUP\n",
    )
    .unwrap();
    let log = Log::default();
    let config = AgiCallConfig::new().script("ivr").arg("first").rules(rules);
    let (driver, call) = run(config, &log);
    let agi = driver.get(call).agi();
    assert_eq!(
        agi.commands(),
        [
            "ANSWER",
            "GET VARIABLE COLOR",
            "STREAM FILE beep \"\"",
            "HANGUP"
        ]
    );
    assert_eq!(
        *log.borrow(),
        [
            "env callerid=Some(\"4105551234\") arg1=Some(\"first\")",
            "answer Ok(())",
            "color Ok(Some(\"blue\"))",
            "stream true",
            "hangup true",
        ]
    );
    let text = agi.conversation_text();
    assert!(
        text.starts_with("AST> agi_network: yes\nAST> agi_network_script: ivr\n"),
        "{text}"
    );
    assert!(
        text.contains("AGI> HANGUP\nAST> 200 result=1\nAST> HANGUP\n"),
        "{text}"
    );
    assert!(driver.get(call).error().is_none());
}

#[test]
fn a_hangup_mid_call_gives_511_and_the_script_sees_it() {
    let log = Log::default();
    let config = AgiCallConfig::new().script("ivr").hangup_after(1);
    let (driver, call) = run(config, &log);
    let agi = driver.get(call).agi();
    let conv = agi.conversation();
    let hang = conv.iter().position(|t| *t == Turn::Hangup).unwrap();
    assert_eq!(conv[hang - 2], Turn::Command("ANSWER".into()));
    // The next command met a dead channel.
    assert_eq!(conv[hang + 1], Turn::Command("GET VARIABLE COLOR".into()));
    assert!(agi.is_dead());
    // GET VARIABLE still works on a dead channel; the others fail.
    assert_eq!(
        *log.borrow(),
        [
            "env callerid=Some(\"4105551234\") arg1=None",
            "answer Ok(())",
            "color Ok(None)",
            "stream false",
            "hangup false",
        ]
    );
    assert!(agi.conversation_text().contains(&format!(
        "AGI> STREAM FILE beep \"\"\nAST> {DEAD_CHANNEL_REPLY}\n"
    )));
}

#[test]
fn the_call_can_hang_up_at_any_point_from_the_test() {
    let log = Log::default();
    let mut driver = Driver::new().unwrap();
    let mut server = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    server.route("ivr", ivr(&log));
    let addr = server.local_addr().unwrap();
    driver.add(server).unwrap();
    let mut client = FakeAgiClient::connect(addr, AgiCallConfig::new().script("ivr")).unwrap();
    // Hung up before the first command: HANGUP follows the environment.
    client.agi_mut().hang_up();
    let call = driver.add(client).unwrap();
    let done = driver.run_until(T, |d| d.get(call).is_finished()).unwrap();
    assert!(done, "{}", driver.get(call).agi().conversation_text());
    let agi = driver.get(call).agi();
    assert!(matches!(
        agi.conversation()[..2],
        [Turn::Env(_), Turn::Hangup]
    ));
    // Whatever the script still sent met a dead channel (GET VARIABLE aside).
    for pair in agi.conversation()[2..].chunks(2) {
        if let [Turn::Command(c), Turn::Reply(r)] = pair {
            if !c.starts_with("GET VARIABLE") {
                assert_eq!(r, format!("{DEAD_CHANNEL_REPLY}\n").as_bytes(), "{c}");
            }
        }
    }
    assert!(
        !log.borrow().iter().any(|l| l == "answer Ok(())"),
        "{:?}",
        log.borrow()
    );
}

#[test]
fn a_recorded_asterisk_session_answers_the_script() {
    let capture = include_str!("fixtures/agi/fastagi-session.txt");
    let rec = AgiRecording::from_transcript(&Transcript::from_capture(capture).unwrap());
    assert_eq!(rec.env[0], ("agi_network".to_owned(), "yes".to_owned()));
    assert!(rec.steps.iter().any(|(c, _)| c == "FOO BAR"));
    let log = Log::default();
    let mut driver = Driver::new().unwrap();
    let mut server = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    // The recorded call's script path is `test`.
    server.route("test", {
        let log = log.clone();
        move |env: &Env| {
            log.borrow_mut().push(format!("arg2={:?}", env.arg(2)));
            let mut s = Script::new(());
            let l = log.clone();
            s.then(GetVariable::new("CHANNEL"), move |_, r| {
                l.borrow_mut().push(format!("channel {r:?}"))
            });
            let l = log.clone();
            s.then(Answer, move |_, r| {
                l.borrow_mut().push(format!("answer {r:?}"))
            });
            s.run(Hangup::new());
            s
        }
    });
    let addr = server.local_addr().unwrap();
    driver.add(server).unwrap();
    let call = driver
        .add(FakeAgiClient::connect(addr, AgiCallConfig::new().recording(rec)).unwrap())
        .unwrap();
    let done = driver.run_until(T, |d| d.get(call).is_finished()).unwrap();
    assert!(done, "{}", driver.get(call).agi().conversation_text());
    let agi = driver.get(call).agi();
    assert!(agi.mismatches().is_empty(), "{:?}", agi.mismatches());
    assert_eq!(
        *log.borrow(),
        [
            "arg2=Some(\"arg two\")",
            "channel Ok(Some(\"Local/agi-local@lab-00000012;2\"))",
            "answer Ok(())",
        ]
    );
    // The recorded bytes went out as they were: the env block first.
    let Turn::Env(env) = &agi.conversation()[0] else {
        panic!()
    };
    let bin = include_bytes!("fixtures/agi/fastagi-session.bin");
    assert_eq!(&bin[..env.len()], &env[..]);
    // HANGUP got the recorded reply and the unsolicited HANGUP line.
    assert!(agi
        .conversation_text()
        .ends_with("AGI> HANGUP\nAST> 200 result=1\nAST> HANGUP\n"));
}

#[test]
fn a_fastagi_call_recorded_through_the_proxy_replays() {
    use asterisk_io::emu::record::RecordingProxy;
    // Record: fake Asterisk (rules) -> recording proxy -> FastAGI server.
    let log = Log::default();
    let mut driver = Driver::new().unwrap();
    let mut server = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    server.route("ivr", ivr(&log));
    let upstream = server.local_addr().unwrap();
    driver.add(server).unwrap();
    let proxy = driver
        .add(RecordingProxy::bind("127.0.0.1:0".parse().unwrap(), upstream, Vec::new()).unwrap())
        .unwrap();
    let paddr = driver.get(proxy).local_addr().unwrap();
    let rules = AgiRules::default()
        .rule("GET VARIABLE", "200 result=1 (green)")
        .rule("HANGUP", "200 result=1\nHANGUP");
    let call = driver
        .add(
            FakeAgiClient::connect(paddr, AgiCallConfig::new().script("ivr").rules(rules)).unwrap(),
        )
        .unwrap();
    assert!(driver.run_until(T, |d| d.get(call).is_finished()).unwrap());
    let first = driver.get(call).agi().conversation().to_vec();
    assert!(driver.run_until(T, |d| d.get(proxy).active() == 0).unwrap());
    let file = driver.remove(proxy).unwrap().into_writer().unwrap();
    let text = String::from_utf8(file.clone()).unwrap();
    assert!(text.contains(" >> agi_network: yes\\n"), "{text}");
    assert!(text.contains(" << GET VARIABLE COLOR\\n"), "{text}");

    // Replay: the recording answers the same script the same way.
    let rec = AgiRecording::from_transcript(&Transcript::parse(&file).unwrap());
    assert_eq!(rec.steps.len(), 4, "{rec:?}");
    let mut server = Server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let log2 = Log::default();
    server.route("ivr", ivr(&log2));
    let addr = server.local_addr().unwrap();
    driver.add(server).unwrap();
    let call = driver
        .add(FakeAgiClient::connect(addr, AgiCallConfig::new().recording(rec)).unwrap())
        .unwrap();
    assert!(driver.run_until(T, |d| d.get(call).is_finished()).unwrap());
    assert_eq!(driver.get(call).agi().conversation(), &first[..]);
    assert_eq!(*log2.borrow(), *log.borrow());
    assert!(log
        .borrow()
        .contains(&"color Ok(Some(\"green\"))".to_owned()));
}

mod props {
    use asterisk_io::emu::agi::{AgiCallConfig, AgiRecording, AgiRules, FakeAgi};
    use asterisk_io::emu::transcript::Transcript;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn rules_and_calls_take_any_input(
            rules in "[ -~\n]{0,300}",
            input in proptest::collection::vec(any::<u8>(), 0..400),
            cut in 0usize..400,
        ) {
            let parsed = AgiRules::parse_all(&rules);
            if let Ok(r) = &parsed {
                let _ = r.reply_for(&rules);
            } else if let Err(errors) = &parsed {
                prop_assert!(errors.iter().all(|e| e.line >= 1 && e.line <= rules.lines().count()));
            }
            let config = match parsed {
                Ok(r) => AgiCallConfig::new().rules(r).hangup_after(2),
                Err(_) => AgiCallConfig::new(),
            };
            let mut whole = FakeAgi::new(config.clone());
            whole.handle_input(&input);
            let mut split = FakeAgi::new(config);
            let cut = cut.min(input.len());
            split.handle_input(&input[..cut]);
            split.handle_input(&input[cut..]);
            prop_assert_eq!(whole.output(), split.output());
            prop_assert_eq!(whole.conversation(), split.conversation());
        }

        #[test]
        fn recordings_read_from_any_transcript(text in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(t) = Transcript::parse(&text) {
                let rec = AgiRecording::from_transcript(&t);
                let mut call = FakeAgi::new(AgiCallConfig::new().recording(rec));
                call.handle_input(&text);
            }
        }
    }
}
