//! The sans-IO `Connection`: reading into a full buffer, writing into a
//! writer that takes nothing, limits on messages and lists, and the legacy
//! `Response: Follows` command output arriving in pieces. Each test names the
//! hole it closes.

use std::io::{self, Read};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use asterisk_io::ami::actions::Ping;
use asterisk_io::ami::{Connection, Input, Manager, ManagerConfig};

/// A source that always has more events to give, cut wherever the
/// caller's buffer ends.
struct EndlessEvents {
    at: usize,
}

impl Read for EndlessEvents {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        const GREETING: &[u8] = b"Asterisk Call Manager/11.0.0\r\n";
        const EVENT: &[u8] = b"Event: Tick\r\n\r\n";
        for b in buf.iter_mut() {
            *b = match GREETING.get(self.at) {
                Some(&g) => g,
                None => EVENT[(self.at - GREETING.len()) % EVENT.len()],
            };
            self.at += 1;
        }
        Ok(buf.len())
    }
}

/// Draining readiness (reading until the source would block, before
/// parsing) used to fill the input buffer and then hand `read` an empty
/// slice: its `Ok(0)` was taken for the end of input and closed the connection.
#[test]
fn read_from_with_a_full_buffer_is_not_end_of_input() {
    for max in [100, 1 << 20] {
        let mut c = Connection::new(ManagerConfig::default().max_message_size(max));
        let mut src = EndlessEvents { at: 0 };
        let mut full = false;
        for _ in 0..1000 {
            match c.read_from(&mut src) {
                Ok(n) => assert!(n > 0, "a full buffer reported end of input (max {max})"),
                Err(_) => {
                    full = true;
                    break;
                }
            }
        }
        assert!(full, "the input buffer never filled (max {max})");
        let mut events = 0;
        while let Some(input) = c.next_input() {
            match input {
                Input::Event(_) => events += 1,
                other => panic!("{other:?}"),
            }
        }
        assert!(events > 1000);
        assert!(c.fatal_error().is_none(), "{:?}", c.fatal_error());
        // Room again once the buffered input is handled.
        assert!(c.read_from(&mut src).unwrap() > 0);
        assert!(c.next_input().is_some());
    }
}

/// A writer that could not take more (`Ok(0)`) used to leave the bytes it
/// had already taken queued, so they were written a second time.
#[test]
fn write_zero_does_not_send_written_bytes_twice() {
    let mut c = Connection::default();
    c.send(&Ping).unwrap();
    let all = c.pending_output().to_vec();
    let mut first = [0u8; 10];
    let mut w: &mut [u8] = &mut first;
    let e = c.write_to(&mut w).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::WriteZero);
    assert_eq!(first, all[..10]);
    assert_eq!(c.pending_output(), &all[10..]);
}

/// Once the connection is closed nothing more comes out of `next_input`, so
/// `has_buffered_input` must say so: hosts loop on it.
#[test]
fn nothing_is_buffered_once_closed() {
    let mut c = Connection::default();
    c.feed(b"Asterisk Call Manager/11.0.0\r\nEvent: A\r\n\r\nEvent: B\r\n\r\n");
    assert!(c.has_buffered_input());
    c.close();
    assert!(c.next_input().is_none());
    assert!(!c.has_buffered_input());

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut mgr = Manager::connect(listener.local_addr().unwrap()).unwrap();
    mgr.close();
    assert!(mgr.poll_events(Some(Duration::ZERO)).is_err());
    assert!(!mgr.has_buffered_input());
}

/// `max_message_size: usize::MAX` ("no limit") overflowed the buffer limit
/// computation in `read_from` (a panic in debug builds, a 32 KiB limit in
/// release ones) as soon as the read buffer needed to grow.
#[test]
fn an_unlimited_message_size_does_not_overflow() {
    let mut c = Connection::new(ManagerConfig::default().max_message_size(usize::MAX));
    let mut input = b"Asterisk Call Manager/11.0.0\r\nEvent: Big\r\n".to_vec();
    for i in 0..20_000 {
        input.extend_from_slice(format!("Line{i}: xxxxxxxxxxxxxxxx\r\n").as_bytes());
    }
    input.extend_from_slice(b"\r\n");
    let mut src = &input[..];
    let mut lines = None;
    while lines.is_none() {
        assert!(c.read_from(&mut src).unwrap() > 0);
        while let Some(input) = c.next_input() {
            match input {
                Input::Event(e) => lines = Some(e.message().len()),
                other => panic!("{other:?}"),
            }
        }
    }
    assert_eq!(lines, Some(20_001));
    assert!(c.fatal_error().is_none());
}

/// A list that outgrows `max_list_bytes` fails its action and "its
/// remaining items are then dispatched as ordinary events"; the item that
/// did not fit was neither kept nor dispatched, and silently lost.
#[test]
fn the_list_item_that_overflows_reaches_handlers() {
    use asterisk_io::ami::actions::CoreShowChannels;
    let mut c = Connection::new(ManagerConfig::default().max_list_bytes(1000));
    c.feed(b"Asterisk Call Manager/11.0.0\r\n");
    let id = c.send(&CoreShowChannels).unwrap();
    let out = String::from_utf8_lossy(c.pending_output()).into_owned();
    let aid = out
        .lines()
        .find_map(|l| l.strip_prefix("ActionID: "))
        .unwrap()
        .to_owned();
    c.feed(format!("Response: Success\r\nActionID: {aid}\r\nEventList: start\r\n\r\n").as_bytes());
    let total = 100;
    for n in 0..total {
        c.feed(
            format!("Event: CoreShowChannel\r\nActionID: {aid}\r\nChannel: X-{n:03}\r\n\r\n")
                .as_bytes(),
        );
    }
    let item_len =
        format!("Event: CoreShowChannel\r\nActionID: {aid}\r\nChannel: X-000\r\n\r\n").len();
    let fitting = 1000 / item_len;
    let mut failed = false;
    let mut dispatched = Vec::new();
    while let Some(input) = c.next_input() {
        match input {
            Input::Done(got, Err(_)) => {
                assert_eq!(got, id);
                assert!(dispatched.is_empty(), "the failure comes first");
                failed = true;
            }
            Input::Event(e) => dispatched.push(e.get_str("Channel").unwrap().to_owned()),
            other => panic!("{other:?}"),
        }
    }
    assert!(failed);
    assert_eq!(
        dispatched.first().map(String::as_str),
        Some(format!("X-{fitting:03}").as_str())
    );
    assert_eq!(dispatched.len(), total - fitting);
}

