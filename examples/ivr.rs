//! An IVR written as straight-line `async` code, with a SQLite database in
//! the host's loop: the menu of issue 14.
//!
//! ```text
//! cargo run --example ivr -- --demo                    # plays five calls against itself
//! cargo run --example ivr -- --listen 127.0.0.1:4573   # for Asterisk: AGI(agi://host:4573/ivr)
//! ```
//!
//! Per call: answer, look the caller up in the database (asked before the
//! welcome prompt, read after it), play the menu and read one digit; a
//! digit the menu table does not know (or none) is said to be wrong, and
//! after a short pause the menu comes again; three tries, then the call is
//! transferred to the operator. Digit 3 reads the caller's balance from the
//! database and says it. Every call is written to a `calls` table at the
//! end, hung up or not.
//!
//! The database connection (`rusqlite::Connection`, not `Send`) lives in
//! `main`, in the host's loop. A session never touches it: it queues a
//! query ([`Db::query`]) and awaits the answer, which the loop delivers
//! through a [`oneshot`] after its next poll. Meanwhile every other call
//! goes on. Nothing here spawns a thread but the `--demo` callers, which
//! play Asterisk's side of the calls over loopback.

use asterisk_io::agi::call::{oneshot, Call, Receiver};
use asterisk_io::agi::commands::{
    Answer, Exec, GetData, Hangup, SayNumber, SetVariable, StreamFile,
};
use asterisk_io::agi::{AgiError, Server};
use asterisk_io::driver::Driver;
use rusqlite::{Connection, OptionalExtension};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::time::Duration;

const USAGE: &str = "usage: ivr (--demo | --listen IP:PORT) [--db FILE]

  --demo            serve five scripted calls played against this program, then exit
  --listen IP:PORT  serve Asterisk: exten => 500,1,AGI(agi://IP:PORT/ivr)
  --db FILE         a SQLite file (created and filled with sample rows if
                    empty); default: an in-memory database
  --help            this text";

const OPERATOR: &str = "PJSIP/operator";
const TRIES: usize = 3;

// ---------------------------------------------------------------------------
// The database, served from the host's loop
// ---------------------------------------------------------------------------

type Job = Box<dyn FnOnce(&Connection)>;

/// Queries waiting for the host's loop. Sessions hold a clone.
#[derive(Clone, Default)]
struct Db {
    jobs: Rc<RefCell<VecDeque<Job>>>,
}

impl Db {
    /// Queue `f` to run on the connection; await the receiver for its result.
    fn query<T: 'static>(&self, f: impl FnOnce(&Connection) -> T + 'static) -> Receiver<T> {
        let (tx, rx) = oneshot();
        self.jobs.borrow_mut().push_back(Box::new(move |c| {
            // The call may have hung up meanwhile: then nobody wants it.
            let _ = tx.send(f(c));
        }));
        rx
    }

    /// Run the queued queries (the host's loop calls this on every turn).
    fn serve(&self, conn: &Connection) -> usize {
        let mut n = 0;
        // Popped one at a time: a job may queue another.
        loop {
            let job = self.jobs.borrow_mut().pop_front();
            let Some(job) = job else { return n };
            job(conn);
            n += 1;
        }
    }
}

fn open_db(path: Option<&str>) -> rusqlite::Result<Connection> {
    let conn = match path {
        Some(p) => Connection::open(p)?,
        None => Connection::open_in_memory()?,
    };
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS customers (number TEXT PRIMARY KEY, name TEXT NOT NULL,
                                               balance INTEGER NOT NULL);
         CREATE TABLE IF NOT EXISTS menu (digit TEXT PRIMARY KEY, action TEXT NOT NULL,
                                          target TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS calls (uniqueid TEXT, caller TEXT, outcome TEXT);",
    )?;
    let empty: i64 = conn.query_row("SELECT count(*) FROM menu", [], |r| r.get(0))?;
    if empty == 0 {
        conn.execute_batch(
            "INSERT INTO customers VALUES ('4105551234', 'Alice', 42), ('4105550000', 'Bob', 7);
             INSERT INTO menu VALUES ('1', 'dial', 'PJSIP/sales'),
                                     ('2', 'dial', 'PJSIP/support'),
                                     ('3', 'balance', '');",
        )?;
    }
    Ok(conn)
}

fn customer_name(c: &Connection, number: &str) -> Option<String> {
    c.query_row(
        "SELECT name FROM customers WHERE number = ?1",
        [number],
        |r| r.get(0),
    )
    .optional()
    .ok()
    .flatten()
}

