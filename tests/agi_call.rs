//! Async sessions (`CallTask`) over the sans-IO `Session`, stepped with
//! reply bytes: no sockets, no clock (time is handed in).

use asterisk_io::agi::call::{oneshot, Call, CallTask, Canceled};
use asterisk_io::agi::commands::{
    Answer, Exec, GetData, GetVariable, Hangup, SayNumber, StreamFile, WaitForDigit,
};
use asterisk_io::agi::session::{Direction, Session};
use asterisk_io::agi::{AgiError, HangupSource, Limits};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

const ENV: &[u8] = b"agi_network: yes\nagi_network_script: ivr\nagi_channel: SIP/a-1\n\n";

type Log = Rc<RefCell<Vec<String>>>;

struct Drv {
    session: Session<CallTask>,
    out: Vec<u8>,
}

impl Drv {
    fn start(task: CallTask) -> Drv {
        let mut d = Drv {
            session: Session::new(Limits::default()),
            out: Vec::new(),
        };
        let mut task = Some(task);
        let p = d
            .session
            .handle_input(ENV, &mut d.out, |_| task.take(), &mut |_, _| {});
        assert_eq!(p.consumed, ENV.len());
        d
    }

    fn feed(&mut self, bytes: &[u8]) -> bool {
        let p = self.session.handle_input(
            bytes,
            &mut self.out,
            |_| None,
            &mut |_: Direction, _: &[u8]| {},
        );
        assert_eq!(p.consumed, bytes.len());
        p.done
    }

    fn time(&mut self, now: Instant) -> bool {
        self.session.handle_time(now, &mut self.out, &mut |_, _| {})
    }

    fn resume(&mut self) -> bool {
        self.session.resume(&mut self.out, &mut |_, _| {})
    }

    /// The lines written since the last call.
    fn sent(&mut self) -> String {
        String::from_utf8(std::mem::take(&mut self.out)).unwrap()
    }
}

fn push(log: &Log, s: impl Into<String>) {
    log.borrow_mut().push(s.into());
}

/// The IVR of the issue: menu, one digit, three tries, then the operator.
async fn ivr(call: Call, log: Log) -> Result<(), AgiError> {
    let r: Result<(), AgiError> = async {
        call.run(Answer).await?;
        for _ in 0..3 {
            let d = call
                .run(GetData::new("menu").timeout_ms(5000).max_digits(1))
                .await?;
            match d.digits.as_str() {
                "1" => {
                    call.run(StreamFile::new("sales", "")).await?;
                    return Ok(());
                }
                _ => {
                    call.run(StreamFile::new("invalid", "")).await?;
                }
            }
        }
        call.run(Exec::new("Transfer", "SIP/operator")).await?;
        Ok(())
    }
    .await;
    // Cleanup runs whatever happened.
    push(
        &log,
        format!("end {:?}", r.as_ref().map_err(|e| e.to_string())),
    );
    r
}

#[test]
fn ivr_three_wrong_digits_then_transfer() {
    let log = Log::default();
    let l = log.clone();
    let mut d = Drv::start(CallTask::new(move |call| ivr(call, l)));
    assert_eq!(d.sent(), "ANSWER\n");
    assert!(!d.feed(b"200 result=0\n"));
    for _ in 0..3 {
        assert_eq!(d.sent(), "GET DATA menu 5000 1\n");
        assert!(!d.feed(b"200 result=9\n"));
        assert_eq!(d.sent(), "STREAM FILE invalid \"\"\n");
        assert!(!d.feed(b"200 result=0 endpos=100\n"));
    }
    assert_eq!(d.sent(), "EXEC Transfer SIP/operator\n");
    assert!(d.feed(b"200 result=0\n"));
    assert_eq!(d.sent(), "");
    assert_eq!(*log.borrow(), ["end Ok(())"]);
    assert!(matches!(
        d.session.handler().unwrap().result(),
        Some(Ok(()))
    ));
}

