//! The sans-IO session core and Script, stepped in memory against the
//! recording; plus the debugging aids (trace, reporter).

use asterisk_io::agi::commands::*;
use asterisk_io::agi::debug::{Reporter, MAX_VERBOSE_CHUNK};
use asterisk_io::agi::session::{Direction, Session};
use asterisk_io::agi::{AgiError, Command, Limits, Script, WireTrace};
use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

const RX: &[u8] = include_bytes!("fixtures/agi/fastagi-session.bin");
const TX: &[u8] = include_bytes!("fixtures/agi/fastagi-session.tx.bin");

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

/// The recorded session as a Script (logging every typed result).
fn recorded_script(log: Log) -> Script<Log> {
    let mut s = Script::new(log);
    logged(&mut s, Answer);
    logged(&mut s, GetVariable::new("CHANNEL"));
    logged(&mut s, GetVariable::new("LABVAR"));
    logged(&mut s, GetVariable::new("NOSUCHVAR"));
    logged(
        &mut s,
        GetFullVariable::new("${LABVAR}|${CHANNEL(state)}|${CALLERID(num)}"),
    );
    logged(&mut s, SetVariable::new("FASTVAR", "value with spaces"));
    logged(&mut s, GetVariable::new("FASTVAR"));
    logged(&mut s, StreamFile::new("demo-congrats", "0123456789*#"));
    logged(&mut s, StreamFile::new("beep", ""));
    logged(&mut s, StreamFile::new("no-such-sound-file", ""));
    logged(&mut s, SayNumber::new(42, ""));
    logged(&mut s, SayDigits::new("123", "#"));
    logged(&mut s, DatabasePut::new("lab", "agikey", "agi value"));
    logged(&mut s, DatabaseGet::new("lab", "agikey"));
    logged(&mut s, DatabaseGet::new("lab", "missingkey"));
    logged(&mut s, DatabaseDel::new("lab", "agikey"));
    logged(&mut s, Exec::new("Verbose", "1,hello from exec"));
    logged(&mut s, Exec::new("NoSuchApplication", "foo"));
    logged(&mut s, Verbose::new("a verbose message", 1));
    logged(&mut s, Noop::text("noop text"));
    logged(&mut s, WaitForDigit::new(100));
    logged(&mut s, RawCommand::new("FOO BAR"));
    logged(&mut s, RawCommand::new("STREAM FILE"));
    logged(&mut s, RawCommand::new("SAY NUMBER"));
    logged(&mut s, ChannelStatus::new());
    logged(&mut s, ChannelStatus::of("Local/nosuch@lab-00000000;1"));
    logged(&mut s, Hangup::new());
    logged(&mut s, Answer);
    logged(&mut s, StreamFile::new("beep", ""));
    logged(&mut s, GetVariable::new("CHANNEL"));
    logged(&mut s, ChannelStatus::new());
    s
}

/// Feed the recording in chunks of `chunk` bytes; returns output and log.
fn drive(chunk: usize) -> (Vec<u8>, Vec<String>, bool) {
    let log: Log = Rc::default();
    let mut session: Session<Script<Log>> = Session::new(Limits::default());
    let mut out = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut tap = |_: Direction, _: &[u8]| {};
    let mut done = false;
    for piece in RX.chunks(chunk) {
        pending.extend_from_slice(piece);
        let l = log.clone();
        let p = session.handle_input(
            &pending,
            &mut out,
            move |env| {
                assert_eq!(env.script_path(), "test");
                Some(recorded_script(l))
            },
            &mut tap,
        );
        pending.drain(..p.consumed);
        done = p.done;
    }
    let log = log.borrow().clone();
    (out, log, done)
}

#[test]
fn script_replays_recording_at_any_chunking() {
    let (out, log, done) = drive(RX.len());
    assert_eq!(out, TX);
    assert!(done, "queue empty after the last reply: session over");
    assert_eq!(log.len(), 31);
    assert_eq!(log[0], "Ok(())");
    assert_eq!(log[3], "Ok(None)");
    assert!(log[9].starts_with("Err(Failed { result: -1"));
    assert!(log[17].starts_with("Err(Failed { result: -2"));
    assert_eq!(log[21], "Err(InvalidCommand)");
    assert!(log[22].starts_with("Err(Usage"));
    assert_eq!(log[24], "Ok(Some(Up))");
    assert_eq!(log[25], "Ok(None)");
    assert_eq!(log[27], "Err(HungUp(DeadChannel))");
    assert_eq!(log[29], "Ok(Some(\"Local/agi-local@lab-00000012;2\"))");
    for chunk in [1, 2, 3, 7, 64, 333] {
        let (o, l, d) = drive(chunk);
        assert_eq!((o.as_slice(), &l, d), (TX, &log, true), "chunk {chunk}");
    }
}

