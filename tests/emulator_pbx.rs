//! The emulator's PBX model and permissions over real sockets: users'
//! classes, the Events mask, the AstDB, Originate's channels and their end,
//! Hangup, Status, CoreShowChannels, UserEvent to every session, AsyncAGI,
//! scripts and the refused login.

mod emu_support;

use std::time::{Duration, Instant};

use asterisk_io::emu::{script, EmulatorConfig};
use emu_support::{get, has_id, is_event, names, EmuThread, Raw};

fn lab() -> EmulatorConfig {
    EmulatorConfig::default()
        .user("admin", "secret")
        .user_with_classes("ro", "rosecret", "call,reporting", "none")
        .global("LABGLOBAL", "lab-global-value")
        .unreachable("Local/doesnotexist@lab")
}

fn response(c: &mut Raw, id: &str) -> Vec<emu_support::Block> {
    c.until(|b| has_id(b, id) && b[0].0 == "Response", 5)
}

#[test]
fn write_classes_gate_actions_and_read_classes_gate_events() {
    let emu = EmuThread::start(lab);
    let mut ro = Raw::connect(emu.addr);
    let login = ro.login("ro", "rosecret", Some("on"));
    assert_eq!(get(&login, "Message"), Some("Authentication accepted"));
    for (action, allowed) in [
        ("Ping", true),
        (
            "Originate\r\nChannel: Local/wait@lab\r\nApplication: Wait\r\nData: 1",
            false,
        ),
        ("Command\r\nCommand: core show version", false),
        ("CoreShowChannels", false),
        ("Getvar\r\nVariable: LABGLOBAL", false),
        ("DBPut\r\nFamily: f\r\nKey: k\r\nVal: v", false),
    ] {
        ro.send(&format!("Action: {action}\r\nActionID: x\r\n\r\n"));
        let r = response(&mut ro, "x").pop().unwrap();
        if allowed {
            assert_eq!(get(&r, "Response"), Some("Success"), "{action}");
        } else {
            assert_eq!(get(&r, "Message"), Some("Permission denied"), "{action}");
        }
    }
    // ListCommands names only what ro may run.
    ro.send("Action: ListCommands\r\nActionID: lc\r\n\r\n");
    let r = response(&mut ro, "lc").pop().unwrap();
    assert!(
        get(&r, "Ping").is_some_and(|v| v.ends_with("(Priv: <none>)")),
        "{r:?}"
    );
    assert!(get(&r, "Originate").is_none(), "{r:?}");
    // The admin places a call and sends a user event: ro sees call events only.
    let mut admin = Raw::connect(emu.addr);
    admin.login("admin", "secret", Some("off"));
    admin.send("Action: UserEvent\r\nActionID: u\r\nUserEvent: Hidden\r\n\r\n");
    response(&mut admin, "u");
    admin.send("Action: Originate\r\nActionID: o\r\nChannel: Local/wait@lab\r\nApplication: Wait\r\nData: 0\r\nAsync: true\r\n\r\n");
    response(&mut admin, "o");
    let seen = ro.until(
        |b| is_event(b, "Hangup") && get(b, "Channel").is_some_and(|c| c.ends_with(";2")),
        5,
    );
    let privileges: Vec<&str> = seen.iter().filter_map(|b| get(b, "Privilege")).collect();
    assert!(!privileges.is_empty());
    assert!(
        privileges.iter().all(|p| *p == "call,all"),
        "{privileges:?}"
    );
    assert!(!names(&seen).contains(&"UserEvent".to_owned()));
    assert!(!names(&seen).contains(&"FullyBooted".to_owned()));
}