#[test]
fn ivr_right_digit_on_second_try() {
    let log = Log::default();
    let l = log.clone();
    let mut d = Drv::start(CallTask::new(move |call| ivr(call, l)));
    d.feed(b"200 result=0\n");
    d.feed(b"200 result=5\n");
    d.feed(b"200 result=0 endpos=1\n");
    d.sent();
    d.feed(b"200 result=1\n");
    assert_eq!(d.sent(), "STREAM FILE sales \"\"\n");
    assert!(d.feed(b"200 result=0 endpos=1\n"));
}

/// Hang-up at every await point: the cleanup after `?` runs, with the
/// error, and the session ends.
#[test]
fn eof_at_every_await_point_runs_the_cleanup() {
    for cut in 0..8 {
        let log = Log::default();
        let l = log.clone();
        let mut d = Drv::start(CallTask::new(move |call| ivr(call, l)));
        for _ in 0..cut {
            d.feed(b"200 result=9 endpos=0\n");
        }
        d.session.handle_eof();
        assert!(d.session.is_done());
        assert_eq!(
            *log.borrow(),
            ["end Err(\"channel hung up (end of stream)\")"],
            "cut {cut}"
        );
    }
}

/// After the HANGUP line the session goes on (cleanup may still talk to
/// the dead channel); 511 is the error of the next command.
#[test]
fn hangup_line_then_511_runs_cleanup_that_still_talks() {
    let log = Log::default();
    let l = log.clone();
    let mut d = Drv::start(CallTask::new(move |call: Call| async move {
        let r = call.run(StreamFile::new("hello", "")).await;
        push(&l, format!("{:?}", r.is_err()));
        let e = call.run(StreamFile::new("more", "")).await.unwrap_err();
        push(&l, format!("{e} {:?}", call.hung_up()));
        // Cleanup: allowed on a dead channel.
        let v = call.run(GetVariable::new("CDR(billsec)")).await?;
        push(&l, format!("{v:?}"));
        Ok(())
    }));
    assert_eq!(d.sent(), "STREAM FILE hello \"\"\n");
    d.feed(b"HANGUP\n200 result=0 endpos=10\n");
    assert_eq!(d.sent(), "STREAM FILE more \"\"\n");
    d.feed(b"511 Command Not Permitted on a dead channel or intercept routine\n");
    assert_eq!(d.sent(), "GET VARIABLE CDR(billsec)\n");
    assert!(d.feed(b"200 result=1 (7)\n"));
    assert_eq!(log.borrow()[0], "false");
    assert!(
        log.borrow()[1].contains("Some(HangupLine)"),
        "{:?}",
        log.borrow()
    );
    assert_eq!(log.borrow()[2], "Some(\"7\")");
}

#[test]
fn sleep_waits_for_the_host_clock() {
    let t0 = Instant::now();
    let log = Log::default();
    let l = log.clone();
    let task = CallTask::new(move |call: Call| async move {
        call.run(Answer).await?;
        call.sleep(Duration::from_secs(2)).await?;
        push(&l, "woke");
        call.run(Hangup::new()).await?;
        Ok(())
    });
    let mut d = Drv {
        session: Session::new(Limits::default()),
        out: Vec::new(),
    };
    let mut task = Some(task);
    d.session
        .handle_input(ENV, &mut d.out, |_| task.take(), &mut |_, _| {});
    assert_eq!(d.sent(), "ANSWER\n");
    d.time(t0);
    d.feed(b"200 result=0\n");
    assert_eq!(d.sent(), "");
    assert!(!d.session.is_done());
    assert!(!d.session.awaiting_reply());
    assert_eq!(d.session.poll_timeout(), Some(t0 + Duration::from_secs(2)));
    assert!(!d.time(t0 + Duration::from_secs(1)));
    assert_eq!(d.sent(), "");
    assert!(!d.time(t0 + Duration::from_secs(2)));
    assert_eq!(*log.borrow(), ["woke"]);
    assert_eq!(d.sent(), "HANGUP\n");
    assert_eq!(d.session.poll_timeout(), None);
    assert!(d.feed(b"200 result=1\n"));
}

