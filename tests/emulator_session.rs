//! The emulator's client sessions: a client that stops reading, and one
//! that half-closes after its last request.

mod ami_support;
use ami_support::EmuThread;
use std::io::{Read, Write};
use std::time::Duration;

use asterisk_io::emu::EmulatorConfig;

/// A client that stops reading made the emulator queue every event for it,
/// without limit. It is disconnected once its unsent output passes
/// `MAX_OUTPUT`, as Asterisk drops a session whose writes time out.
#[test]
fn the_emulator_drops_a_client_that_stops_reading() {
    use asterisk_io::emu::{ClientSession, MAX_OUTPUT};
    use std::rc::Rc;
    let mut s = ClientSession::new(Rc::new(EmulatorConfig::default().user("u", "p")));
    s.feed(b"Action: Login\r\nUsername: u\r\nSecret: p\r\n\r\n");
    assert!(s.is_authenticated());
    let ev = vec![
        ("Event".to_owned(), "Newchannel".to_owned()),
        ("Channel".to_owned(), "PJSIP/100-00000001".to_owned()),
        ("Uniqueid".to_owned(), "1700000000.1".to_owned()),
    ];
    let block = 74; // the bytes of one such event
    for _ in 0..(MAX_OUTPUT / block + 1000) {
        s.push_event(&ev);
        assert!(s.output().len() <= MAX_OUTPUT);
    }
    assert!(s.is_closing());
    // A closing session takes no more requests either.
    s.feed(b"Action: Ping\r\n\r\n");
    assert!(s.output().is_empty());
}

/// A client that sends its last request and then closes its side (as
/// `printf 'Action: Logoff...' | nc` does) got no reply: the emulator
/// dropped the session on end of input with the reply still unwritten.
#[test]
fn the_emulator_answers_a_client_that_half_closes() {
    let emu = EmuThread::start();
    let mut s = std::net::TcpStream::connect(emu.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"Action: Logoff\r\nActionID: 9\r\n\r\n")
        .unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut got = String::new();
    s.read_to_string(&mut got).unwrap();
    assert!(got.starts_with("Asterisk Call Manager/"), "{got}");
    assert!(
        got.contains("Response: Goodbye\r\nActionID: 9\r\n"),
        "{got:?}"
    );
}
