//! Time, cancellation and link generations in the sans-IO `Connection`:
//! the caller passes `now`, the connection says when it next needs it, and
//! no action is left pending without an end.

mod ami_support;
use ami_support::last_action_id;

use std::time::{Duration, Instant};

use asterisk_io::ami::actions::{CoreShowChannels, Login, Ping};
use asterisk_io::ami::{Connection, Error, Input};

const GREETING: &[u8] = b"Asterisk Call Manager/11.0.0\r\n";

fn open() -> Connection {
    let mut c = Connection::default();
    c.feed(GREETING);
    assert!(c.next_input().is_none());
    c
}

/// Every input available now, summarised.
fn drain(c: &mut Connection) -> Vec<String> {
    let mut seen = Vec::new();
    while let Some(input) = c.next_input() {
        seen.push(match input {
            Input::Event(e) => format!("event {}", e.name()),
            Input::Done(id, Ok(_)) => format!("done {id} ok"),
            Input::Done(id, Err(e)) => format!("done {id} err {e}"),
            Input::Unmatched(m) => format!("unmatched {}", m.get("Response").unwrap()),
            Input::Skipped(s) => format!("skipped {s}"),
        });
    }
    seen
}

/// A `call` that timed out used to leave its pending entry behind, and its
/// late result landed among the results. Now the deadline fails the action,
/// nothing stays pending, and the late reply is an unmatched response.
#[test]
fn a_timed_out_action_leaves_nothing_pending_and_its_late_reply_is_unmatched() {
    let mut c = open();
    let t0 = Instant::now();
    let id = c
        .send_with_timeout(&Ping, t0, Duration::from_secs(2))
        .unwrap();
    let aid = last_action_id(&c);
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(2)));

    c.handle_timeout(t0 + Duration::from_secs(1));
    assert!(drain(&mut c).is_empty(), "not yet");
    assert_eq!(c.pending_count(), 1);

    c.handle_timeout(t0 + Duration::from_secs(2));
    assert_eq!(drain(&mut c), [format!("done {id} err timed out after 2s")]);
    assert_eq!(c.pending_count(), 0);
    assert_eq!(c.poll_timeout(), None);

    c.feed(format!("Response: Success\r\nActionID: {aid}\r\nPing: Pong\r\n\r\n").as_bytes());
    assert_eq!(drain(&mut c), ["unmatched Success"]);
}

/// A list whose terminator never came kept the action pending forever, and
/// every later event went through the slow path that offers events to
/// pending lists. The deadline ends it; items that come later are events.
#[test]
fn a_list_without_its_terminator_times_out_and_later_items_are_events() {
    let mut c = open();
    let t0 = Instant::now();
    let id = c
        .send_with_timeout(&CoreShowChannels, t0, Duration::from_millis(500))
        .unwrap();
    let aid = last_action_id(&c);
    c.feed(
        format!(
            "Response: Success\r\nActionID: {aid}\r\nEventList: start\r\n\r\n\
             Event: CoreShowChannel\r\nActionID: {aid}\r\nChannel: A\r\n\r\n"
        )
        .as_bytes(),
    );
    assert!(drain(&mut c).is_empty(), "the item belongs to the list");
    c.handle_timeout(t0 + Duration::from_millis(500));
    assert_eq!(
        drain(&mut c),
        [format!("done {id} err timed out after 500ms")]
    );
    c.feed(format!("Event: CoreShowChannel\r\nActionID: {aid}\r\nChannel: B\r\n\r\n").as_bytes());
    assert_eq!(drain(&mut c), ["event CoreShowChannel"]);
    assert_eq!(c.pending_count(), 0);
}

#[test]
fn cancel_ends_the_action_with_cancelled_and_only_once() {
    let mut c = open();
    let id = c.send(&Ping).unwrap();
    let aid = last_action_id(&c);
    assert!(c.cancel(id));
    assert!(!c.cancel(id), "no longer pending");
    assert_eq!(
        drain(&mut c),
        [format!(
            "done {id} err action cancelled before its result arrived"
        )]
    );
    c.feed(format!("Response: Success\r\nActionID: {aid}\r\nPing: Pong\r\n\r\n").as_bytes());
    assert_eq!(drain(&mut c), ["unmatched Success"]);
}

/// The deadline of an MD5 login covers the challenge and the login after it,
/// and cancelling the login by its id works while the challenge is out.
#[test]
fn an_md5_login_keeps_its_deadline_across_the_challenge() {
    let mut c = open();
    let t0 = Instant::now();
    let id = c
        .login_with_timeout(&Login::new("u", "p").md5(), t0, Duration::from_secs(3))
        .unwrap();
    let challenge = last_action_id(&c);
    c.consume_output(c.pending_output().len());
    c.feed(
        format!("Response: Success\r\nActionID: {challenge}\r\nChallenge: 123456\r\n\r\n")
            .as_bytes(),
    );
    assert!(drain(&mut c).is_empty());
    assert!(String::from_utf8_lossy(c.pending_output()).contains("Key: "));
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(3)));
    c.handle_timeout(t0 + Duration::from_secs(3));
    assert_eq!(drain(&mut c), [format!("done {id} err timed out after 3s")]);
    assert_eq!(c.pending_count(), 0);
}

/// Ids are scoped to their connection and link generation: a reply on an
/// earlier link, or an id of another connection, is never matched.
#[test]
fn ids_of_another_connection_or_an_earlier_link_never_match() {
    let mut first = open();
    let old = first.send(&Ping).unwrap();
    let old_aid = last_action_id(&first);

    let mut next = first.successor();
    assert_eq!(next.generation(), 1);
    next.feed(GREETING);
    let new = next.send(&Ping).unwrap();
    assert_eq!(old.seq(), new.seq(), "sequences restart...");
    assert_ne!(old, new, "...but the ids differ");
    assert_eq!(new.generation(), 1);
    assert!(
        !next.cancel(old),
        "an earlier link's id is not pending here"
    );

    next.feed(format!("Response: Success\r\nActionID: {old_aid}\r\nPing: Pong\r\n\r\n").as_bytes());
    assert_eq!(drain(&mut next), ["unmatched Success"]);
    assert_eq!(next.pending_count(), 1);

    let mut other = open();
    assert!(!other.cancel(new));
    other.feed(format!("Response: Success\r\nActionID: {old_aid}\r\n\r\n").as_bytes());
    assert_eq!(drain(&mut other), ["unmatched Success"]);
}

/// After a refused login the connection has ended, with the refusal as
/// its error: `fatal_error` and the state agree at once.
#[test]
fn a_refused_login_ends_the_connection_at_once() {
    let mut c = open();
    let id = c.login(&Login::new("u", "bad")).unwrap();
    let aid = last_action_id(&c);
    let ping = c.send(&Ping).unwrap();
    c.feed(
        format!("Response: Error\r\nActionID: {aid}\r\nMessage: Authentication failed\r\n\r\n")
            .as_bytes(),
    );
    let seen = drain(&mut c);
    assert_eq!(
        seen,
        [
            format!("done {id} err authentication failed: Authentication failed"),
            format!("done {ping} err not sent (the link failed first): authentication failed: Authentication failed"),
        ]
    );
    assert!(matches!(c.fatal_error(), Some(e @ Error::AuthFailed { .. }) if e.is_fatal()));
    assert!(c.send(&Ping).is_err());
}