fn menu_entry(c: &Connection, digit: &str) -> Option<(String, String)> {
    c.query_row(
        "SELECT action, target FROM menu WHERE digit = ?1",
        [digit],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .ok()
    .flatten()
}

fn balance(c: &Connection, number: &str) -> Option<i64> {
    c.query_row(
        "SELECT balance FROM customers WHERE number = ?1",
        [number],
        |r| r.get(0),
    )
    .optional()
    .ok()
    .flatten()
}

// ---------------------------------------------------------------------------
// The call
// ---------------------------------------------------------------------------

/// Await a database answer unless the caller hangs up first.
async fn lookup<T>(call: &Call, rx: Receiver<T>) -> Result<T, AgiError> {
    // The host never drops a sender unsent; if it did, count it as closed.
    call.or_hangup(rx).await?.map_err(|_| AgiError::Closed)
}

async fn ivr(call: Call, db: Db) -> Result<(), AgiError> {
    let env = call.env();
    let id = env.unique_id().unwrap_or("?").to_owned();
    let caller = env.caller_id().unwrap_or("unknown").to_owned();
    let result = menu(&call, &db, &id, &caller).await;
    // Cleanup runs after a hang-up too: the outcome goes to the database
    // (queued; nobody waits for it).
    let outcome = match &result {
        Ok(o) => o.clone(),
        Err(e) => format!("ended: {e}"),
    };
    println!("[{id}] {outcome}");
    let (uid, num) = (id.clone(), caller.clone());
    drop(db.query(move |c| {
        c.execute(
            "INSERT INTO calls VALUES (?1, ?2, ?3)",
            [uid.as_str(), num.as_str(), outcome.as_str()],
        )
    }));
    result.map(drop)
}

/// The menu; returns what became of the call.
async fn menu(call: &Call, db: &Db, id: &str, caller: &str) -> Result<String, AgiError> {
    call.run(Answer).await?;
    // Asked now, read after the welcome prompt: the query runs while
    // Asterisk plays it.
    let n = caller.to_owned();
    let who = db.query(move |c| customer_name(c, &n));
    call.run(StreamFile::new("welcome", "")).await?;
    if let Some(name) = lookup(call, who).await? {
        println!("[{id}] caller {caller} is {name}");
        call.run(SetVariable::new("CUSTOMER", name)).await?;
    }
    for attempt in 1..=TRIES {
        let input = call
            .run(GetData::new("ivr-menu").timeout_ms(5_000).max_digits(1))
            .await?;
        let digit = input.digits;
        let entry = if digit.is_empty() {
            None
        } else {
            let d = digit.clone();
            lookup(call, db.query(move |c| menu_entry(c, &d))).await?
        };
        match entry {
            Some((action, target)) if action == "dial" => {
                println!("[{id}] digit {digit}: dialling {target}");
                call.run(Exec::new("Dial", format!("{target},30"))).await?;
                return Ok(format!("dialled {target}"));
            }
            Some(_) => {
                let n = caller.to_owned();
                let cents = lookup(call, db.query(move |c| balance(c, &n))).await?;
                println!("[{id}] digit {digit}: balance {cents:?}");
                match cents {
                    Some(v) => call.run(SayNumber::new(v, "")).await.map(drop)?,
                    None => call
                        .run(StreamFile::new("no-account", ""))
                        .await
                        .map(drop)?,
                }
                call.run(Hangup::new()).await?;
                return Ok("said the balance".into());
            }
            None => {
                let what = if input.timed_out {
                    "no digit"
                } else {
                    "wrong digit"
                };
                println!("[{id}] try {attempt}: {what} {digit:?}");
                call.run(StreamFile::new("option-is-invalid", "")).await?;
                // A timer: a breath before the menu comes again.
                call.sleep(Duration::from_millis(200)).await?;
            }
        }
    }
    println!("[{id}] {TRIES} tries: to the operator");
    call.run(StreamFile::new("transfer", "")).await?;
    call.run(Exec::new("Transfer", OPERATOR)).await?;
    Ok("transferred to the operator".into())
}

// ---------------------------------------------------------------------------
// --demo: Asterisk's side of five calls, over loopback
// ---------------------------------------------------------------------------

/// One scripted caller: its number, the digits it presses at each menu
/// (`""`: none, the menu times out), and whether it hangs up at the menu
/// after those.
struct Caller {
    uid: &'static str,
    number: &'static str,
    digits: &'static [&'static str],
    hangs_up: bool,
}