#[test]
fn events_action_and_login_mask_follow_asterisk() {
    let emu = EmuThread::start(lab);
    let mut a = Raw::connect(emu.addr);
    let first = a.until(|b| get(b, "Greeting").is_some(), 5);
    assert_eq!(
        get(&first[0], "Greeting"),
        Some("Asterisk Call Manager/11.0.0")
    );
    a.login("admin", "secret", Some("off"));
    for (mask, want) in [
        (Some("off"), "Off"),
        (Some("on"), "On"),
        (Some("user"), "On"),
        (Some("system,call"), "On"),
        (Some("bogus"), "Off"),
        (None, ""),
        (Some("user"), "On"),
    ] {
        let line = mask
            .map(|m| format!("EventMask: {m}\r\n"))
            .unwrap_or_default();
        a.send(&format!("Action: Events\r\nActionID: m\r\n{line}\r\n"));
        let r = response(&mut a, "m").pop().unwrap();
        match mask {
            Some(_) => assert_eq!(get(&r, "Events"), Some(want), "{mask:?}"),
            None => assert_eq!(get(&r, "Message"), Some("Invalid event mask")),
        }
    }
    // Mask "user": a UserEvent arrives, the call's events do not.
    let mut b = Raw::connect(emu.addr);
    b.login("admin", "secret", Some("off"));
    b.send("Action: Originate\r\nActionID: o\r\nChannel: Local/x@lab\r\nApplication: Wait\r\nData: 0\r\nAsync: 1\r\n\r\n");
    response(&mut b, "o");
    b.send("Action: UserEvent\r\nActionID: u\r\nUserEvent: Seen\r\n\r\n");
    response(&mut b, "u");
    let got = a.until(|b| is_event(b, "UserEvent"), 5);
    assert_eq!(names(&got), vec!["UserEvent"]);
    assert_eq!(get(got.last().unwrap(), "Privilege"), Some("user,all"));
}

#[test]
fn user_event_reaches_every_session() {
    let emu = EmuThread::start(lab);
    let mut clients: Vec<Raw> = (0..3).map(|_| Raw::connect(emu.addr)).collect();
    for c in &mut clients {
        c.login("admin", "secret", None);
    }
    clients[0].send("Action: UserEvent\r\nActionID: u1\r\nUserEvent: Hello\r\nFoo: bar\r\n\r\n");
    for c in &mut clients {
        let got = c.until(|b| is_event(b, "UserEvent"), 5);
        let ev = got.last().unwrap();
        assert_eq!(get(ev, "UserEvent"), Some("Hello"));
        assert_eq!(get(ev, "Foo"), Some("bar"));
        assert_eq!(get(ev, "ActionID"), Some("u1"));
    }
}

#[test]
fn the_astdb_answers_as_asterisk_does() {
    let emu = EmuThread::start(lab);
    let mut c = Raw::connect(emu.addr);
    c.login("admin", "secret", Some("off"));
    let mut ask = |req: &str, id: &str| {
        c.send(&format!("Action: {req}\r\nActionID: {id}\r\n\r\n"));
        let mut got = response(&mut c, id);
        let r = got.pop().unwrap();
        if get(&r, "EventList") == Some("start") {
            let items = c.until(|b| get(b, "EventList") == Some("Complete"), 5);
            return (r, items);
        }
        (r, Vec::new())
    };
    let (r, _) = ask("DBPut\r\nFamily: lab\r\nKey: k1\r\nVal: hello world", "1");
    assert_eq!(get(&r, "Message"), Some("Updated database successfully"));
    ask("DBPut\r\nFamily: lab/sub\r\nKey: k2\r\nVal: two", "2");
    let (r, items) = ask("DBGet\r\nFamily: lab\r\nKey: k1", "3");
    assert_eq!(get(&r, "Message"), Some("Result will follow"));
    assert_eq!(names(&items), vec!["DBGetResponse", "DBGetComplete"]);
    assert_eq!(get(&items[0], "Val"), Some("hello world"));
    let (r, _) = ask("DBGet\r\nFamily: lab\r\nKey: missing", "4");
    assert_eq!(get(&r, "Message"), Some("Database entry not found"));
    let (_, items) = ask("DBGetTree\r\nFamily: lab", "5");
    let keys: Vec<&str> = items.iter().filter_map(|b| get(b, "Key")).collect();
    assert_eq!(keys, vec!["/lab/k1", "/lab/sub/k2"]);
    assert_eq!(get(items.last().unwrap(), "ListItems"), Some("2"));
    let (r, _) = ask("DBDel\r\nFamily: lab\r\nKey: k1", "6");
    assert_eq!(get(&r, "Message"), Some("Key deleted successfully"));
    let (r, _) = ask("DBDel\r\nFamily: lab\r\nKey: k1", "7");
    assert_eq!(
        get(&r, "Message"),
        Some("Database entry could not be deleted")
    );
    let (r, _) = ask("DBDelTree\r\nFamily: lab", "8");
    assert_eq!(get(&r, "Message"), Some("Key tree deleted successfully"));
    let (r, _) = ask("DBGet\r\nFamily: lab", "9");
    assert_eq!(get(&r, "Message"), Some("No key specified."));
}