#[test]
fn sleep_ends_early_on_hangup() {
    let t0 = Instant::now();
    let log = Log::default();
    let l = log.clone();
    let mut d = Drv::start(CallTask::new(move |call: Call| async move {
        let r = call.sleep(Duration::from_secs(60)).await;
        push(&l, format!("{r:?}"));
        r
    }));
    d.time(t0);
    assert_eq!(d.session.poll_timeout(), Some(t0 + Duration::from_secs(60)));
    assert!(d.feed(b"HANGUP\n"));
    assert_eq!(*log.borrow(), ["Err(HungUp(HangupLine))"]);
}

#[test]
fn oneshot_completed_by_the_host() {
    let log = Log::default();
    let l = log.clone();
    let (tx, rx) = oneshot::<String>();
    let mut d = Drv::start(CallTask::new(move |call: Call| async move {
        call.run(Answer).await?;
        let name = rx.await.unwrap_or_else(|Canceled| "nobody".into());
        push(&l, name.clone());
        call.run(StreamFile::new(name, "")).await?;
        Ok(())
    }));
    d.feed(b"200 result=0\n");
    assert_eq!(d.sent(), "ANSWER\n");
    assert!(!d.resume());
    assert_eq!(d.sent(), "");
    tx.send("welcome-back".into()).unwrap();
    assert!(!d.resume());
    assert_eq!(d.sent(), "STREAM FILE welcome-back \"\"\n");
    assert!(d.feed(b"200 result=0 endpos=5\n"));
    assert_eq!(*log.borrow(), ["welcome-back"]);
}

#[test]
fn dropped_sender_cancels_and_eof_drops_a_waiting_future() {
    let (tx, rx) = oneshot::<u32>();
    let mut d = Drv::start(CallTask::new(move |_call: Call| async move {
        assert_eq!(rx.await, Err(Canceled));
        Ok(())
    }));
    drop(tx);
    assert!(d.resume());

    // A session still waiting for a value when Asterisk goes away: the
    // future is dropped, the sender learns it.
    let (tx, rx) = oneshot::<u32>();
    let mut d = Drv::start(CallTask::new(move |_call: Call| async move {
        rx.await.ok();
        Ok(())
    }));
    assert!(!tx.is_closed());
    d.session.handle_eof();
    assert!(d.session.is_done());
    assert!(tx.is_closed());
    assert_eq!(tx.send(1), Err(1));
    assert!(d.session.handler().unwrap().result().is_none());
}

#[test]
fn woken_task_wakes_the_host_waker() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Wake, Waker};
    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (tx, rx) = oneshot::<()>();
    let mut d = Drv::start(CallTask::new(move |call: Call| async move {
        rx.await.ok();
        call.run(Hangup::new()).await?;
        Ok(())
    }));
    let count = Arc::new(Count(AtomicUsize::new(0)));
    use asterisk_io::agi::Handler;
    d.session
        .handler_mut()
        .unwrap()
        .set_waker(&Waker::from(count.clone()));
    tx.send(()).unwrap();
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert!(!d.resume());
    assert_eq!(d.sent(), "HANGUP\n");
    let _ = HangupSource::Eof;
}

/// Polls `a` then `b`; the first ready wins and the other is dropped.
struct First<A, B>(Pin<Box<A>>, Pin<Box<B>>);

impl<A: Future, B: Future> Future for First<A, B> {
    type Output = Result<A::Output, B::Output>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(a) = self.0.as_mut().poll(cx) {
            return Poll::Ready(Ok(a));
        }
        self.1.as_mut().poll(cx).map(Err)
    }
}

