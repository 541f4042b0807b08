//! Malformed input, hostile bytes and injection attempts.
//!
//! The creed: a panic is our bug, never the input's. Whatever a server
//! sends, the connection answers with typed errors, keeps its memory
//! bounded, and goes on with the next good message where it can; whatever
//! a caller asks to send, a CR or LF never reaches the wire.

mod ami_support;

use ami_support::{drain, last_action_id as last_id, Got};
use asterisk_io::ami::actions::{
    Command, CoreShowChannels, Login, Originate, Ping, Setvar, UserEvent,
};
use asterisk_io::ami::codec::{Frame, Framer, FramerConfig, Status};
use asterisk_io::ami::{
    Action, Connection, EncodeError, Error, FieldWriter, Input, ManagerConfig, ProtocolError,
    RawAction, Skipped, State,
};
use proptest::prelude::*;

const GREETING: &[u8] = b"Asterisk Call Manager/11.0.0\r\n";
const G: u64 = GREETING.len() as u64;

fn open() -> Connection {
    let mut c = Connection::default();
    c.feed(GREETING);
    assert!(c.next_input().is_none());
    assert_eq!(c.state(), State::Open);
    c
}

fn small(max: usize) -> Connection {
    let mut c = Connection::new(ManagerConfig::default().max_message_size(max));
    c.feed(GREETING);
    assert!(c.next_input().is_none());
    c
}

fn all(c: &mut Connection) -> Vec<Got> {
    let mut v = Vec::new();
    drain(c, &mut v);
    v
}