#[test]
fn originate_makes_channels_that_end_with_their_application() {
    let emu = EmuThread::start(lab);
    let mut c = Raw::connect(emu.addr);
    c.login("admin", "secret", None);
    let start = Instant::now();
    c.send("Action: Originate\r\nActionID: o1\r\nChannel: Local/wait@lab\r\nApplication: Wait\r\nData: 1\r\nCallerID: Lab Test <100>\r\nVariable: LABORIG=1\r\nAsync: true\r\n\r\n");
    let got = c.until(|b| is_event(b, "OriginateResponse"), 5);
    let seq: Vec<String> = names(&got)
        .into_iter()
        .filter(|n| !["FullyBooted", "SuccessfulAuth", "Newexten"].contains(&n.as_str()))
        .collect();
    assert_eq!(
        seq,
        [
            "Newchannel",
            "Newchannel",
            "VarSet",
            "NewCallerid",
            "NewConnectedLine",
            "VarSet",
            "NewCallerid",
            "NewConnectedLine",
            "LocalBridge",
            "DialBegin",
            "Newstate",
            "Newstate",
            "DialEnd",
            "OriginateResponse"
        ]
    );
    let or = got.last().unwrap();
    assert_eq!(get(or, "Response"), Some("Success"));
    assert_eq!(get(or, "ActionID"), Some("o1"));
    assert_eq!(get(or, "Reason"), Some("4"));
    let chan = get(or, "Channel").unwrap().to_owned();
    assert_eq!(chan, "Local/wait@lab-00000000;1");
    let uid = get(or, "Uniqueid").unwrap().to_owned();
    // The ;2 side is linked to ;1.
    let two = got
        .iter()
        .find(|b| is_event(b, "Newchannel") && get(b, "Channel").is_some_and(|c| c.ends_with(";2")))
        .unwrap();
    assert_eq!(get(two, "Linkedid"), Some(uid.as_str()));
    assert_ne!(get(two, "Uniqueid"), Some(uid.as_str()));

    // Listed while up ...
    c.send("Action: CoreShowChannels\r\nActionID: l\r\n\r\n");
    let list = c.until(|b| is_event(b, "CoreShowChannelsComplete"), 5);
    let items: Vec<_> = list
        .iter()
        .filter(|b| is_event(b, "CoreShowChannel"))
        .collect();
    assert_eq!(items.len(), 2);
    assert_eq!(get(items[0], "Application"), Some("Wait"));
    c.send(&format!(
        "Action: Status\r\nActionID: s\r\nChannel: {chan}\r\nVariables: LABORIG\r\n\r\n"
    ));
    let st = c.until(|b| is_event(b, "StatusComplete"), 5);
    let item = st.iter().find(|b| is_event(b, "Status")).unwrap();
    assert_eq!(get(item, "Privilege"), Some("Call"));
    assert_eq!(get(item, "Variable"), Some("LABORIG=1"));
    c.send(&format!(
        "Action: Getvar\r\nActionID: g\r\nChannel: {chan}\r\nVariable: CALLERID(all)\r\n\r\n"
    ));
    let g = response(&mut c, "g").pop().unwrap();
    assert_eq!(get(&g, "Value"), Some("\"Lab Test\" <100>"));

    // ... and hung up once Wait(1) is over.
    let end = c.until(
        |b| is_event(b, "Hangup") && get(b, "Channel").is_some_and(|c| c.ends_with(";2")),
        10,
    );
    assert!(start.elapsed() >= Duration::from_millis(900));
    assert!(names(&end).contains(&"Cdr".to_owned()));
    c.send("Action: CoreShowChannels\r\nActionID: l2\r\n\r\n");
    let list = c.until(|b| is_event(b, "CoreShowChannelsComplete"), 5);
    assert_eq!(get(list.last().unwrap(), "ListItems"), Some("0"));
    c.send("Action: Command\r\nActionID: c\r\nCommand: core show channels\r\n\r\n");
    let out = response(&mut c, "c").pop().unwrap();
    let lines: Vec<&str> = out
        .iter()
        .filter(|h| h.0 == "Output")
        .map(|h| h.1.as_str())
        .collect();
    assert!(lines.contains(&"0 active channels"), "{lines:?}");
    assert!(lines.contains(&"1 call processed"), "{lines:?}");
}