const CALLERS: &[Caller] = &[
    Caller {
        uid: "1700000001.1",
        number: "4105551234",
        digits: &["1"],
        hangs_up: false,
    },
    Caller {
        uid: "1700000001.2",
        number: "5550001111",
        digits: &["9", "", "7"],
        hangs_up: false,
    },
    Caller {
        uid: "1700000001.3",
        number: "4105550000",
        digits: &["5", "3"],
        hangs_up: false,
    },
    Caller {
        uid: "1700000001.4",
        number: "5550002222",
        digits: &["8"],
        hangs_up: true,
    },
    Caller {
        uid: "1700000001.5",
        number: "5550003333",
        digits: &["2"],
        hangs_up: false,
    },
];

/// Plays one call; returns the conversation.
fn play(addr: SocketAddr, c: &Caller) -> std::io::Result<String> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "agi_network: yes\nagi_network_script: ivr\nagi_request: agi://{addr}/ivr\n\
         agi_channel: PJSIP/trunk-{uid}\nagi_uniqueid: {uid}\nagi_callerid: {num}\n\
         agi_version: 22.10.1\n\n",
        uid = c.uid,
        num = c.number
    )?;
    let mut r = BufReader::new(s.try_clone()?);
    let mut log = format!("call {} from {}:\n", c.uid, c.number);
    let mut digits = c.digits.iter();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            log.push_str("  (closed by the server)\n");
            return Ok(log);
        }
        let cmd = line.trim_end();
        let reply = if cmd.starts_with("GET DATA") {
            match digits.next() {
                Some(&"") => "200 result= (timeout)".to_owned(),
                // GET DATA answers with the digits themselves.
                Some(d) => format!("200 result={d}"),
                None if c.hangs_up => {
                    log.push_str(&format!("  {cmd:<40} <- HANGUP\n"));
                    s.write_all(b"HANGUP\n")?;
                    drop(s);
                    return Ok(log);
                }
                None => "200 result= (timeout)".to_owned(),
            }
        } else if cmd.starts_with("STREAM FILE") {
            "200 result=0 endpos=8000".to_owned()
        } else if cmd.starts_with("HANGUP") || cmd.starts_with("SET VARIABLE") {
            "200 result=1".to_owned()
        } else {
            "200 result=0".to_owned()
        };
        log.push_str(&format!("  {cmd:<40} <- {reply}\n"));
        s.write_all(reply.as_bytes())?;
        s.write_all(b"\n")?;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut demo = false;
    let mut listen: Option<SocketAddr> = None;
    let mut db_path: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--demo" => demo = true,
            "--listen" => listen = args.next().and_then(|v| v.parse().ok()),
            "--db" => db_path = args.next(),
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ => {
                eprintln!("{USAGE}");
                std::process::exit(2);
            }
        }
    }
    if demo == listen.is_some() {
        eprintln!("{USAGE}");
        std::process::exit(2);
    }
    let conn = open_db(db_path.as_deref())?;
    let db = Db::default();

    let mut server = Server::bind(listen.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap()))?;
    let d = db.clone();
    server.route_async("ivr", move |call| ivr(call, d.clone()));
    let addr = server.local_addr()?;
    println!("ivr listening on {addr} (agi://{addr}/ivr)");

    // The host's loop: one Driver for the server; the database in between.
    let mut driver = Driver::new()?;
    let srv = driver.add(server)?;
    let callers = demo.then(|| {
        std::thread::spawn(move || {
            let calls: Vec<_> = CALLERS
                .iter()
                .map(|c| std::thread::spawn(move || play(addr, c)))
                .collect();
            calls.into_iter().map(|t| t.join()).collect::<Vec<_>>()
        })
    });
    loop {
        driver.poll(Some(Duration::from_millis(100)))?;
        // Queries answered here wake their sessions; the next poll runs
        // them (the server reports work at once).
        db.serve(&conn);
        if callers.as_ref().is_some_and(|t| t.is_finished()) && driver.get(srv).stats().active == 0
        {
            break;
        }
    }
    db.serve(&conn);

    if let Some(t) = callers {
        println!();
        for call in t.join().expect("the demo callers") {
            match call {
                Ok(Ok(log)) => print!("{log}"),
                Ok(Err(e)) => println!("a demo call failed: {e}"),
                Err(_) => println!("a demo call panicked"),
            }
        }
        println!("\ncalls table:");
        let mut st =
            conn.prepare("SELECT uniqueid, caller, outcome FROM calls ORDER BY uniqueid")?;
        let rows = st.query_map([], |r| {
            Ok(format!(
                "  {} {} {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?
            ))
        })?;
        for row in rows {
            println!("{}", row?);
        }
        let stats = driver.get(srv).stats();
        println!(
            "server: accepted {} closed {}",
            stats.accepted, stats.closed
        );
    }
    Ok(())
}
