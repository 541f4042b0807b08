//! Call records into SQLite, written from the manager's event handlers.
//!
//! The handlers share one `rusqlite::Connection` through an `Rc`: it is not
//! `Send` that way, and need not be, because handlers run on this thread,
//! inside `poll_events`. No lock, no channel, no thread.
//!
//! ```text
//! cargo run --example cdr_sqlite                      # against the built-in emulator
//! cargo run --example cdr_sqlite -- --db calls.db --addr 127.0.0.1:5038 --user admin --secret s3cret [--seconds N]
//! ```
//!
//! A call is a row per channel, keyed by its `Uniqueid`: `Newchannel`
//! inserts it, `Newstate` to Up stamps the answer time, `Hangup` the end
//! time and cause. Without `--addr` the example starts the emulator in the
//! same loop, has it play three short calls, and prints the table.

use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use asterisk_io::ami::actions::Login;
use asterisk_io::ami::events::{ChannelState, Hangup, Newchannel, Newstate};
use asterisk_io::ami::{Manager, Value};
use asterisk_io::driver::{Driver, Handle};
use asterisk_io::emu::{Emulator, EmulatorConfig};
use rusqlite::{params, Connection};

const T: Duration = Duration::from_secs(5);

struct Args {
    db: String,
    addr: Option<String>,
    user: String,
    secret: String,
    seconds: Option<u64>,
}

fn args() -> Result<Args, String> {
    let mut a = Args {
        db: "cdr.sqlite3".into(),
        addr: None,
        user: "admin".into(),
        secret: "s3cret".into(),
        seconds: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--db" => a.db = value()?,
            "--addr" => a.addr = Some(value()?),
            "--user" => a.user = value()?,
            "--secret" => a.secret = value()?,
            "--seconds" => a.seconds = Some(value()?.parse().map_err(|e| format!("--seconds: {e}"))?),
            _ => {
                return Err(
                    "usage: cdr_sqlite [--db FILE] [--addr HOST:PORT --user NAME --secret SECRET] [--seconds N]"
                        .into(),
                )
            }
        }
    }
    Ok(a)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn text(v: Option<Value<'_>>) -> Option<String> {
    v.map(|v| v.to_str_lossy().into_owned())
}

/// Opens the database and registers the handlers that fill it.
fn record_calls(mgr: &mut Manager, db: Rc<Connection>) -> rusqlite::Result<()> {
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS calls (
            uniqueid TEXT PRIMARY KEY,
            linkedid TEXT,
            channel TEXT,
            caller TEXT,
            exten TEXT,
            context TEXT,
            started INTEGER,
            answered INTEGER,
            ended INTEGER,
            cause INTEGER,
            cause_txt TEXT
        )",
    )?;
    // Each handler owns a clone of the Rc: plain shared ownership on one
    // thread. A failed write is reported and the connection goes on.
    let conn = db.clone();
    mgr.on(Newchannel, move |c, _ctx| {
        let r = conn.execute(
            "INSERT OR REPLACE INTO calls (uniqueid, linkedid, channel, caller, exten, context, started)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                text(c.uniqueid()),
                text(c.linkedid()),
                text(c.channel()),
                text(c.caller_id_num()),
                text(c.exten()),
                text(c.context()),
                now()
            ],
        );
        if let Err(e) = r {
            eprintln!("Newchannel: {e}");
        }
    });
    let conn = db.clone();
    mgr.on(Newstate, move |s, _ctx| {
        if s.channel_state() == Some(ChannelState::Up) {
            let r = conn.execute(
                "UPDATE calls SET answered = ?2 WHERE uniqueid = ?1 AND answered IS NULL",
                params![text(s.uniqueid()), now()],
            );
            if let Err(e) = r {
                eprintln!("Newstate: {e}");
            }
        }
    });
    let conn = db;
    mgr.on(Hangup, move |h, _ctx| {
        let r = conn.execute(
            "UPDATE calls SET ended = ?2, cause = ?3, cause_txt = ?4 WHERE uniqueid = ?1",
            params![
                text(h.uniqueid()),
                now(),
                h.cause().map(|c| c.code()),
                text(h.cause_txt())
            ],
        );
        if let Err(e) = r {
            eprintln!("Hangup: {e}");
        }
    });
    Ok(())
}