/// A command whose future is dropped while it is in flight (a timeout won
/// the race): its late reply goes to no one, and the next command waits
/// for it, since AGI runs one command at a time.
#[test]
fn command_dropped_mid_flight_its_reply_is_not_taken_for_the_next() {
    let t0 = Instant::now();
    let log = Log::default();
    let l = log.clone();
    let task = CallTask::new(move |call: Call| async move {
        let race = First(
            Box::pin(call.run(WaitForDigit::new(-1))),
            Box::pin(call.sleep(Duration::from_secs(3))),
        )
        .await;
        push(&l, format!("digit won: {}", race.is_ok()));
        let p = call.run(StreamFile::new("too-slow", "")).await?;
        push(&l, format!("endpos {:?}", p.endpos));
        Ok(())
    });
    let mut d = Drv {
        session: Session::new(Limits::default()),
        out: Vec::new(),
    };
    let mut task = Some(task);
    d.time(t0);
    d.session
        .handle_input(ENV, &mut d.out, |_| task.take(), &mut |_, _| {});
    d.time(t0);
    assert_eq!(d.sent(), "WAIT FOR DIGIT -1\n");
    assert!(!d.time(t0 + Duration::from_secs(3)));
    assert_eq!(*log.borrow(), ["digit won: false"]);
    // STREAM FILE waits for the WAIT FOR DIGIT reply.
    assert_eq!(d.sent(), "");
    assert!(!d.feed(b"200 result=49\n"));
    assert_eq!(d.sent(), "STREAM FILE too-slow \"\"\n");
    assert_eq!(log.borrow().len(), 1);
    assert!(d.feed(b"200 result=0 endpos=1234\n"));
    assert_eq!(*log.borrow(), ["digit won: false", "endpos Some(1234)"]);
}

/// Thousands of sessions stepped in memory, interleaved: every other one
/// waits for a value the host delivers after all the others went ahead.
#[test]
fn thousands_of_interleaved_sessions() {
    const N: usize = 5000;
    let done = Rc::new(RefCell::new(0usize));
    let mut senders = Vec::new();
    let mut drvs: Vec<Drv> = (0..N)
        .map(|i| {
            let (tx, rx) = oneshot::<usize>();
            let rx = (i % 2 == 0).then_some(rx);
            senders.push(tx);
            let done = done.clone();
            Drv::start(CallTask::new(move |call: Call| async move {
                call.run(Answer).await?;
                let n = match rx {
                    Some(rx) => rx.await.unwrap(),
                    None => i,
                };
                assert_eq!(n, i);
                call.run(SayNumber::new(n as i64, "")).await?;
                *done.borrow_mut() += 1;
                Ok(())
            }))
        })
        .collect();
    for d in &mut drvs {
        assert_eq!(d.sent(), "ANSWER\n");
        d.feed(b"200 result=0\n");
    }
    for (i, d) in drvs.iter_mut().enumerate() {
        if i % 2 == 1 {
            assert_eq!(d.sent(), format!("SAY NUMBER {i} \"\"\n"));
            assert!(d.feed(b"200 result=0\n"));
        } else {
            assert_eq!(d.sent(), "");
        }
    }
    assert_eq!(*done.borrow(), N / 2);
    for (i, tx) in senders.into_iter().enumerate() {
        let _ = tx.send(i);
    }
    for (i, d) in drvs.iter_mut().enumerate() {
        if i % 2 == 0 {
            assert!(!d.resume());
            assert_eq!(d.sent(), format!("SAY NUMBER {i} \"\"\n"));
            assert!(d.feed(b"200 result=0\n"));
        }
    }
    assert_eq!(*done.borrow(), N);
}

/// Garbage and oversized replies are typed errors of the command awaited,
/// never a panic; the session goes on.
#[test]
fn garbage_reply_is_an_error_of_the_awaited_command() {
    let log = Log::default();
    let l = log.clone();
    let mut d = Drv::start(CallTask::new(move |call: Call| async move {
        let r = call.run(Answer).await;
        push(&l, format!("{}", r.is_err()));
        let r = call.run(GetVariable::new("X")).await;
        push(&l, format!("{r:?}"));
        Ok(())
    }));
    assert_eq!(d.sent(), "ANSWER\n");
    d.feed(b"garbage \xff line\n");
    assert_eq!(d.sent(), "GET VARIABLE X\n");
    assert!(d.feed(b"200 result=1 (ok)\n"));
    assert_eq!(*log.borrow(), ["true", "Ok(Some(\"ok\"))"]);
}