/// Legacy (`Response: Follows`) command output: the framer re-read the first
/// line of raw text from its start on every call, before and after it was
/// complete, so output trickling in cost time quadratic in that line's
/// length (about 7 s for a 300 KB line in 64-byte pieces in a debug build).
#[test]
fn legacy_command_output_is_not_rescanned() {
    use asterisk_io::ami::actions::Command;
    let mut c = Connection::default();
    c.feed(b"Asterisk Call Manager/1.3\r\n");
    let id = c.send(&Command::new("core show x")).unwrap();
    let out = String::from_utf8_lossy(c.pending_output()).into_owned();
    let aid = out
        .lines()
        .find_map(|l| l.strip_prefix("ActionID: "))
        .unwrap()
        .to_owned();
    c.feed(b"Response: Follows\r\nPri");
    assert!(c.next_input().is_none());
    c.feed(format!("vilege: Command\r\nActionID: {aid}\r\n").as_bytes());
    let line = vec![b'a'; 300_000];
    let start = Instant::now();
    for part in [&line[..], b"\n", &line[..], b"\n--END COMMAND--\r\n\r\n"] {
        for chunk in part.chunks(64) {
            c.feed(chunk);
            if let Some(input) = c.next_input() {
                match input {
                    Input::Done(got, Ok(r)) => {
                        assert_eq!(got, id);
                        assert_eq!(r.response.get_str("Privilege"), Some("Command"));
                        let lines = r.output.unwrap().lines;
                        assert_eq!(lines.len(), 2);
                        assert!(lines.iter().all(|l| l.len() == 300_000));
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
    }
    let took = start.elapsed();
    assert!(c.pending_count() == 0);
    assert!(took < Duration::from_millis(1500), "{took:?}");
}

fn legacy_conn(max: usize) -> (Connection, String) {
    use asterisk_io::ami::actions::Command;
    let mut c = Connection::new(ManagerConfig::default().max_message_size(max));
    c.feed(b"Asterisk Call Manager/1.3\r\n");
    c.send(&Command::new("core show x")).unwrap();
    let out = String::from_utf8_lossy(c.pending_output()).into_owned();
    let aid = out
        .lines()
        .find_map(|l| l.strip_prefix("ActionID: "))
        .unwrap()
        .to_owned();
    (c, aid)
}

fn summary(c: &mut Connection) -> Vec<String> {
    let mut seen = Vec::new();
    while let Some(input) = c.next_input() {
        seen.push(match input {
            Input::Event(e) => format!("event {}", e.name()),
            Input::Skipped(e) => format!("error {e}"),
            Input::Done(id, r) => format!("done {id} {}", r.is_ok()),
            Input::Unmatched(_) => "unmatched".into(),
        });
    }
    seen
}

/// An oversized legacy command output that arrived in pieces was skipped
/// only up to the first blank line of its CLI text: the rest of the text
/// was then framed as messages, one spurious error per blank line, where
/// the same bytes arriving at once gave one `Oversized` error.
#[test]
fn an_oversized_legacy_output_is_skipped_whole_at_every_split() {
    let (_, aid) = legacy_conn(1000);
    let mut body = String::new();
    for i in 0..200 {
        body.push_str(&format!("line {i}: some text\n"));
        if i % 10 == 0 {
            body.push('\n');
        }
    }
    let input = format!(
        "Response: Follows\r\nPrivilege: Command\r\nActionID: {aid}\r\n{body}--END COMMAND--\r\n\r\nEvent: After\r\n\r\n"
    );
    for chunk in [input.len(), 1000, 100, 7, 1] {
        let (mut c, aid2) = legacy_conn(1000);
        let input = input.replace(&aid, &aid2);
        let mut seen = Vec::new();
        for piece in input.as_bytes().chunks(chunk) {
            c.feed(piece);
            seen.extend(summary(&mut c));
        }
        assert_eq!(
            seen,
            [
                "error skipped message at byte 27: message larger than 1000 bytes",
                "event After"
            ],
            "pieces of {chunk}"
        );
    }
}

/// After `--END COMMAND--` the framer waited for the marker's line end
/// without a size check: a marker line that never ended grew the buffer
/// until the read buffer was full.
#[test]
fn an_endless_legacy_marker_line_is_bounded() {
    let (mut c, aid) = legacy_conn(1000);
    let mut input = format!(
        "Response: Follows\r\nPrivilege: Command\r\nActionID: {aid}\r\ntext\n--END COMMAND--"
    )
    .into_bytes();
    input.extend(std::iter::repeat_n(b'x', 500_000));
    input.extend_from_slice(b"\r\n\r\nEvent: After\r\n\r\n");
    let mut src = &input[..];
    let mut seen = Vec::new();
    while !src.is_empty() {
        c.read_from(&mut src).unwrap();
        seen.extend(summary(&mut c));
    }
    assert_eq!(
        seen,
        [
            "error skipped message at byte 27: message larger than 1000 bytes",
            "event After"
        ]
    );
}