fn event_names(got: &[Got]) -> Vec<String> {
    got.iter()
        .filter_map(|g| match g {
            Got::Event(e) => Some(e.get_str("Event").unwrap_or("?").to_owned()),
            _ => None,
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Truncation
// ---------------------------------------------------------------------------

#[test]
fn truncated_response_then_eof_fails_pending_actions_with_closed() {
    let mut c = open();
    let ping = c.send(&Ping).unwrap();
    let list = c.send(&CoreShowChannels).unwrap();
    let id = last_id(&c);
    c.feed(format!("Response: Success\r\nActionID: {id}\r\nEventList: start\r\n\r\n").as_bytes());
    c.feed(format!("Event: CoreShowChannel\r\nActionID: {id}\r\nChannel: A\r\n\r\n").as_bytes());
    // The last block is cut in the middle of a line.
    c.feed(format!("Event: CoreShowChannel\r\nActionID: {id}\r\nChan").as_bytes());
    assert!(all(&mut c).is_empty(), "nothing complete yet");
    c.feed_eof();
    let got = all(&mut c);
    match got.as_slice() {
        [
            // Never written (the test writes nothing out): not sent, and why.
            Got::Done(p, Err(Error::NotSent(why))),
            // Its list was arriving: what came is kept.
            Got::Done(l, Err(Error::Interrupted { partial, cause })),
        ] => {
            assert_eq!(*p, ping);
            assert!(matches!(**why, Error::Closed(_)));
            assert_eq!(*l, list);
            assert_eq!(partial.events.len(), 1);
            assert_eq!(partial.events[0].get_str("Channel"), Some("A"));
            assert!(matches!(**cause, Error::Closed(_)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.state(), State::Closed);
    // The same error keeps coming back.
    let e1 = c.send(&Ping).unwrap_err().to_string();
    let e2 = c.send(&Ping).unwrap_err().to_string();
    assert_eq!(e1, e2);
    assert!(matches!(c.fatal_error(), Some(Error::Closed(_))));
    assert!(c.next_input().is_none());
}

#[test]
fn truncated_block_at_every_length_then_eof_never_panics() {
    let block = b"Response: Success\r\nActionID: X\r\nMessage: Authentication accepted\r\n\r\n";
    for cut in 0..block.len() {
        let mut c = open();
        let ping = c.send(&Ping).unwrap();
        c.feed(&block[..cut]);
        all(&mut c);
        c.feed_eof();
        let got = all(&mut c);
        assert!(
            got.iter()
                .any(|g| matches!(g, Got::Done(id, Err(e)) if *id == ping && matches!(e.root(), Error::Closed(_)))),
            "cut {cut}: {got:?}"
        );
    }
}

#[test]
fn truncated_greeting_then_eof_is_closed() {
    let mut c = Connection::default();
    let ping = c.send(&Ping).unwrap();
    c.feed(b"Asterisk Call Man");
    assert!(c.next_input().is_none());
    c.feed_eof();
    match c.next_input() {
        Some(Input::Done(id, Err(e))) if matches!(e.root(), Error::Closed(_)) => {
            assert_eq!(id, ping)
        }
        other => panic!("{other:?}"),
    }
    assert!(c.next_input().is_none());
    assert!(matches!(c.fatal_error(), Some(Error::Closed(_))));
}

#[test]
fn eof_with_no_bytes_at_all_is_closed() {
    let mut c = Connection::default();
    c.feed_eof();
    assert!(c.next_input().is_none());
    assert!(matches!(c.fatal_error(), Some(Error::Closed(_))));
}

// ---------------------------------------------------------------------------
// Lines without a colon, messages without Response/Event
// ---------------------------------------------------------------------------

#[test]
fn line_without_colon_is_malformed_with_its_byte_offset_and_next_message_parses() {
    let mut c = open();
    let first = b"Event: Good\r\nA: 1\r\n\r\n";
    let bad = b"Event: Bad\r\nthis line has no colon\r\nB: 2\r\n\r\n";
    let next = b"Event: After\r\nC: 3\r\n\r\n";
    c.feed(first);
    c.feed(bad);
    c.feed(next);
    let got = all(&mut c);
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(matches!(&got[0], Got::Event(e) if e.get_str("Event") == Some("Good")));
    match &got[1] {
        Got::Skipped(Skipped { offset, kind }) => {
            assert_eq!(*kind, ProtocolError::MalformedLine);
            let line = G + first.len() as u64 + b"Event: Bad\r\n".len() as u64;
            assert_eq!(*offset, line);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&got[2], Got::Event(e) if e.get_str("C") == Some("3")));
    // A recoverable error does not end the connection.
    assert_eq!(c.state(), State::Open);
    assert!(c.send(&Ping).is_ok());
}

/// A response of ours with a line that has no colon used to be skipped, so
/// its action stayed pending (forever, before deadlines). It now completes
/// with the lines that parse, and says which lines were left out.
#[test]
fn malformed_response_of_a_pending_action_completes_it_flagged() {
    let mut c = open();
    let ping = c.send(&Ping).unwrap();
    let id = last_id(&c);
    let response = format!("Response: Success\r\nActionID: {id}\r\ngarbage\r\nPing: Pong\r\n\r\n");
    c.feed(response.as_bytes());
    let got = all(&mut c);
    match got.as_slice() {
        [Got::Done(d, Ok(r))] if *d == ping => {
            assert_eq!(r.response.get_str("Ping"), Some("Pong"));
            let line = G + response.find("garbage").unwrap() as u64;
            assert_eq!(r.malformed_lines, [line]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.pending_count(), 0);
}

#[test]
fn colon_less_lines_split_one_byte_at_a_time_give_the_same_offsets() {
    let input = b"Event: A\r\nx\r\n\r\nEvent: B\r\n\r\nnope\r\nEvent: C\r\n\r\n";
    let whole = {
        let mut c = open();
        c.feed(input);
        format!("{:?}", all(&mut c))
    };
    let mut c = open();
    let mut got = Vec::new();
    for b in input.chunks(1) {
        c.feed(b);
        drain(&mut c, &mut got);
    }
    assert_eq!(format!("{got:?}"), whole);
    assert!(whole.contains("offset: 40"), "{whole}"); // 30 greeting + 10
    assert!(whole.contains("offset: 57"), "{whole}"); // "nope" line
}

#[test]
fn message_with_neither_response_nor_event_is_a_typed_error() {
    let mut c = open();
    c.feed(b"Foo: bar\r\nBaz: qux\r\n\r\nEvent: Next\r\n\r\n");
    let got = all(&mut c);
    match &got[0] {
        Got::Skipped(Skipped { offset, kind }) => {
            assert_eq!(*kind, ProtocolError::NotResponseOrEvent);
            assert_eq!(*offset, G);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(&got[1], Got::Event(_)));
}

#[test]
fn non_utf8_values_are_data_not_errors() {
    let mut c = open();
    c.feed(b"Event: Newchannel\r\nCallerIDName: Jos\xe9 M\xfcller\r\nChannel: \xff\xfe\r\n\r\n");
    let got = all(&mut c);
    match &got[..] {
        [Got::Event(e)] => {
            let v = e.get("CallerIDName").unwrap();
            assert_eq!(v.as_bytes(), b"Jos\xe9 M\xfcller");
            assert!(v.as_str().is_none());
            assert_eq!(v.to_str_lossy(), "Jos\u{fffd} M\u{fffd}ller");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_second_response_for_a_completed_action_is_unmatched() {
    let mut c = open();
    let ping = c.send(&Ping).unwrap();
    let id = last_id(&c);
    let resp = format!("Response: Success\r\nActionID: {id}\r\nPing: Pong\r\n\r\n");
    c.feed(resp.as_bytes());
    c.feed(resp.as_bytes());
    let got = all(&mut c);
    assert!(matches!(&got[0], Got::Done(d, Ok(_)) if *d == ping));
    assert!(matches!(&got[1], Got::Unmatched(_)));
    assert_eq!(got.len(), 2);
}

// ---------------------------------------------------------------------------
// Oversized messages and bounded memory
// ---------------------------------------------------------------------------

#[test]
fn oversized_message_is_an_error_and_framing_resumes() {
    let mut c = small(1024);
    let big = format!("Event: Big\r\nData: {}\r\n\r\n", "x".repeat(5000));
    c.feed(b"Event: Before\r\n\r\n");
    c.feed(big.as_bytes());
    c.feed(b"Event: After\r\nK: v\r\n\r\n");
    let got = all(&mut c);
    assert_eq!(event_names(&got), ["Before", "After"], "{got:?}");
    let errs: Vec<_> = got
        .iter()
        .filter_map(|g| match g {
            Got::Skipped(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(errs.len(), 1, "{got:?}");
    let Skipped { offset, kind } = errs[0];
    assert_eq!(*kind, ProtocolError::Oversized { max: 1024 });
    assert_eq!(*offset, G + b"Event: Before\r\n\r\n".len() as u64);
}

#[test]

fn oversized_by_many_short_lines_fed_bytewise_also_resumes() {
    let mut c = small(256);
    let mut big = b"Event: Many\r\n".to_vec();
    for i in 0..200 {
        big.extend_from_slice(format!("K{i}: v\r\n").as_bytes());
    }
    big.extend_from_slice(b"\r\n");
    let mut got = Vec::new();
    for b in big.chunks(1) {
        c.feed(b);
        drain(&mut c, &mut got);
    }
    c.feed(b"Event: After\r\n\r\n");
    drain(&mut c, &mut got);
    assert_eq!(event_names(&got), ["After"], "{got:?}");
    let oversized = got
        .iter()
        .filter(|g| {
            matches!(
                g,
                Got::Skipped(Skipped {
                    kind: ProtocolError::Oversized { .. },
                    ..
                })
            )
        })
        .count();
    assert_eq!(oversized, 1);
}

#[test]
fn oversized_pending_response_then_the_real_one_completes() {
    let mut c = small(512);
    let cmd = c.send(&Command::new("core show help")).unwrap();
    let id = last_id(&c);
    let mut big =
        format!("Response: Success\r\nActionID: {id}\r\nMessage: Command output follows\r\n");
    for _ in 0..100 {
        big.push_str("Output: a line of help text\r\n");
    }
    big.push_str("\r\n");
    c.feed(big.as_bytes());
    let got = all(&mut c);
    assert!(matches!(
        got.as_slice(),
        [Got::Skipped(Skipped {
            kind: ProtocolError::Oversized { max: 512 },
            ..
        })]
    ));
    // The action is still pending; it fails cleanly at EOF.
    c.feed_eof();
    let got = all(&mut c);
    assert!(
        matches!(got.as_slice(), [Got::Done(d, Err(e))] if *d == cmd && matches!(e.root(), Error::Closed(_)))
    );
}

#[test]

fn oversized_block_end_split_between_cr_and_lf_does_not_swallow_the_next_message() {
    let mut c = small(64);
    let mut got = Vec::new();
    c.feed(format!("Event: Big\r\nData: {}\r\n\r", "x".repeat(100)).as_bytes());
    drain(&mut c, &mut got);
    c.feed(b"\nEvent: After\r\n\r\n");
    drain(&mut c, &mut got);
    assert!(has_oversized(&got), "{got:?}");
    assert_eq!(event_names(&got), ["After"], "{got:?}");
}

#[test]
fn oversized_block_end_in_one_chunk_resumes() {
    // The same as above with the blank line whole: the next message survives.
    let mut c = small(64);
    let mut got = Vec::new();
    c.feed(format!("Event: Big\r\nData: {}\r\n", "x".repeat(100)).as_bytes());
    drain(&mut c, &mut got);
    c.feed(b"\r\nEvent: After\r\n\r\n");
    drain(&mut c, &mut got);
    assert!(has_oversized(&got), "{got:?}");
    assert_eq!(event_names(&got), ["After"], "{got:?}");
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[test]
fn fifty_megabytes_without_a_newline_keep_memory_bounded() {
    let max = 64 * 1024;
    let mut c = small(max);
    let chunk = vec![b'A'; 64 * 1024];
    let before = rss_bytes();
    let mut errors = 0;
    let mut peak = 0;
    for _ in 0..(50 * 1024 * 1024 / chunk.len()) {
        c.feed(&chunk);
        while let Some(input) = c.next_input() {
            match input {
                Input::Skipped(Skipped {
                    kind: ProtocolError::Oversized { .. },
                    ..
                }) => errors += 1,
                other => panic!("{other:?}"),
            }
        }
        peak = peak.max(rss_bytes());
    }
    // One oversized error for the one endless block, not one per chunk.
    assert_eq!(errors, 1);
    // The stream carries on once the endless line ends.
    c.feed(b"\r\n\r\nEvent: Survivor\r\n\r\n");
    let got = all(&mut c);
    assert_eq!(event_names(&got), ["Survivor"], "{got:?}");
    if before > 0 {
        // 50 MiB went through; the connection holds at most max + a few
        // read chunks. Allow generous slack for the test harness.
        let grown = peak.saturating_sub(before);
        assert!(grown < 16 << 20, "RSS grew by {grown} bytes");
    }
}

#[test]
fn fifty_megabytes_of_one_huge_header_block_keep_memory_bounded() {
    let max = 64 * 1024;
    let mut c = small(max);
    let line = b"Key: value value value value value\r\n".repeat(1800);
    let before = rss_bytes();
    let mut peak = 0;
    c.feed(b"Event: Huge\r\n");
    let mut fed = 0;
    let mut errors = 0;
    while fed < 50 << 20 {
        c.feed(&line);
        fed += line.len();
        while let Some(input) = c.next_input() {
            match input {
                Input::Skipped(Skipped {
                    kind: ProtocolError::Oversized { .. },
                    ..
                }) => errors += 1,
                other => panic!("{other:?}"),
            }
        }
        peak = peak.max(rss_bytes());
    }
    assert_eq!(errors, 1);
    c.feed(b"\r\nEvent: Survivor\r\n\r\n");
    assert_eq!(event_names(&all(&mut c)), ["Survivor"]);
    if before > 0 {
        let grown = peak.saturating_sub(before);
        assert!(grown < 16 << 20, "RSS grew by {grown} bytes");
    }
}

#[test]

fn feed_of_a_large_valid_input_in_one_call_loses_nothing() {
    // 10,000 small events (~230 KB) fed in one call to a connection whose
    // message limit is 4 KiB: every one must come out.
    let mut c = small(4096);
    let mut input = Vec::new();
    for i in 0..10_000 {
        input.extend_from_slice(format!("Event: E\r\nN: {i}\r\n\r\n").as_bytes());
    }
    c.feed(&input);
    let got = all(&mut c);
    assert_eq!(event_names(&got).len(), 10_000);
}

#[test]
fn framer_alone_reports_oversized_then_skips_to_the_blank_line() {
    let mut f = Framer::new(FramerConfig::default().max_message_size(64));
    let input = [
        b"Event: X\r\n".as_slice(),
        &[b'y'; 200],
        b"\r\nmore: stuff\r\n\r\nEvent: Ok\r\n\r\n",
    ]
    .concat();
    let mut at = 0;
    let mut frames = Vec::new();
    while let Status::Complete(frame) = f.advance(&input[at..], false) {
        let len = frame.len();
        frames.push(frame);
        at += len;
    }
    assert_eq!(at, input.len());
    assert!(matches!(frames[0], Frame::Oversized { .. }));
    assert!(matches!(frames.last(), Some(Frame::Message { .. })));
    assert_eq!(
        frames
            .iter()
            .filter(|f| matches!(f, Frame::Message { .. }))
            .count(),
        1
    );
}

// ---------------------------------------------------------------------------
// Legacy command output
// ---------------------------------------------------------------------------

#[test]
fn legacy_command_output_truncated_then_eof_fails_closed() {
    let mut c = open();
    let cmd = c.send(&Command::new("core show uptime")).unwrap();
    let id = last_id(&c);
    c.feed(format!("Response: Follows\r\nPrivilege: Command\r\nActionID: {id}\r\nSystem uptime: 5\nno end marker").as_bytes());
    assert!(all(&mut c).is_empty());
    c.feed_eof();
    let got = all(&mut c);
    assert!(
        matches!(got.as_slice(), [Got::Done(d, Err(e))] if *d == cmd && matches!(e.root(), Error::Closed(_)))
    );
}

fn legacy_over_limit(chunk: usize) -> Vec<Got> {
    let mut c = small(1024);
    c.send(&Command::new("core show help")).unwrap();
    let id = last_id(&c);
    let mut text = format!("Response: Follows\r\nPrivilege: Command\r\nActionID: {id}\r\n");
    for _ in 0..200 {
        text.push_str("help help help help\n");
    }
    text.push_str("--END COMMAND--\r\n\r\nEvent: After\r\n\r\n");
    let mut got = Vec::new();
    for piece in text.as_bytes().chunks(chunk) {
        c.feed(piece);
        drain(&mut c, &mut got);
    }
    got
}

fn has_oversized(got: &[Got]) -> bool {
    got.iter().any(|g| {
        matches!(
            g,
            Got::Skipped(Skipped {
                kind: ProtocolError::Oversized { .. },
                ..
            })
        )
    })
}

#[test]
fn legacy_command_output_over_the_limit_in_pieces_is_oversized_and_the_stream_resumes() {
    let got = legacy_over_limit(700);
    assert!(has_oversized(&got), "{got:?}");
    assert_eq!(event_names(&got), ["After"], "{got:?}");
}

#[test]

fn legacy_command_output_over_the_limit_is_oversized_whatever_the_chunking() {
    // 4 KB of legacy output with a 1 KiB limit: refused when it arrives in
    // pieces, but accepted whole when it arrives in one read.
    let whole = legacy_over_limit(usize::MAX);
    assert!(has_oversized(&whole), "{whole:?}");
    assert_eq!(event_names(&whole), ["After"]);
}

// ---------------------------------------------------------------------------
// Greetings
// ---------------------------------------------------------------------------

fn greeting_error(bytes: &[u8]) -> Error {
    let mut c = Connection::default();
    let ping = c.send(&Ping).unwrap();
    c.feed(bytes);
    let got = all(&mut c);
    // The pending action fails with the fatal error itself (it was never
    // written out, so: not sent, because of it).
    let e = c.fatal_error().cloned().expect("fatal error");
    match got.as_slice() {
        [Got::Done(id, Err(err))] => {
            assert_eq!(*id, ping);
            assert!(matches!(err, Error::NotSent(_)));
            assert_eq!(err.root().to_string(), e.to_string());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.state(), State::Closed);
    assert_eq!(c.send(&Ping).unwrap_err().to_string(), e.to_string());
    e
}

#[test]
fn non_ami_greetings_are_fatal_bad_greeting_errors() {
    for bytes in [
        b"SSH-2.0-OpenSSH_9.6\r\n".as_slice(),
        b"HTTP/1.1 400 Bad Request\r\n\r\n",
        b"220 smtp.example ESMTP\r\n",
        b"\xff\xfe\xfd/\xff\r\n",
        b"\r\n",
        b"Asterisk Call Manager 11.0.0\r\n",
    ] {
        match greeting_error(bytes) {
            Error::Protocol {
                offset: 0,
                kind: ProtocolError::BadGreeting(_),
            } => {}
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bytes)),
        }
    }
}

#[test]
fn endless_greeting_line_is_refused_not_buffered() {
    let mut c = Connection::default();
    for _ in 0..100 {
        c.feed(&[b'A'; 1024]);
        let _ = all(&mut c);
        if c.fatal_error().is_some() {
            break;
        }
    }
    assert!(matches!(
        c.fatal_error(),
        Some(Error::Protocol {
            kind: ProtocolError::BadGreeting(_),
            ..
        })
    ));
}

#[test]
fn odd_but_valid_greetings_are_accepted() {
    for (bytes, version) in [
        (b"Asterisk Call Manager/1.1\n".as_slice(), "1.1"),
        (b"Asterisk Call Manager/11.0.0\r\n", "11.0.0"),
        (b"Asterisk Call Manager/2.10.6 \r\n", "2.10.6"),
    ] {
        let mut c = Connection::default();
        c.feed(bytes);
        assert!(c.next_input().is_none());
        assert_eq!(c.state(), State::Open);
        assert_eq!(c.greeting().unwrap().version, version);
    }
}

// ---------------------------------------------------------------------------
// Injection through actions
// ---------------------------------------------------------------------------

/// Sends `action` on a connection that already has output queued and checks
/// it is refused with the expected encode error and nothing is appended.
fn refused<A: Action>(action: &A) -> EncodeError {
    let mut c = open();
    c.send(&Ping).unwrap();
    let before = c.pending_output().to_vec();
    let pending = c.pending_count();
    let e = match c.send(action) {
        Err(Error::Encode(e)) => e,
        other => panic!("expected Error::Encode, got {other:?}"),
    };
    assert_eq!(c.pending_output(), &before[..], "nothing appended");
    assert_eq!(c.pending_count(), pending, "nothing pending");
    // The connection is still usable and the next action is written whole.
    c.send(&Ping).unwrap();
    let out = String::from_utf8(c.pending_output().to_vec()).unwrap();
    assert_eq!(out.matches("Action: Ping\r\n").count(), 2);
    assert!(!out.contains("Hangup"), "{out}");
    e
}

const INJECTIONS: &[&str] = &[
    "x\r\nAction: Hangup\r\nChannel: PJSIP/100",
    "x\nAction: Hangup",
    "x\rAction: Hangup",
    "\r\n",
    "x\r\n\r\nAction: Hangup\r\n\r\n",
];

#[test]
fn crlf_in_raw_action_values_is_refused_and_nothing_written() {
    for v in INJECTIONS {
        let e = refused(
            &RawAction::new("Setvar")
                .field("Variable", "X")
                .field("Value", *v),
        );
        assert_eq!(
            e,
            EncodeError::LineBreakInValue {
                key: "Value".into()
            }
        );
    }
}

#[test]
fn crlf_colon_or_empty_in_raw_action_keys_is_refused() {
    for k in [
        "Va\r\nlue",
        "Val\nue",
        "Val\rue",
        "Action: Hangup",
        "Key:",
        "",
    ] {
        let e = refused(&RawAction::new("Setvar").field(k, "x"));
        assert!(matches!(e, EncodeError::InvalidKey { .. }), "{k:?}: {e:?}");
    }
}

#[test]
fn crlf_colon_or_empty_in_action_names_is_refused() {
    for n in [
        "Ping\r\nAction: Hangup",
        "Ping\n",
        "\rPing",
        "Action: Ping",
        "",
    ] {
        let e = refused(&RawAction::new(n));
        assert!(
            matches!(e, EncodeError::InvalidActionName { .. }),
            "{n:?}: {e:?}"
        );
    }
}

#[test]
fn crlf_in_typed_setvar_value_is_refused() {
    for v in INJECTIONS {
        let e = refused(&Setvar {
            channel: Some("PJSIP/100-00000001".into()),
            variable: "X".into(),
            value: (*v).into(),
        });
        assert!(matches!(e, EncodeError::LineBreakInValue { ref key } if key == "Value"));
    }
    let e = refused(&Setvar {
        channel: Some("PJSIP/1\r\nAction: Hangup".into()),
        variable: "X".into(),
        value: "v".into(),
    });
    assert!(matches!(e, EncodeError::LineBreakInValue { ref key } if key == "Channel"));
}

#[test]
fn crlf_in_typed_command_and_originate_fields_is_refused() {
    let e = refused(&Command::new("core show version\r\nAction: Hangup"));
    assert!(matches!(e, EncodeError::LineBreakInValue { .. }));
    let e = refused(
        &Originate::to_application("Local/1@ctx", "Wait", "1").variable("A", "1\r\nAction: Hangup"),
    );
    assert!(matches!(e, EncodeError::LineBreakInValue { ref key } if key == "Variable"));
    let e = refused(&Originate::to_application("Local/1@ctx", "Wait", "1").variable("A\nB", "1"));
    assert!(matches!(e, EncodeError::LineBreakInValue { .. }));
    let e = refused(&Originate::to_application("Local/1@ctx", "Wait", "1").variable("A=B", "1"));
    assert!(matches!(e, EncodeError::InvalidVariableName { .. }));
    // A later field refused after earlier ones were written: still nothing.
    let e = refused(
        &Originate::to_application("Local/1@ctx", "Wait", "1").caller_id("Evil <1>\r\nX: y"),
    );
    assert!(matches!(e, EncodeError::LineBreakInValue { ref key } if key == "CallerID"));
}

#[test]
fn crlf_in_user_event_headers_is_refused() {
    let e = refused(&UserEvent::new("Lab").header("Foo", "bar\r\nAction: Hangup"));
    assert!(matches!(e, EncodeError::LineBreakInValue { .. }));
    let e = refused(&UserEvent::new("Lab").header("Fo\no", "bar"));
    assert!(matches!(e, EncodeError::InvalidKey { .. }));
    let e = refused(&UserEvent::new("Lab").header("Action: Hangup", "bar"));
    assert!(matches!(e, EncodeError::InvalidKey { .. }));
    let e = refused(&UserEvent::new("Lab\r\nAction: Hangup"));
    assert!(matches!(e, EncodeError::LineBreakInValue { .. }));
}

#[test]
fn crlf_in_login_fields_is_refused_and_secret_not_echoed() {
    let mut c = open();
    let before = c.pending_output().to_vec();
    let e = c
        .login(&Login::new("lab", "secret\r\nAction: Hangup"))
        .unwrap_err();
    assert!(matches!(
        e,
        Error::Encode(EncodeError::LineBreakInValue { .. })
    ));
    assert!(!e.to_string().contains("Hangup"), "{e}");
    assert_eq!(c.pending_output(), &before[..]);
    let e = c.login(&Login::new("lab\nx", "s")).unwrap_err();
    assert!(matches!(e, Error::Encode(_)));
    let e = c
        .login(&Login::new("lab", "s").events("on\r\nAction: Hangup"))
        .unwrap_err();
    assert!(matches!(e, Error::Encode(_)));
    assert_eq!(c.pending_output(), &before[..]);
    assert_eq!(c.pending_count(), 0);
}

#[test]
fn crlf_in_md5_login_username_is_refused_when_the_login_is_written() {
    // The MD5 login writes its Login after the challenge arrives; a bad
    // username must fail the login then, not reach the wire.
    let mut c = open();
    let id = c
        .login(&Login::new("lab\r\nAction: Hangup", "s").md5())
        .unwrap();
    let aid = last_id(&c);
    let n = c.pending_output().len();
    c.consume_output(n);
    c.feed(format!("Response: Success\r\nActionID: {aid}\r\nChallenge: 123\r\n\r\n").as_bytes());
    let got = all(&mut c);
    assert!(
        matches!(got.as_slice(), [Got::Done(d, Err(Error::Encode(_)))] if *d == id),
        "{got:?}"
    );
    assert!(
        c.pending_output().is_empty(),
        "{:?}",
        String::from_utf8_lossy(c.pending_output())
    );
}

#[test]
fn field_writer_refuses_line_breaks_in_displayed_values() {
    struct Evil;
    impl std::fmt::Display for Evil {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("1\r\nAction: Hangup")
        }
    }
    let mut out = b"Action: Ping\r\n".to_vec();
    let e = FieldWriter::new(&mut out)
        .display("Timeout", &Evil)
        .unwrap_err();
    assert!(matches!(e, EncodeError::LineBreakInValue { .. }));
    assert_eq!(out, b"Action: Ping\r\n");
}

// ---------------------------------------------------------------------------
// Random bytes
// ---------------------------------------------------------------------------

/// Bytes biased towards what AMI parsers care about.
fn noisy_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => any::<u8>().prop_map(|b| vec![b]),
        2 => Just(b"\r\n".to_vec()),
        2 => Just(b"\n".to_vec()),
        1 => Just(b"\r".to_vec()),
        2 => Just(b": ".to_vec()),
        1 => Just(b"Event: ".to_vec()),
        1 => Just(b"Response: ".to_vec()),
        1 => Just(b"Response: Follows\r\n".to_vec()),
        1 => Just(b"--END COMMAND--".to_vec()),
        1 => Just(b"ActionID: ".to_vec()),
        1 => Just(b"EventList: Complete\r\n".to_vec()),
        1 => Just(b"Event: OriginateResponse\r\n".to_vec()),
        1 => Just(b"\r\n\r\n".to_vec()),
    ];
    prop::collection::vec(piece, 0..400).prop_map(|v| v.concat())
}

fn feed_in_chunks(c: &mut Connection, bytes: &[u8], cuts: &[usize]) {
    let mut at = 0;
    for &cut in cuts {
        let to = (at + cut).min(bytes.len());
        c.feed(&bytes[at..to]);
        let _ = all(c);
        at = to;
    }
    c.feed(&bytes[at..]);
    let _ = all(c);
    c.feed_eof();
    let _ = all(c);
    assert!(c.next_input().is_none());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_after_a_greeting_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..2048),
        cuts in prop::collection::vec(0usize..300, 0..8),
    ) {
        let mut c = small(128);
        feed_in_chunks(&mut c, &bytes, &cuts);
    }

    #[test]
    fn random_bytes_as_a_greeting_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let mut c = Connection::default();
        c.send(&Ping).unwrap();
        feed_in_chunks(&mut c, &bytes, &[]);
        prop_assert_eq!(c.state(), State::Closed);
    }

}

proptest! {
    // Generating AMI-flavoured noise is the slow part in a debug build.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn ami_flavoured_noise_with_actions_pending_never_panics(
        bytes in noisy_bytes(),
        cuts in prop::collection::vec(0usize..200, 0..10),
        max in 64usize..512,
    ) {
        let mut c = small(max);
        // Pending actions of every shape, so list, originate and legacy
        // command paths are live while the noise arrives.
        c.send(&Command::new("core show uptime")).unwrap();
        c.send(&CoreShowChannels).unwrap();
        c.send(&Originate::to_application("Local/1@x", "Wait", "1").run_async()).unwrap();
        c.send(&Ping).unwrap();
        feed_in_chunks(&mut c, &bytes, &cuts);
        prop_assert_eq!(c.pending_count(), 0);
    }

    #[test]
    fn noise_with_our_own_action_ids_never_panics(
        pieces in prop::collection::vec((0usize..6, noisy_bytes()), 0..6),
    ) {
        let mut c = small(256);
        c.send(&Command::new("x")).unwrap();
        let cmd = last_id(&c);
        c.send(&CoreShowChannels).unwrap();
        let list = last_id(&c);
        c.send(&Originate::to_application("Local/1@x", "Wait", "1").run_async()).unwrap();
        let orig = last_id(&c);
        let mut input = Vec::new();
        for (kind, noise) in pieces {
            let id = [&cmd, &list, &orig][kind % 3];
            match kind {
                0 => input.extend_from_slice(format!("Response: Success\r\nActionID: {id}\r\nEventList: start\r\n\r\n").as_bytes()),
                1 => input.extend_from_slice(format!("Event: X\r\nActionID: {id}\r\n").as_bytes()),
                2 => input.extend_from_slice(format!("Response: Follows\r\nActionID: {id}\r\n").as_bytes()),
                3 => input.extend_from_slice(format!("Event: OriginateResponse\r\nActionID: {id}\r\nEventList: Complete\r\n\r\n").as_bytes()),
                _ => {}
            }
            input.extend_from_slice(&noise);
        }
        feed_in_chunks(&mut c, &input, &[7, 13, 1, 100]);
    }

    #[test]
    fn framer_on_random_bytes_never_panics_and_always_progresses(
        bytes in noisy_bytes(),
        legacy in any::<bool>(),
        max in 0usize..300,
    ) {
        let mut f = Framer::new(FramerConfig::default().max_message_size(max));
        let mut at = 0;
        while let Status::Complete(frame) = f.advance(&bytes[at..], legacy) {
            let len = frame.len();
            // A Complete frame always consumes something and stays in bounds.
            prop_assert!(len > 0);
            prop_assert!(at + len <= bytes.len());
            if let Frame::Message { .. } | Frame::Malformed { .. } | Frame::LegacyCommand { .. } = frame {
                for h in f.headers() {
                    prop_assert!(h.key.end() <= len && h.value.end() <= len);
                    prop_assert!(h.key.start() <= h.key.end() && h.value.start() <= h.value.end());
                }
            }
            at += len;
        }
    }
}