/// Has the emulator play three calls: new channel, answered (or not), hung up.
fn play_calls(driver: &mut Driver, emu: Handle<Emulator>) -> std::io::Result<()> {
    let calls = [
        (
            "PJSIP/100-00000001",
            "1700000001.1",
            "100",
            "200",
            true,
            "16",
            "Normal Clearing",
        ),
        (
            "PJSIP/101-00000002",
            "1700000001.2",
            "101",
            "300",
            false,
            "17",
            "User busy",
        ),
        (
            "PJSIP/102-00000003",
            "1700000001.3",
            "102",
            "200",
            true,
            "16",
            "Normal Clearing",
        ),
    ];
    for (channel, uid, caller, exten, answered, cause, cause_txt) in calls {
        let snap = |state: &'static str, desc: &'static str| {
            vec![
                ("Channel", channel),
                ("ChannelState", state),
                ("ChannelStateDesc", desc),
                ("CallerIDNum", caller),
                ("Context", "from-internal"),
                ("Exten", exten),
                ("Uniqueid", uid),
                ("Linkedid", uid),
            ]
        };
        let e = driver.get_mut(emu);
        e.emit_event("Newchannel", &snap("0", "Down"));
        if answered {
            e.emit_event("Newstate", &snap("6", "Up"));
        }
        let mut hangup = snap(if answered { "6" } else { "5" }, "");
        hangup.extend([("Cause", cause), ("Cause-txt", cause_txt)]);
        e.emit_event("Hangup", &hangup);
        driver.poll(Some(Duration::from_millis(20)))?;
    }
    Ok(())
}

fn print_calls(db: &Connection) -> Result<(), Box<dyn std::error::Error>> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let mut q = db.prepare(
        "SELECT uniqueid, channel, caller, exten, answered IS NOT NULL, ended - started, cause, cause_txt
         FROM calls ORDER BY started, uniqueid",
    )?;
    writeln!(
        out,
        "uniqueid       channel             caller exten answered secs cause"
    )?;
    let rows = q.query_map([], |r| {
        Ok(format!(
            "{:<14} {:<19} {:<6} {:<5} {:<8} {:<4} {}",
            r.get::<_, String>(0)?,
            r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            r.get::<_, Option<String>>(2)?.unwrap_or_default(),
            r.get::<_, Option<String>>(3)?.unwrap_or_default(),
            if r.get::<_, bool>(4)? { "yes" } else { "no" },
            r.get::<_, Option<i64>>(5)?
                .map_or("-".into(), |s| s.to_string()),
            match (r.get::<_, Option<i64>>(6)?, r.get::<_, Option<String>>(7)?) {
                (Some(c), Some(t)) => format!("{c} ({t})"),
                (Some(c), None) => c.to_string(),
                _ => "-".into(),
            }
        ))
    })?;
    for row in rows {
        // A closed stdout (`| head`) ends the listing, not the program.
        if writeln!(out, "{}", row?).is_err() {
            break;
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let db = Rc::new(Connection::open(&args.db)?);
    let mut driver = Driver::new()?;
    let emu = match &args.addr {
        Some(_) => None,
        None => {
            let config = EmulatorConfig::default().user(&args.user, &args.secret);
            Some(driver.add(Emulator::bind("127.0.0.1:0".parse()?, config)?)?)
        }
    };
    let addr = match (&args.addr, emu) {
        (Some(addr), _) => addr.parse()?,
        (None, Some(emu)) => driver.get(emu).local_addr()?,
        (None, None) => unreachable!(),
    };
    let mut mgr = Manager::connect(addr)?;
    record_calls(&mut mgr, db.clone())?;
    let mgr = driver.add(mgr)?;
    driver.login(mgr, &Login::new(&args.user, &args.secret).md5(), T)?;
    println!("logged in to {addr}; writing calls to {}", args.db);

    if let Some(emu) = emu {
        play_calls(&mut driver, emu)?;
        // Let the last events arrive and be handled.
        let until = Instant::now() + Duration::from_millis(200);
        while Instant::now() < until {
            driver.poll(Some(Duration::from_millis(20)))?;
        }
    } else {
        let until = args
            .seconds
            .map(|s| Instant::now() + Duration::from_secs(s));
        while until.map_or(true, |u| Instant::now() < u) {
            driver.poll(Some(Duration::from_millis(500)))?;
            if driver.get(mgr).is_closed() {
                eprintln!("connection closed: {:?}", driver.get(mgr).close_reason());
                break;
            }
        }
    }
    print_calls(&db)?;
    Ok(())
}