#[test]
fn fire_and_forget_error_stops_script_and_on_end_sees_it() {
    let seen: Rc<RefCell<Option<String>>> = Rc::default();
    let s2 = seen.clone();
    let mut session: Session<Script<()>> = Session::default();
    let mut out = Vec::new();
    let mut tap = |_: Direction, _: &[u8]| {};
    let input = b"agi_network_script: x\n\n510 Invalid or unknown command\n";
    let p = session.handle_input(
        input,
        &mut out,
        move |_| {
            let mut s = Script::new(());
            s.run(RawCommand::new("BOGUS"));
            s.run(Answer);
            s.on_end(move |_, e| *s2.borrow_mut() = e.map(|e| e.to_string()));
            Some(s)
        },
        &mut tap,
    );
    assert!(p.done);
    assert_eq!(out, b"BOGUS\n");
    assert_eq!(
        seen.borrow().as_deref(),
        Some(AgiError::InvalidCommand.to_string().as_str())
    );
}

#[test]
fn callbacks_insert_commands_before_the_rest() {
    let mut session: Session<Script<()>> = Session::default();
    let mut out = Vec::new();
    let mut tap = |_: Direction, _: &[u8]| {};
    let p = session.handle_input(
        b"agi_network_script: x\n\n",
        &mut out,
        |_| {
            let mut s = Script::new(());
            s.then(GetVariable::new("A"), |s, r| {
                assert_eq!(r.unwrap().as_deref(), Some("1"));
                s.run(Noop::text("first"));
                s.run(Noop::text("second"));
            });
            s.run(Hangup::new());
            Some(s)
        },
        &mut tap,
    );
    assert!(!p.done);
    for reply in [
        &b"200 result=1 (1)\n"[..],
        b"200 result=0\n",
        b"200 result=0\n",
    ] {
        session.handle_input(reply, &mut out, |_| None, &mut tap);
    }
    assert_eq!(
        String::from_utf8(out.clone()).unwrap(),
        "GET VARIABLE A\nNOOP \"first\"\nNOOP \"second\"\nHANGUP\n"
    );
    let p = session.handle_input(b"200 result=1\n", &mut out, |_| None, &mut tap);
    assert!(p.done);
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);
impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn wire_trace_records_and_switches() {
    let buf = Shared::default();
    let mut t = WireTrace::new(buf.clone());
    t.record(7, Direction::Out, b"ANSWER\n");
    t.record(
        7,
        Direction::In,
        b"520-Invalid\nusage\n520 End of proper usage.\n",
    );
    let sw = t.switch();
    sw.set(false);
    t.record(7, Direction::Out, b"HIDDEN\n");
    sw.set(true);
    t.record(7, Direction::In, b"200 result=0\n");
    let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5);
    assert!(lines[0].ends_with(" #7 >> ANSWER"));
    assert!(lines[3].ends_with(" #7 << 520 End of proper usage."));
    assert!(!text.contains("HIDDEN"));
    let ts: f64 = lines[0].split(' ').next().unwrap().parse().unwrap();
    assert!(ts >= 0.0);
}

#[derive(Debug)]
struct Outer(AgiError);
impl std::fmt::Display for Outer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("could not play the menu")
    }
}
impl std::error::Error for Outer {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn reporter_formats_chain_and_splits_verbose_lines() {
    let dir = std::env::temp_dir().join(format!("agi-report-test-{}", std::process::id()));
    let rep = Reporter::new()
        .verbose_level(2)
        .log_dir(&dir)
        .prefix("myscript");
    let err = Outer(AgiError::InvalidCommand);
    let text = rep.format_error(&err);
    assert!(text.starts_with(
        "error: could not play the menu\n  cause 1: invalid or unknown AGI command (510)\n"
    ));
    assert!(text.contains("backtrace:"));
    let long = format!("{}\nsecond\tline", "é".repeat(MAX_VERBOSE_CHUNK));
    let cmds = rep.verbose_commands(&long);
    assert_eq!(cmds.len(), 3);
    for c in &cmds {
        assert_eq!(c.level, 2);
        assert!(c.message.starts_with("myscript: "));
        assert!(c.message.len() <= MAX_VERBOSE_CHUNK + 20);
        assert!(c.to_line().is_ok());
    }
    assert_eq!(cmds[2].message, "myscript: second line");
    let path = rep.write_file(&text).unwrap().unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    std::fs::remove_dir_all(&dir).unwrap();
    let mut out = Vec::new();
    Reporter::new()
        .backtrace(false)
        .write_verbose_lines("boom\nbang", &mut out)
        .unwrap();
    assert_eq!(out, b"VERBOSE \"AGI: boom\" 1\nVERBOSE \"AGI: bang\" 1\n");
}

#[test]
fn reporter_queues_verbose_lines_in_a_script() {
    let mut session: Session<Script<()>> = Session::default();
    let mut out = Vec::new();
    let mut tap = |_: Direction, _: &[u8]| {};
    session.handle_input(
        b"agi_network_script: x\n\n",
        &mut out,
        |_| {
            let mut s = Script::new(());
            s.then(RawCommand::new("FOO"), |s, r| {
                if let Err(e) = r {
                    Reporter::new().backtrace(false).queue_report(s, &e);
                }
            });
            s.run(Hangup::new());
            Some(s)
        },
        &mut tap,
    );
    session.handle_input(
        b"510 Invalid or unknown command\n",
        &mut out,
        |_| None,
        &mut tap,
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "FOO\nVERBOSE \"AGI: error: invalid or unknown AGI command (510)\" 1\n"
    );
}
