//! Replays of traffic recorded from a real Asterisk 22.10.1 (AMI 11.0.0).
//!
//! Two kinds of test:
//! - framing: every recording through the framer and through a `Connection`,
//!   whole, split in two at every byte, and one byte at a time, gives the
//!   same messages as a naive reference parser;
//! - semantics: the client's own requests are replayed through a
//!   `Connection` (its ActionIDs substituted into the recorded server bytes)
//!   and the typed results are checked against what Asterisk answered.

mod ami_support;

use ami_support::*;
use asterisk_io::ami::actions::{
    Command, CoreSettings, CoreShowChannels, CoreStatus, DBDel, DBDelTree, DBGet, DBGetTree, DBPut,
    Events, Getvar, Hangup, ListCommands, Login, Logoff, Originate, Ping, Setvar, Status,
    UserEvent,
};
use asterisk_io::ami::{
    ActionResult, CommandOutput, Connection, Error, FromResult, Input, ListResult, OriginateResult,
    RawAction, Response, ResultShape, State,
};

// ---------------------------------------------------------------------------
// Framing
// ---------------------------------------------------------------------------

/// Feeds `greeting` then `chunks` to a fresh connection with no pending
/// action (so every message comes out as an event or an unmatched response)
/// and checks them against `want` without allocating per message.
fn connection_check(greeting: &[u8], chunks: &[&[u8]], want: &[Option<Pairs>], what: &str) {
    let mut c = Connection::default();
    let g: &[u8] = if greeting.is_empty() {
        b"Asterisk Call Manager/11.0.0\r\n"
    } else {
        greeting
    };
    c.feed(g);
    let mut n = 0;
    for chunk in chunks {
        c.feed(chunk);
        while let Some(input) = c.next_input() {
            let ok = match (&input, want.get(n)) {
                (Input::Event(e), Some(Some(w))) => same(&e.message(), w),
                (Input::Unmatched(m), Some(Some(w))) => same(m, w),
                _ => false,
            };
            assert!(
                ok,
                "{what}: message {n}: got {:?}, want {:?}",
                input,
                want.get(n)
            );
            n += 1;
        }
    }
    assert_eq!(n, want.len(), "{what}: message count");
    assert_eq!(c.state(), State::Open, "{what}");
    assert!(c.fatal_error().is_none(), "{what}");
}

fn check_recording_framing(name: &str, every_split_through_connection: bool) {
    let rx = fixture(&format!("{name}.bin"));
    for (i, (greeting, body)) in sessions(&rx).into_iter().enumerate() {
        let what = format!("{name} session {i}");
        let want = reference_parse(body);
        assert!(!want.is_empty(), "{what}: no message");
        assert!(
            want.iter().all(Option::is_some),
            "{what}: recording is well-formed"
        );
        assert_eq!(
            want.len(),
            blocks(body).len(),
            "{what}: one message per block"
        );
        let max = 1 << 20;
        // Whole.
        assert_eq!(frame_chunks(&[body], &want, max, &what), want.len());
        connection_check(greeting, &[body], &want, &what);
        // One byte at a time.
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        assert_eq!(frame_chunks(&bytes, &want, max, &what), want.len());
        connection_check(greeting, &bytes, &want, &what);
        // Two chunks, at every split point. Small recordings are framed
        // whole for each split; large ones (quadratic cost in a debug build)
        // from the start of the message before the split to the end of the
        // message after it, which is all the state a split can touch.
        let ends: Vec<usize> = blocks(body)
            .iter()
            .scan(0, |at, b| {
                *at += b.len();
                Some(*at)
            })
            .collect();
        for k in 0..=body.len() {
            let what = format!("{what} split at {k}");
            if body.len() <= 8 * 1024 {
                let (a, b) = body.split_at(k);
                assert_eq!(frame_chunks(&[a, b], &want, max, &what), want.len());
                if every_split_through_connection {
                    connection_check(greeting, &[a, b], &want, &what);
                }
                continue;
            }
            // Index of the message holding byte k.
            let m = ends.partition_point(|&e| e <= k);
            let first = m.saturating_sub(1);
            let last = (m + 1).min(want.len() - 1);
            let start = if first == 0 { 0 } else { ends[first - 1] };
            let end = ends[last];
            let window = &want[first..=last];
            let (a, b) = (&body[start..k.max(start)], &body[k.max(start)..end]);
            assert_eq!(frame_chunks(&[a, b], window, max, &what), window.len());
            if every_split_through_connection {
                connection_check(greeting, &[a, b], window, &what);
            }
        }
        // The greeting itself split at every point, through the connection.
        for k in 0..greeting.len() {
            let mut c = Connection::default();
            c.feed(&greeting[..k]);
            assert!(c.next_input().is_none());
            assert!(c.greeting().is_none());
            c.feed(&greeting[k..]);
            c.feed(body);
            let mut n = 0;
            while c.next_input().is_some() {
                n += 1;
            }
            assert_eq!(n, want.len(), "{what}: greeting split at {k}");
            assert_eq!(c.greeting().unwrap().version, "11.0.0");
        }
    }
}

#[test]
fn every_recording_frames_the_same_whole_at_every_split_and_bytewise() {
    for name in RECORDINGS {
        let size = fixture(&format!("{name}.bin")).len();
        // Every split point goes through the framer; through the whole
        // connection too for all but the largest recordings (debug builds
        // are slow, and the connection adds only buffering on top).
        check_recording_framing(name, size <= 16 * 1024);
    }
}