#[test]
fn sync_originate_answers_after_the_call_is_up_and_hangup_ends_it() {
    let emu = EmuThread::start(lab);
    let mut c = Raw::connect(emu.addr);
    c.login("admin", "secret", None);
    c.send("Action: Originate\r\nActionID: o\r\nChannel: Local/doesnotexist@lab\r\nApplication: Wait\r\nData: 1\r\n\r\n");
    let r = response(&mut c, "o").pop().unwrap();
    assert_eq!(get(&r, "Message"), Some("Originate failed"));
    c.send("Action: Originate\r\nActionID: o2\r\nApplication: Wait\r\n\r\n");
    let r = response(&mut c, "o2").pop().unwrap();
    assert_eq!(get(&r, "Message"), Some("Channel not specified"));
    c.send("Action: Originate\r\nActionID: o3\r\nChannel: Local/wait@lab\r\nApplication: Wait\r\nData: 30\r\n\r\n");
    let got = response(&mut c, "o3");
    assert_eq!(
        get(got.last().unwrap(), "Message"),
        Some("Originate successfully queued")
    );
    // The call's events came first.
    assert!(names(&got).contains(&"OriginateResponse".to_owned()));
    let chan = got
        .iter()
        .find(|b| is_event(b, "OriginateResponse"))
        .and_then(|b| get(b, "Channel"))
        .unwrap()
        .to_owned();
    c.send(&format!(
        "Action: Hangup\r\nActionID: h\r\nChannel: {chan}\r\nCause: 16\r\n\r\n"
    ));
    let r = response(&mut c, "h").pop().unwrap();
    assert_eq!(get(&r, "Message"), Some("Channel Hungup"));
    let end = c.until(
        |b| is_event(b, "Hangup") && get(b, "Channel").is_some_and(|c| c.ends_with(";2")),
        5,
    );
    let hangup = end.iter().find(|b| is_event(b, "Hangup")).unwrap();
    assert_eq!(get(hangup, "Cause-txt"), Some("Normal Clearing"));
    c.send(&format!(
        "Action: Hangup\r\nActionID: h2\r\nChannel: {chan}\r\n\r\n"
    ));
    let r = response(&mut c, "h2").pop().unwrap();
    assert_eq!(get(&r, "Message"), Some("No such channel"));
}

#[test]
fn async_agi_on_an_emulated_channel() {
    let emu = EmuThread::start(|| lab().agi_reply("STREAM FILE", "200 result=0 endpos=3520"));
    let mut c = Raw::connect(emu.addr);
    c.login("admin", "secret", None);
    c.send("Action: Originate\r\nActionID: o\r\nChannel: Local/agi@lab\r\nApplication: AGI\r\nData: agi:async\r\nAsync: true\r\n\r\n");
    let got = c.until(|b| is_event(b, "AsyncAGIStart"), 5);
    let start = got.last().unwrap();
    assert_eq!(get(start, "Privilege"), Some("agi,all"));
    let chan = get(start, "Channel").unwrap().to_owned();
    assert!(get(start, "Env")
        .unwrap()
        .starts_with("agi_request%3A%20async%0Aagi_channel%3A%20Local%2Fagi%40lab"));
    c.send(&format!(
        "Action: Setvar\r\nActionID: v\r\nChannel: {chan}\r\nVariable: FOO\r\nValue: a b\r\n\r\n"
    ));
    response(&mut c, "v");
    let mut agi = |cmd: &str, id: &str| {
        c.send(&format!("Action: AGI\r\nActionID: {id}\r\nChannel: {chan}\r\nCommand: {cmd}\r\nCommandID: cmd-{id}\r\n\r\n"));
        let r = response(&mut c, id).pop().unwrap();
        assert_eq!(get(&r, "Message"), Some("Added AGI command to queue"));
        let got = c.until(|b| is_event(b, "AsyncAGIExec"), 5);
        let exec = got.last().unwrap().clone();
        assert_eq!(
            get(&exec, "CommandId").map(str::to_owned),
            Some(format!("cmd-{id}"))
        );
        (names(&got), get(&exec, "Result").unwrap().to_owned())
    };
    let (seq, result) = agi("ANSWER", "1");
    assert_eq!(result, "200%20result%3D0%0A");
    assert!(seq.ends_with(&[
        "AGIExecStart".to_owned(),
        "AGIExecEnd".to_owned(),
        "AsyncAGIExec".to_owned()
    ]));
    assert_eq!(
        agi("GET VARIABLE FOO", "2").1,
        "200%20result%3D1%20(a%20b)%0A"
    );
    assert_eq!(
        agi("STREAM FILE beep \"\"", "3").1,
        "200%20result%3D0%20endpos%3D3520%0A"
    );
    c.send("Action: AGI\r\nActionID: bad\r\nChannel: Local/nosuch@lab-00000000;2\r\nCommand: ANSWER\r\n\r\n");
    let r = response(&mut c, "bad").pop().unwrap();
    assert_eq!(
        get(&r, "Message"),
        Some("Channel Local/nosuch@lab-00000000;2 does not exist.")
    );
    c.send(&format!(
        "Action: Hangup\r\nActionID: h\r\nChannel: {chan}\r\n\r\n"
    ));
    let end = c.until(|b| is_event(b, "AsyncAGIEnd"), 5);
    assert_eq!(get(end.last().unwrap(), "Channel"), Some(chan.as_str()));
}