#[test]
fn recordings_hold_one_session_each_except_the_mid_stream_one() {
    for name in RECORDINGS {
        let rx = fixture(&format!("{name}.bin"));
        let s = sessions(&rx);
        assert_eq!(s.len(), 1, "{name}");
        assert_eq!(s[0].0.is_empty(), *name == "ami-hangup-action", "{name}");
    }
    // A capture holding two sessions back to back splits at the second greeting.
    let mut two = fixture("ami-login.bin");
    two.extend(fixture("ami-ping.bin"));
    let s = sessions(&two);
    assert_eq!(s.len(), 2);
    assert_eq!(s[1].0, b"Asterisk Call Manager/11.0.0\r\n");
    assert!(s[1].1.starts_with(b"Response: Success\r\nActionID: lab-1"));
}

#[test]
fn recordings_framed_in_the_chunks_asterisk_wrote() {
    // Asterisk's own TCP writes split a response at its header block, at
    // each Output line and before the terminating CRLF; every chunking of
    // three parts at message-internal CRLFs must give the same messages.
    let rx = fixture("ami-command-dialplan.bin");
    let (_, body) = sessions(&rx)[0];
    let want = reference_parse(body);
    let crlfs: Vec<usize> = body
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w == b"\r\n")
        .map(|(i, _)| i + 1)
        .collect();
    for &a in crlfs.iter().step_by(3) {
        for &b in crlfs.iter().filter(|&&b| b > a).step_by(7) {
            let chunks = [&body[..a], &body[a..b], &body[b..]];
            assert_eq!(
                frame_chunks(&chunks, &want, 1 << 20, "dialplan"),
                want.len()
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Semantics
// ---------------------------------------------------------------------------

fn server_error(r: Result<impl std::fmt::Debug, Error>) -> String {
    match r {
        Err(Error::Server { message, .. }) => message,
        other => panic!("expected Error::Server, got {other:?}"),
    }
}

fn typed<T: FromResult>(r: Result<ActionResult, Error>) -> Result<T, Error> {
    r.and_then(T::from_result)
}

fn lab_login(events: &str) -> Login {
    Login::new("lab", "labsecret").events(events)
}

#[test]
fn login_plain_is_accepted_events_flow_and_logoff_closes() {
    let mut r = Replay::new("ami-login", Rewrite::All);
    let login = r.login(&Login::new("lab", "labsecret"));
    // The typed login writes what the recorded client wrote.
    assert_same_request(
        &r.written_request("lab-1"),
        &Replay::recorded_request("ami-login", "lab-1"),
        "request",
    );
    r.until_done(login);
    let resp: Response = typed(r.result(login)).unwrap();
    assert_eq!(resp.message(), Some("Authentication accepted"));
    let bye = r.send(&Logoff);
    r.run_to_eof();
    let bye: Response = typed(r.result(bye)).unwrap();
    assert_eq!(bye.status().unwrap(), "Goodbye");
    assert_eq!(bye.message(), Some("Thanks for all the fish."));
    assert_eq!(r.event_names(), ["FullyBooted", "SuccessfulAuth"]);
    let booted = r.events()[0];
    assert_eq!(booted.get_str("Status"), Some("Fully Booted"));
    assert!(r.errors().is_empty() && r.unmatched().is_empty());
    assert_eq!(r.conn.state(), State::Closed);
    assert!(matches!(r.conn.fatal_error(), Some(Error::Closed(_))));
    assert!(matches!(r.conn.send(&Ping), Err(Error::Closed(_))));
}

#[test]
fn login_md5_answers_the_recorded_challenge_with_the_recorded_key() {
    let name = "ami-login-md5";
    let mut r = Replay::new(name, Rewrite::All);
    let login = r.login(&lab_login("off").md5());
    r.until_done(login);
    r.result(login).expect("md5 login accepted");
    // The key computed from the recorded challenge is the one the lab client sent.
    assert_same_request(
        &r.written_request("lab-2"),
        &Replay::recorded_request(name, "lab-2"),
        "request",
    );
    assert_same_request(
        &r.written_request("lab-1"),
        &Replay::recorded_request(name, "lab-1"),
        "request",
    );
    let ping = r.send(&Ping);
    let bye = r.send(&Logoff);
    r.run_to_eof();
    let pong: Response = typed(r.result(ping)).unwrap();
    assert_eq!(pong.get_str("Ping"), Some("Pong"));
    assert!(pong.get("Timestamp").unwrap().parse::<f64>().is_some());
    r.result(bye).unwrap();
    assert!(r.got.is_empty(), "{:?}", r.got);
}

#[test]
fn login_bad_password_is_auth_failed_then_closed() {
    for name in ["ami-login-badpass", "ami-login-baduser"] {
        let mut r = Replay::new(name, Rewrite::All);
        let login = r.login(&Login::new("lab", "wrongpassword"));
        r.run_to_eof();
        match r.result(login) {
            Err(Error::AuthFailed { message }) => assert_eq!(message, "Authentication failed"),
            other => panic!("{name}: {other:?}"),
        }
        assert_eq!(r.conn.state(), State::Closed);
        // The connection ended with the refusal itself, which is fatal.
        assert!(matches!(
            r.conn.fatal_error(),
            Some(e @ Error::AuthFailed { .. }) if e.is_fatal()
        ));
        assert!(matches!(
            r.conn.login(&Login::new("lab", "x")),
            Err(Error::AuthFailed { .. })
        ));
    }
}

#[test]
fn login_md5_bad_key_is_auth_failed() {
    let mut r = Replay::new("ami-login-md5-bad", Rewrite::All);
    let login = r.login(&Login::new("lab", "not-the-secret").md5());
    r.run_to_eof();
    match r.result(login) {
        Err(Error::AuthFailed { message }) => assert_eq!(message, "Authentication failed"),
        other => panic!("{other:?}"),
    }
    // The failed login, not the challenge, is what the caller sees: one result only.
    assert!(r.got.is_empty(), "{:?}", r.got);
}

#[test]
fn login_failure_secret_never_in_error_or_debug() {
    let mut r = Replay::new("ami-login-badpass", Rewrite::All);
    let login = r.login(&Login::new("lab", "wrongpassword"));
    r.run_to_eof();
    let e = r.result(login).unwrap_err();
    assert!(!format!("{e} {e:?}").contains("wrongpassword"));
    assert!(!format!("{:?}", r.conn).contains("wrongpassword"));
}

#[test]
fn logoff_recording_gives_goodbye_and_closed_logged_off() {
    let mut r = Replay::new("ami-logoff", Rewrite::All);
    let login = r.login(&lab_login("off"));
    let bye = r.conn.logoff().unwrap();
    r.sync();
    r.run_to_eof();
    r.result(login).unwrap();
    let bye: Response = typed(r.result(bye)).unwrap();
    assert_eq!(bye.status().unwrap(), "Goodbye");
    let e1 = r.conn.send(&Ping).unwrap_err();
    let e2 = r.conn.send(&Ping).unwrap_err();
    assert_eq!(e1.to_string(), e2.to_string());
    assert!(e1.to_string().contains("logged off"), "{e1}");
}

#[test]
fn command_version_output_lines() {
    let mut r = Replay::new("ami-command-version", Rewrite::All);
    r.login(&lab_login("off"));
    let cmd = r.send(&Command::new("core show version"));
    r.send(&Logoff);
    r.run();
    let out: CommandOutput = typed(r.result(cmd)).unwrap();
    assert_eq!(
        out.lines,
        ["Asterisk 22.10.1 built by root @ vm on a x86_64 running Linux on 2026-11-26 04:51:10 UTC"]
    );
}

#[test]
fn command_dialplan_output_keeps_blank_cli_lines() {
    let name = "ami-command-dialplan";
    let mut r = Replay::new(name, Rewrite::All);
    r.login(&lab_login("off"));
    let cmd = r.send(&Command::new("dialplan show lab"));
    assert_same_request(
        &r.written_request("lab-2"),
        &Replay::recorded_request(name, "lab-2"),
        "request",
    );
    r.send(&Logoff);
    r.run();
    let out: CommandOutput = typed(r.result(cmd)).unwrap();
    // Every recorded Output: line, in order, a blank CLI line as "".
    let rx = fixture(&format!("{name}.bin"));
    let want: Vec<String> = reference_parse(&rx[30..])
        .into_iter()
        .flatten()
        .flat_map(|p| p.into_iter())
        .filter(|(k, _)| k == b"Output")
        .map(|(_, v)| String::from_utf8(v).unwrap())
        .collect();
    assert!(want.len() > 40, "{}", want.len());
    assert_eq!(out.lines, want);
    assert!(out.lines.iter().any(String::is_empty), "a blank CLI line");
    assert!(
        out.lines[0].starts_with("[ Context 'lab'"),
        "{:?}",
        out.lines[0]
    );
}

#[test]
fn command_misc_unknown_cli_is_server_error_with_output_text() {
    let mut r = Replay::new("ami-command-misc", Rewrite::All);
    r.login(&lab_login("off"));
    let unknown = r.send(&Command::new("no such cli command"));
    let uptime = r.send(&Command::new("core show uptime"));
    let missing = r.send(&RawAction::new("Command").with_shape(ResultShape::Command));
    let module = r.send(&Command::new("module show like res_agi"));
    r.send(&Logoff);
    r.run();
    let msg = server_error(typed::<CommandOutput>(r.result(unknown)));
    assert_eq!(
        msg,
        "No such command 'no such cli command' (type 'core show help no such' for other possible commands)"
    );
    let up: CommandOutput = typed(r.result(uptime)).unwrap();
    assert_eq!(
        up.lines,
        ["System uptime: 1 second", "Last reload: 1 second"]
    );
    assert_eq!(
        server_error(typed::<CommandOutput>(r.result(missing))),
        "No command provided"
    );
    let m: CommandOutput = typed(r.result(module)).unwrap();
    assert_eq!(m.lines.len(), 3);
    assert!(m.lines[1].starts_with("res_agi.so"));
    assert_eq!(m.lines[2], "1 modules loaded");
}

#[test]
fn originate_async_completes_with_originate_response_reason_4() {
    let name = "ami-originate-events";
    let mut r = Replay::new(name, Rewrite::All);
    r.login(&lab_login("on"));
    let orig = Originate::to_application("Local/wait@lab", "Wait", "3")
        .caller_id("Lab Test <100>")
        .variable("LABORIG", "1")
        .run_async();
    let id = r.send(&orig);
    assert_same_request(
        &r.written_request("lab-2"),
        &Replay::recorded_request(name, "lab-2"),
        "request",
    );
    r.send(&Logoff);
    r.run_to_eof();
    let res: OriginateResult = typed(r.result(id)).unwrap();
    assert_eq!(
        res.response.message(),
        Some("Originate successfully queued")
    );
    let outcome = res.outcome.expect("async outcome");
    assert!(outcome.is_success());
    assert_eq!(outcome.reason(), Some(4));
    assert_eq!(outcome.channel(), Some("Local/wait@lab-00000000;1"));
    assert_eq!(outcome.uniqueid(), Some("1795669103.0"));
    // Every other event reaches the handlers, in order; only the
    // OriginateResponse is taken by the pending action.
    let names = r.event_names();
    assert!(!names.iter().any(|n| n == "OriginateResponse"));
    let rx = fixture(&format!("{name}.bin"));
    let recorded = reference_parse(&rx[30..])
        .into_iter()
        .flatten()
        .filter(|p| p[0].0 == b"Event" && p[0].1 != b"OriginateResponse")
        .count();
    assert_eq!(names.len(), recorded);
    for want in [
        "Newchannel",
        "Newexten",
        "VarSet",
        "NewCallerid",
        "NewConnectedLine",
        "LocalBridge",
        "DialBegin",
        "Newstate",
        "DeviceStateChange",
        "DialEnd",
        "HangupRequest",
        "SoftHangupRequest",
        "Cdr",
        "Hangup",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
    // The channel variable set by the Originate shows in a VarSet event.
    assert!(r
        .events()
        .iter()
        .any(|e| e.get_str("Variable") == Some("LABORIG") && e.get_str("Value") == Some("1")));
}

#[test]
fn originate_async_failure_is_reason_0_with_dial_string() {
    let mut r = Replay::new("ami-originate-failure-events", Rewrite::All);
    r.login(&lab_login("on"));
    let id = r.send(&Originate::to_application("Local/doesnotexist@lab", "Wait", "1").run_async());
    r.send(&Logoff);
    r.run_to_eof();
    let res: OriginateResult = typed(r.result(id)).unwrap();
    let outcome = res.outcome.unwrap();
    assert!(!outcome.is_success());
    assert_eq!(outcome.event.get_str("Response"), Some("Failure"));
    assert_eq!(outcome.reason(), Some(0));
    assert_eq!(outcome.channel(), Some("Local/doesnotexist@lab"));
    assert_eq!(outcome.uniqueid(), Some("<unknown>"));
}

#[test]
fn originate_exten_outcome_arrives_after_dialplan_events() {
    let name = "ami-originate-exten-events";
    let mut r = Replay::new(name, Rewrite::All);
    r.login(&lab_login("on"));
    let mut o = Originate::to_extension("Local/wait@lab", "lab", "userevent", "1").run_async();
    o.channel_id = Some("lab-chan-id-1".into());
    o.other_channel_id = Some("lab-chan-id-2".into());
    let id = r.send(&o);
    assert_same_request(
        &r.written_request("lab-2"),
        &Replay::recorded_request(name, "lab-2"),
        "request",
    );
    r.send(&Logoff);
    r.run_to_eof();
    // The dialplan's UserEvent was dispatched before the originate completed.
    let done_at = r
        .got
        .iter()
        .position(|g| matches!(g, Got::Done(d, _) if *d == id))
        .unwrap();
    let user_at = r
        .got
        .iter()
        .position(|g| matches!(g, Got::Event(e) if e.get_str("Event") == Some("UserEvent")))
        .unwrap();
    assert!(user_at < done_at);
    let res: OriginateResult = typed(r.result(id)).unwrap();
    assert_eq!(res.outcome.unwrap().uniqueid(), Some("lab-chan-id-1"));
}

#[test]
fn originate_sync_success_failure_and_missing_channel() {
    let mut r = Replay::new("ami-originate-sync", Rewrite::All);
    r.login(&lab_login("off"));
    let ok = r.send(&Originate::to_application("Local/wait@lab", "Wait", "1"));
    let failed = r.send(&Originate::to_application(
        "Local/doesnotexist@lab",
        "Wait",
        "1",
    ));
    let missing = r.send(&RawAction::new("Originate").field("Application", "Wait"));
    r.send(&Logoff);
    r.run();
    let res: OriginateResult = typed(r.result(ok)).unwrap();
    assert_eq!(
        res.response.message(),
        Some("Originate successfully queued")
    );
    assert!(res.outcome.is_none());
    assert_eq!(
        server_error(typed::<OriginateResult>(r.result(failed))),
        "Originate failed"
    );
    assert_eq!(
        server_error(typed::<Response>(r.result(missing))),
        "Channel not specified"
    );
}

#[test]
fn coreshowchannels_list_has_two_items() {
    let mut r = Replay::new("ami-coreshowchannels", Rewrite::All);
    r.login(&lab_login("off"));
    let id = r.send(&CoreShowChannels);
    r.send(&Logoff);
    r.run();
    let list: ListResult = typed(r.result(id)).unwrap();
    assert_eq!(list.response.message(), Some("Channels will follow"));
    assert_eq!(list.items.len(), 2);
    let chans: Vec<_> = list
        .items
        .iter()
        .map(|i| i.get_str("Channel").unwrap())
        .collect();
    assert_eq!(
        chans,
        ["Local/wait@lab-00000005;1", "Local/wait@lab-00000005;2"]
    );
    assert!(list
        .items
        .iter()
        .all(|i| i.get_str("Event") == Some("CoreShowChannel")));
    let complete = list.complete.unwrap();
    assert_eq!(complete.get_str("Event"), Some("CoreShowChannelsComplete"));
    assert_eq!(complete.get_str("ListItems"), Some("2"));
    assert!(r.events().is_empty(), "list items are not events");
}

#[test]
fn db_get_list_missing_entry_and_tree() {
    let mut r = Replay::new("ami-db", Rewrite::All);
    r.login(&lab_login("off"));
    let put1 = r.send(&DBPut {
        family: "lab".into(),
        key: "k1".into(),
        val: Some("hello world".into()),
    });
    let put2 = r.send(&DBPut {
        family: "lab/sub".into(),
        key: "k2".into(),
        val: Some("two".into()),
    });
    let get = r.send(&DBGet {
        family: "lab".into(),
        key: "k1".into(),
    });
    let get_missing = r.send(&DBGet {
        family: "lab".into(),
        key: "missing".into(),
    });
    let tree = r.send(&DBGetTree {
        family: Some("lab".into()),
        key: None,
    });
    let del = r.send(&DBDel {
        family: "lab".into(),
        key: "k1".into(),
    });
    let del_again = r.send(&DBDel {
        family: "lab".into(),
        key: "k1".into(),
    });
    let del_tree = r.send(&DBDelTree {
        family: "lab".into(),
        key: None,
    });
    let get_nokey = r.send(&RawAction::new("DBGet").field("Family", "lab").list());
    r.send(&Logoff);
    for lab in [
        "lab-2", "lab-3", "lab-4", "lab-5", "lab-6", "lab-7", "lab-9",
    ] {
        assert_same_request(
            &r.written_request(lab),
            &Replay::recorded_request("ami-db", lab),
            lab,
        );
    }
    r.run();
    for id in [put1, put2] {
        let resp: Response = typed(r.result(id)).unwrap();
        assert_eq!(resp.message(), Some("Updated database successfully"));
    }
    let list: ListResult = typed(r.result(get)).unwrap();
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].get_str("Event"), Some("DBGetResponse"));
    assert_eq!(list.items[0].get_str("Val"), Some("hello world"));
    assert_eq!(list.complete.unwrap().get_str("ListItems"), Some("1"));
    assert_eq!(
        server_error(typed::<ListResult>(r.result(get_missing))),
        "Database entry not found"
    );
    let tree: ListResult = typed(r.result(tree)).unwrap();
    let keys: Vec<_> = tree
        .items
        .iter()
        .map(|i| i.get_str("Key").unwrap())
        .collect();
    assert_eq!(keys, ["/lab/k1", "/lab/sub/k2"]);
    typed::<Response>(r.result(del)).unwrap();
    assert_eq!(
        server_error(typed::<Response>(r.result(del_again))),
        "Database entry could not be deleted"
    );
    typed::<Response>(r.result(del_tree)).unwrap();
    assert_eq!(
        server_error(typed::<ListResult>(r.result(get_nokey))),
        "No key specified."
    );
    assert!(r.events().is_empty());
}

#[test]
fn status_list_with_variables_and_missing_channel() {
    let mut r = Replay::new("ami-status", Rewrite::All);
    r.login(&lab_login("off"));
    let all = r.send(&Status::default());
    let one = r.send(&Status {
        channel: Some("Local/wait@lab-00000005;1".into()),
        variables: Some("LABVAR,CHANNEL(state)".into()),
        all_variables: None,
    });
    let missing = r.send(&Status {
        channel: Some("Local/nosuch@lab-00000000;1".into()),
        ..Default::default()
    });
    r.send(&Logoff);
    assert_same_request(
        &r.written_request("lab-3"),
        &Replay::recorded_request("ami-status", "lab-3"),
        "request",
    );
    r.run();
    let all: ListResult = typed(r.result(all)).unwrap();
    assert_eq!(all.items.len(), 2);
    // ActionID is the LAST header of a Status event; it is still matched.
    assert_eq!(all.items[1].get_str("Application"), Some("Answer"));
    assert_eq!(all.items[1].get_str("Data"), Some(""));
    let complete = all.complete.unwrap();
    assert_eq!(complete.get_str("ListItems"), Some("2"));
    assert_eq!(complete.get_str("Items"), Some("2"));
    let one: ListResult = typed(r.result(one)).unwrap();
    assert_eq!(one.items.len(), 1);
    let vars: Vec<String> = one.items[0]
        .get_all("Variable")
        .map(|v| v.to_string())
        .collect();
    assert_eq!(vars, ["LABVAR=(null)", "CHANNEL(state)=Up"]);
    assert_eq!(
        server_error(typed::<ListResult>(r.result(missing))),
        "No such channel"
    );
}

#[test]
fn getvar_setvar_values_empty_values_and_errors() {
    let name = "ami-getvar-setvar";
    let mut r = Replay::new(name, Rewrite::All);
    r.login(&lab_login("off"));
    let chan = "Local/wait@lab-00000006;1";
    let set = |channel: Option<&str>, var: &str, value: &str| Setvar {
        channel: channel.map(Into::into),
        variable: var.into(),
        value: value.into(),
    };
    let get = |channel: Option<&str>, var: &str| Getvar {
        channel: channel.map(Into::into),
        variable: var.into(),
    };
    let ids = [
        r.send(&set(None, "LABX", "hello world")),
        r.send(&get(None, "LABX")),
        r.send(&get(None, "LABGLOBAL")),
        r.send(&get(None, "NOSUCHVAR")),
        r.send(&set(Some(chan), "CHANVAR", "chan value: with colon")),
        r.send(&get(Some(chan), "CHANVAR")),
        r.send(&get(Some(chan), "CHANNEL(state)")),
        r.send(&get(Some(chan), "CALLERID(all)")),
        r.send(&get(Some("Local/nosuch@lab-00000000;1"), "X")),
        r.send(&RawAction::new("Getvar")),
        r.send(&RawAction::new("Setvar").field("Variable", "LABX")),
        r.send(&get(None, "LABX")),
    ];
    r.send(&Logoff);
    for lab in ["lab-2", "lab-6", "lab-9"] {
        assert_same_request(
            &r.written_request(lab),
            &Replay::recorded_request(name, lab),
            lab,
        );
    }
    r.run();
    let mut res: Vec<Result<Response, Error>> = ids.iter().map(|&id| typed(r.result(id))).collect();
    let value =
        |r: &Result<Response, Error>| r.as_ref().unwrap().get_str("Value").unwrap().to_owned();
    assert_eq!(value(&res[1]), "hello world");
    assert_eq!(value(&res[2]), "lab-global-value");
    assert_eq!(value(&res[3]), "", "empty, not missing");
    assert_eq!(value(&res[5]), "chan value: with colon");
    assert_eq!(value(&res[6]), "Up");
    assert_eq!(value(&res[7]), "\"\" <>");
    assert_eq!(value(&res[11]), "");
    assert_eq!(server_error(res.remove(9)), "No variable specified");
    assert_eq!(server_error(res.remove(8)), "No such channel");
}

#[test]
fn permission_denied_and_call_events_of_another_session() {
    let mut r = Replay::new("ami-permission-denied", Rewrite::All);
    let login = r.login(&Login::new("ro", "rosecret").events("on"));
    let ping = r.send(&Ping);
    let orig = r.send(&Originate::to_application("Local/wait@lab", "Wait", "1"));
    let cmd = r.send(&Command::new("core show version"));
    let chans = r.send(&CoreShowChannels);
    let getvar = r.send(&Getvar {
        channel: None,
        variable: "LABGLOBAL".into(),
    });
    let queue = r.send(&RawAction::new("QueueStatus").list());
    r.send(&Logoff);
    r.run();
    r.result(login).unwrap();
    typed::<Response>(r.result(ping)).unwrap();
    assert_eq!(
        server_error(typed::<OriginateResult>(r.result(orig))),
        "Permission denied"
    );
    assert_eq!(
        server_error(typed::<CommandOutput>(r.result(cmd))),
        "Permission denied"
    );
    assert_eq!(
        server_error(typed::<ListResult>(r.result(chans))),
        "Permission denied"
    );
    assert_eq!(
        server_error(typed::<Response>(r.result(getvar))),
        "Permission denied"
    );
    let q: ListResult = typed(r.result(queue)).unwrap();
    let kinds: Vec<_> = q
        .items
        .iter()
        .map(|i| i.get_str("Event").unwrap())
        .collect();
    assert_eq!(kinds, ["QueueParams", "QueueMember"]);
    assert_eq!(q.items[0].get_str("ServicelevelPerf"), Some("0.0"));
    let names = r.event_names();
    assert!(names.contains(&"Newchannel".to_owned()), "{names:?}");
    assert!(names.contains(&"Hangup".to_owned()), "{names:?}");
}

#[test]
fn unknown_action_message_is_a_server_error() {
    let mut r = Replay::new("ami-unknown-action", Rewrite::All);
    r.login(&lab_login("off"));
    let id = r.send(&RawAction::new("NoSuchAction"));
    r.send(&Logoff);
    r.run();
    assert_eq!(
        server_error(typed::<Response>(r.result(id))),
        "Invalid/unknown command: NoSuchAction. Use Action: ListCommands to show available commands."
    );
}

#[test]
fn unauthenticated_requests_are_refused_and_foreign_responses_unmatched() {
    let mut r = Replay::new("ami-unauthenticated", Rewrite::All);
    let ping = r.send(&Ping);
    let challenge = r.send(&RawAction::new("Challenge").field("AuthType", "plain"));
    let bye = r.send(&Logoff);
    r.run_to_eof();
    assert_eq!(
        server_error(typed::<Response>(r.result(ping))),
        "Permission denied"
    );
    assert_eq!(
        server_error(typed::<Response>(r.result(challenge))),
        "Must specify AuthType"
    );
    typed::<Response>(r.result(bye)).unwrap();
    // The reply to the request without Action (this client could not have
    // sent one) carries an id the connection does not own.
    let un = r.unmatched();
    assert_eq!(un.len(), 1);
    assert_eq!(un[0].get_str("ActionID"), Some("noaction-1"));
    assert_eq!(un[0].get_str("Message"), Some("Missing action in request"));
}

#[test]
fn framing_quirks_replies_are_unmatched_responses_in_order() {
    // The requests were hand-written oddities (LF-only, lower case, no space,
    // pipelined, blank lines); the replies are ordinary, some without
    // ActionID. Fed to a connection with no pending action they all come out
    // as unmatched responses, in order, with their ids.
    let rx = fixture("ami-framing-quirks.bin");
    let mut c = Connection::default();
    c.feed(&rx);
    let mut got = Vec::new();
    drain(&mut c, &mut got);
    let ids: Vec<Option<String>> = got
        .iter()
        .map(|g| match g {
            Got::Unmatched(m) => m.get_str("ActionID").map(str::to_owned),
            other => panic!("{other:?}"),
        })
        .collect();
    let want: Vec<Option<String>> = [
        Some("lab-1"),
        Some("lf-only"),
        Some("lower-1"),
        Some("nospace-1"),
        Some("UPPER-1"),
        Some("p1"),
        Some("p2"),
        Some("p3"),
        Some("split-1"),
        None,
        None,
        None,
        Some("afterblank"),
        Some("sp-1"),
        Some("sp-2"),
        Some("lab-2"),
    ]
    .iter()
    .map(|o| o.map(str::to_owned))
    .collect();
    assert_eq!(ids, want);
    match &got[14] {
        // Trailing spaces of a value are kept.
        Got::Unmatched(m) => assert_eq!(m.get_str("Value"), Some("padded value   ")),
        _ => unreachable!(),
    }
}

#[test]
fn framing_quirks_typed_setvar_with_padded_value_round_trips() {
    let name = "ami-framing-quirks";
    let mut r = Replay::new(name, Rewrite::All);
    let login = r.login(&lab_login("off"));
    r.until_done(login);
    r.skip("p2");
    // Only the requests a typed client writes identically are replayed;
    // the rest of the replies are unmatched.
    let set = r.send(&Setvar {
        channel: None,
        variable: "SPACEY".into(),
        value: "   padded value   ".into(),
    });
    let get = r.send(&Getvar {
        channel: None,
        variable: "SPACEY".into(),
    });
    r.run();
    typed::<Response>(r.result(set)).unwrap();
    let got: Response = typed(r.result(get)).unwrap();
    assert_eq!(got.get_str("Value"), Some("padded value   "));
}

#[test]
fn events_toggle_results_and_foreign_action_ids_are_events() {
    let mut r = Replay::new("ami-events-toggle", Rewrite::ResponsesOnly);
    r.login(&lab_login("on"));
    let masks = ["off", "on", "user", "system,call", "bogus"];
    let ids: Vec<_> = masks.iter().map(|m| r.send(&Events::mask(*m))).collect();
    let missing = r.send(&RawAction::new("Events"));
    let off = r.send(&Events::mask("off"));
    r.send(&Logoff);
    r.run();
    let states: Vec<String> = ids
        .iter()
        .map(|&id| {
            typed::<Response>(r.result(id))
                .unwrap()
                .get_str("Events")
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(states, ["Off", "On", "On", "On", "Off"]);
    assert_eq!(
        server_error(typed::<Response>(r.result(missing))),
        "Invalid event mask"
    );
    typed::<Response>(r.result(off)).unwrap();
    // Events carrying another session's ActionID (its UserEvent action,
    // its async Originate) are dispatched, not swallowed.
    let foreign: Vec<(String, String)> = r
        .events()
        .iter()
        .filter_map(|e| {
            Some((
                e.get_str("Event")?.to_owned(),
                e.get_str("ActionID")?.to_owned(),
            ))
        })
        .collect();
    assert!(
        foreign.contains(&("OriginateResponse".into(), "lab-2".into())),
        "{foreign:?}"
    );
    assert_eq!(
        foreign
            .iter()
            .filter(|(n, id)| n == "UserEvent" && id == "lab-3")
            .count(),
        2
    );
    assert!(r.unmatched().is_empty() && r.errors().is_empty());
}

#[test]
fn foreign_originate_response_does_not_complete_our_pending_originate() {
    // Our async Originate is pending when another session's
    // OriginateResponse with the same recorded id ("lab-2") arrives.
    let mut r = Replay::new("ami-originate-events", Rewrite::All);
    r.login(&lab_login("on"));
    let id = r.send(&Originate::to_application("Local/wait@lab", "Wait", "3").run_async());
    // Feed up to our "Originate successfully queued".
    while !r.map.contains_key("lab-2") || r.conn.pending_count() == 2 {
        assert!(r.step());
    }
    let foreign = b"Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: lab-2\r\nResponse: Failure\r\nChannel: Local/x@lab\r\nReason: 0\r\nUniqueid: <unknown>\r\n\r\n";
    r.conn.feed(foreign);
    drain(&mut r.conn, &mut r.got);
    assert!(
        !r.got
            .iter()
            .any(|g| matches!(g, Got::Done(d, _) if *d == id)),
        "a foreign OriginateResponse completed our originate"
    );
    let last = r.events().last().copied().cloned().unwrap();
    assert_eq!(last.get_str("ActionID"), Some("lab-2"));
    assert_eq!(last.get_str("Event"), Some("OriginateResponse"));
    r.run();
    let res: OriginateResult = typed(r.result(id)).unwrap();
    assert_eq!(res.outcome.unwrap().reason(), Some(4));
}

#[test]
fn userevent_action_and_its_broadcast() {
    let name = "ami-userevent";
    let mut r = Replay::new(name, Rewrite::All);
    r.login(&lab_login("on"));
    let ue = UserEvent::new("LabAction")
        .header("Foo", "bar")
        .header("Multi", "one")
        .header("Multi", "two");
    let id = r.send(&ue);
    assert_same_request(
        &r.written_request("lab-2"),
        &Replay::recorded_request(name, "lab-2"),
        "request",
    );
    let orig = r.send(&Originate::to_application("Local/userevent@lab", "Wait", "1").run_async());
    r.send(&Logoff);
    r.run_to_eof();
    let resp: Response = typed(r.result(id)).unwrap();
    assert_eq!(resp.message(), Some("Event Sent"));
    // Our own UserEvent comes back as an event (its action already completed).
    let ev = r
        .events()
        .into_iter()
        .find(|e| e.get_str("UserEvent") == Some("LabAction"))
        .expect("broadcast user event");
    let multi: Vec<String> = ev.get_all("Multi").map(|v| v.to_string()).collect();
    assert_eq!(multi, ["one", "two"]);
    assert!(r
        .events()
        .iter()
        .any(|e| e.get_str("UserEvent") == Some("LabEvent")));
    let res: OriginateResult = typed(r.result(orig)).unwrap();
    assert!(!res.outcome.unwrap().is_success());
}

#[test]
fn listcommands_coresettings_corestatus_ping_responses() {
    let mut r = Replay::new("ami-listcommands", Rewrite::All);
    r.login(&lab_login("off"));
    let id = r.send(&ListCommands);
    r.send(&Logoff);
    r.run();
    let resp: Response = typed(r.result(id)).unwrap();
    assert!(resp.get_str("Ping").unwrap().contains("Keepalive command"));
    assert!(resp.message_block().iter().count() > 90);
    assert_eq!(
        resp.get_str("Ping"),
        Some("Keepalive command.  (Priv: <none>)")
    );

    let mut r = Replay::new("ami-coresettings-corestatus", Rewrite::All);
    r.login(&lab_login("off"));
    let settings = r.send(&CoreSettings);
    let status = r.send(&CoreStatus);
    r.send(&Logoff);
    r.run();
    let s: Response = typed(r.result(settings)).unwrap();
    assert_eq!(s.get_str("AMIversion"), Some("11.0.0"));
    assert_eq!(s.get_str("AsteriskVersion"), Some("22.10.1"));
    let st: Response = typed(r.result(status)).unwrap();
    assert!(st.get("CoreCurrentCalls").unwrap().parse::<u32>().is_some());

    let mut r = Replay::new("ami-ping", Rewrite::All);
    r.login(&lab_login("off"));
    let ping = r.send(&Ping);
    r.send(&Logoff);
    r.run();
    let p: Response = typed(r.result(ping)).unwrap();
    assert_eq!(p.get_str("Ping"), Some("Pong"));
}

#[test]
fn getconfig_responses_through_raw_actions() {
    let mut r = Replay::new("ami-getconfig", Rewrite::All);
    r.login(&lab_login("off"));
    let conf = r.send(
        &RawAction::new("GetConfig")
            .field("Filename", "extensions.conf")
            .field("Category", "lab"),
    );
    let json = r.send(&RawAction::new("GetConfigJSON").field("Filename", "queues.conf"));
    let cats = r.send(&RawAction::new("ListCategories").field("Filename", "extensions.conf"));
    let missing = r.send(&RawAction::new("GetConfig").field("Filename", "nosuch.conf"));
    r.send(&Logoff);
    r.run();
    let c: Response = typed(r.result(conf)).unwrap();
    assert_eq!(c.get_str("Category-000000"), Some("lab"));
    assert!(c.get("Line-000000-000000").is_some());
    let j: Response = typed(r.result(json)).unwrap();
    assert!(j.get_str("JSON").unwrap().starts_with('{'));
    typed::<Response>(r.result(cats)).unwrap();
    assert!(typed::<Response>(r.result(missing)).is_err());
}

#[test]
fn agi_events_reach_handlers_while_originate_is_pending() {
    for (name, orig) in [
        (
            "ami-fastagi-events",
            Originate {
                caller_id: Some("FastAGI <200>".into()),
                ..Originate::to_extension("Local/agi-local@lab", "lab", "dtmf-late", "1")
            }
            .run_async(),
        ),
        (
            "ami-agi-script-events",
            Originate::to_application("Local/agi-script@lab", "Wait", "2").run_async(),
        ),
    ] {
        let mut r = Replay::new(name, Rewrite::All);
        r.login(&lab_login("on"));
        let id = r.send(&orig);
        assert_same_request(
            &r.written_request("lab-2"),
            &Replay::recorded_request(name, "lab-2"),
            name,
        );
        r.send(&Logoff);
        r.run_to_eof();
        typed::<OriginateResult>(r.result(id)).unwrap();
        let starts = r
            .events()
            .iter()
            .filter(|e| e.get_str("Event") == Some("AGIExecStart"))
            .count();
        let ends = r
            .events()
            .iter()
            .filter(|e| e.get_str("Event") == Some("AGIExecEnd"))
            .count();
        assert!(starts > 0 && starts == ends, "{name}: {starts} {ends}");
        assert!(r.errors().is_empty(), "{name}");
    }
}

#[test]
fn hangup_mid_stream_recording() {
    // This capture continues a session mid-stream: no greeting. Replayed
    // after a synthetic greeting, the two Hangup actions complete.
    let name = "ami-hangup-action";
    let rx = fixture(&format!("{name}.bin"));
    let mut c = Connection::default();
    c.feed(b"Asterisk Call Manager/11.0.0\r\n");
    let ok = c
        .send(&Hangup {
            channel: "Local/wait@lab-00000005;1".into(),
            cause: Some(16),
        })
        .unwrap();
    let missing = c
        .send(&Hangup {
            channel: "Local/nosuch@lab-00000000;1".into(),
            cause: None,
        })
        .unwrap();
    let out = String::from_utf8(c.pending_output().to_vec()).unwrap();
    let ids: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("ActionID: "))
        .collect();
    let text = String::from_utf8(rx)
        .unwrap()
        .replace("ActionID: lab-3\r\n", &format!("ActionID: {}\r\n", ids[0]))
        .replace("ActionID: lab-4\r\n", &format!("ActionID: {}\r\n", ids[1]));
    c.feed(text.as_bytes());
    let mut got = Vec::new();
    drain(&mut c, &mut got);
    let mut results = Vec::new();
    for g in got {
        if let Got::Done(id, r) = g {
            results.push((id, r));
        }
    }
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].0, ok);
    let ok_resp = Response::from_result(results.remove(0).1.unwrap()).unwrap();
    assert_eq!(ok_resp.message(), Some("Channel Hungup"));
    assert_eq!(results[0].0, missing);
    assert_eq!(
        server_error(Response::from_result(results.remove(0).1.unwrap())),
        "No such channel"
    );
}

#[test]
fn pending_actions_fail_closed_when_the_recording_ends_early() {
    let mut r = Replay::new("ami-command-version", Rewrite::All);
    r.login(&lab_login("off"));
    let cmd = r.send(&Command::new("core show version"));
    let never = r.send(&Ping);
    r.run_to_eof();
    typed::<CommandOutput>(r.result(cmd)).unwrap();
    let e = r.result(never).unwrap_err();
    assert!(matches!(e.root(), Error::Closed(_)), "{e:?}");
}

#[test]
fn md5_login_with_a_refused_challenge_fails() {
    // Asterisk refuses a Challenge it does not like ("Must specify
    // AuthType"); a login that never happened must not report success.
    let mut r = Replay::new("ami-unauthenticated", Rewrite::All);
    let login = r.login(&Login::new("lab", "labsecret").md5());
    r.run();
    match r.result(login) {
        Err(Error::AuthFailed { .. }) | Err(Error::Server { .. }) => {}
        other => panic!("refused challenge reported as {other:?}"),
    }
}

#[test]

fn async_originate_outcome_before_its_response_still_completes_it() {
    // Asterisk sends the ack from the manager thread and the
    // OriginateResponse from the originate thread: a fast failure can
    // overtake the ack. The outcome must not be lost.
    let mut c = Connection::default();
    c.feed(b"Asterisk Call Manager/11.0.0\r\n");
    let id = c
        .send(&Originate::to_application("Local/doesnotexist@lab", "Wait", "1").run_async())
        .unwrap();
    let out = String::from_utf8(c.pending_output().to_vec()).unwrap();
    let aid = out
        .lines()
        .find_map(|l| l.strip_prefix("ActionID: "))
        .unwrap()
        .to_owned();
    c.feed(
        format!(
            "Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: {aid}\r\nResponse: Failure\r\n\
             Channel: Local/doesnotexist@lab\r\nReason: 0\r\nUniqueid: <unknown>\r\n\r\n\
             Response: Success\r\nActionID: {aid}\r\nMessage: Originate successfully queued\r\n\r\n"
        )
        .as_bytes(),
    );
    let mut got = Vec::new();
    drain(&mut c, &mut got);
    let done = got.into_iter().find_map(|g| match g {
        Got::Done(d, r) if d == id => Some(r),
        _ => None,
    });
    let res: OriginateResult = typed(done.expect("originate completed")).unwrap();
    assert_eq!(res.outcome.unwrap().reason(), Some(0));
}