#[test]
fn a_refused_login_waits_then_closes() {
    let emu = EmuThread::start(|| lab().auth_failure_delay(Duration::from_millis(300)));
    let mut c = Raw::connect(emu.addr);
    let start = Instant::now();
    c.send("Action: Login\r\nActionID: l\r\nUsername: admin\r\nSecret: wrong\r\n\r\n");
    let r = response(&mut c, "l").pop().unwrap();
    assert!(start.elapsed() >= Duration::from_millis(250));
    assert_eq!(get(&r, "Message"), Some("Authentication failed"));
    assert!(c.read_to_eof(5));
}

#[test]
fn scripts_answer_actions_commands_and_send_events() {
    let text = "\
user lab labsecret
[action QueueStatus]
Message: Queue status will follow
item QueueParams
Queue: support
complete QueueStatusComplete

[command sip show peers]
Name/username
0 sip peers

[event every 0.05 Tick]
Privilege: system,all

[event after Ping Pinged]
Privilege: user,all
";
    let config = script::parse(text, EmulatorConfig::default()).unwrap();
    let emu = EmuThread::start(move || config);
    let mut c = Raw::connect(emu.addr);
    c.login("lab", "labsecret", None);
    c.send("Action: QueueStatus\r\nActionID: q\r\n\r\n");
    let got = c.until(|b| is_event(b, "QueueStatusComplete"), 5);
    let r = got
        .iter()
        .find(|b| has_id(b, "q") && get(b, "Response").is_some())
        .unwrap();
    assert_eq!(r[2], ("EventList".to_owned(), "start".to_owned()));
    c.send("Action: Command\r\nActionID: c\r\nCommand: sip show peers\r\n\r\n");
    let r = response(&mut c, "c").pop().unwrap();
    assert_eq!(get(&r, "Output"), Some("Name/username"));
    c.until(|b| is_event(b, "Tick"), 5);
    c.send("Action: Ping\r\nActionID: p\r\n\r\n");
    c.until(|b| is_event(b, "Pinged"), 5);
}

/// In a `Driver`, the emulator's deadline (a call's end) wakes the loop:
/// a 5-second poll returns when `Wait(0.3)` is over.
#[test]
fn in_a_driver_the_call_deadline_wakes_the_loop() {
    use asterisk_io::driver::Driver;
    use asterisk_io::emu::Emulator;
    let mut driver = Driver::new().unwrap();
    let emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), lab()).unwrap();
    let addr = emu.local_addr().unwrap();
    let emu = driver.add(emu).unwrap();
    let mut c = Raw::connect(addr);
    c.send("Action: Login\r\nUsername: admin\r\nSecret: secret\r\nEvents: call\r\n\r\n");
    c.send("Action: Originate\r\nActionID: o\r\nChannel: Local/w@lab\r\nApplication: Wait\r\nData: 0.3\r\nAsync: 1\r\n\r\n");
    let start = Instant::now();
    let mut seen = Vec::new();
    while !seen.iter().any(|b| is_event(b, "Hangup")) {
        assert!(start.elapsed() < Duration::from_secs(4), "{seen:#?}");
        driver.poll(Some(Duration::from_secs(5))).unwrap();
        c.fill();
        while let Some(b) = c.next_block() {
            seen.push(b);
        }
    }
    assert_eq!(driver.get_mut(emu).pbx().channel_count(), 0);
}
