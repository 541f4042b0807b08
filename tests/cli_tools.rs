//! The command-line tools of the `cli` feature (`ami`, `agi-debug`,
//! `asterisk-conf`, `astemu`), run as programs against the emulator and temporary
//! files: exit statuses, output, credentials.
//!
//! `cargo test` builds no binary of a feature it was not given, so the first
//! test to need one builds them all once, with `cargo build --features cli
//! --bins` into `target/cli-tests` (a target directory of its own: the
//! library is compiled there a second time, with the feature, and without
//! debug info: about 25 s of CPU on a clean tree, well under a second after).

#[allow(dead_code)]
#[path = "../examples/ami.rs"]
mod ami_example;

// The profile file's reader, for its unit tests (plain `cargo test` runs no
// test of a binary that needs a feature).
#[allow(dead_code)]
#[path = "../src/bin/ami/profile.rs"]
mod profile;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::Duration;

use asterisk_io::emu::{Emulator, EmulatorConfig, ScriptedReply};

/// The folder holding the built tools.
fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let target = option_env!("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"))
            .join("cli-tests");
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "--features",
                "cli",
                "--bins",
                "--target-dir",
            ])
            .arg(&target)
            .current_dir(root)
            // No debug info: a quarter less build time, and these builds are not debugged.
            .env("CARGO_PROFILE_DEV_DEBUG", "0")
            .stdout(Stdio::null())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "cargo build --features cli --bins failed");
        target.join("debug")
    })
}

/// `tool args...` with `env` added and AMI_* and the profile folder cleared.
fn run_env(tool: &str, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(bin_dir().join(tool));
    cmd.args(args).stdin(Stdio::null());
    for var in ["AMI_ADDR", "AMI_USER", "AMI_SECRET", "XDG_CONFIG_HOME"] {
        cmd.env_remove(var);
    }
    // No profile file unless a test makes one.
    cmd.env("HOME", "/nonexistent");
    cmd.envs(env.iter().copied());
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("the tool runs");
    (
        status.code().expect("exited"),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

fn run(tool: &str, args: &[&str]) -> (i32, String, String) {
    run_env(tool, args, &[])
}

/// An emulator on a thread of the test, emitting a `VarSet` every 20 ms;
/// stopped when dropped.
struct Pbx {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Pbx {
    fn start() -> Pbx {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel();
        let flag = stop.clone();
        std::thread::spawn(move || {
            let config = EmulatorConfig::default()
                .user("admin", "s3cret")
                .user("other", "0ther")
                .script("QueueAdd", ScriptedReply::error("Unable to add interface"))
                .command("core show uptime", &["System uptime: 5 seconds"]);
            let mut emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
            tx.send(emu.local_addr().unwrap()).unwrap();
            let mut seq = 0u32;
            while !flag.load(Ordering::Relaxed) {
                emu.poll(Some(Duration::from_millis(20))).unwrap();
                seq += 1;
                let value = seq.to_string();
                let headers = [
                    ("Channel", "PJSIP/7-1"),
                    ("Variable", "N"),
                    ("Value", &value),
                ];
                emu.emit_event("VarSet", &headers);
            }
        });
        Pbx {
            addr: rx.recv().unwrap(),
            stop,
        }
    }

    fn addr(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for Pbx {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A fresh folder under the target directory.
fn temp_dir(name: &str) -> PathBuf {
    let dir = bin_dir().join("tmp").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_secret(dir: &Path, name: &str, secret: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("{secret}\n")).unwrap();
    private(&path);
    path.to_str().unwrap().to_owned()
}

/// `chmod 600`: a file holding a secret that others may read is warned about.
fn private(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

#[test]
fn ami_action_with_a_secret_file_prints_the_response() {
    let pbx = Pbx::start();
    let dir = temp_dir("secret-file");
    let secret = write_secret(&dir, "s", "s3cret");
    let addr = pbx.addr();
    let (code, out, err) = run(
        "ami",
        &[
            "--addr",
            &addr,
            "--user",
            "admin",
            "--secret-file",
            &secret,
            "action",
            "Ping",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("Response: Success\n"), "{out}");
    assert!(out.contains("Ping: Pong\n"), "{out}");
}

#[test]
fn ami_exit_status_is_1_when_the_pbx_says_error_and_2_on_failure() {
    let pbx = Pbx::start();
    let env = [
        ("AMI_ADDR", &*pbx.addr()),
        ("AMI_USER", "admin"),
        ("AMI_SECRET", "s3cret"),
    ];
    let args = ["action", "QueueAdd", "Queue=q", "Interface=PJSIP/1"];
    let (code, _, err) = run_env("ami", &args, &env);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error: Unable to add interface"), "{err}");
    // Refused by the catalogue before connecting: a required field is missing.
    let (code, _, err) = run_env("ami", &["action", "QueueAdd", "Queue=q"], &env);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("Interface"), "{err}");
    // Nothing listens there.
    let (code, _, _) = run_env("ami", &["--addr", "127.0.0.1:1", "action", "Ping"], &env);
    assert_eq!(code, 2);
    // clap's usage errors.
    assert_eq!(run("ami", &["frobnicate"]).0, 2);
    assert_eq!(run_env("ami", &["events", "--count", "x"], &env).0, 2);
}

#[test]
fn ami_a_wrong_secret_is_a_failure_and_never_echoed() {
    let pbx = Pbx::start();
    let addr = pbx.addr();
    let env = [("AMI_SECRET", "hunter2-wrong")];
    let (code, out, err) = run_env(
        "ami",
        &["--addr", &addr, "--user", "admin", "command", "x"],
        &env,
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        !out.contains("hunter2") && !err.contains("hunter2"),
        "{out}{err}"
    );
    let (code, _, err) = run_env("ami", &["--user", "admin", "command", "x"], &env);
    assert_eq!(code, 2);
    assert!(err.contains("no address"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn ami_warns_of_a_secret_file_others_may_read() {
    let pbx = Pbx::start();
    let dir = temp_dir("shared-secret");
    let path = dir.join("s");
    std::fs::write(&path, "s3cret\r\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let (addr, secret) = (pbx.addr(), path.to_str().unwrap());
    let args = [
        "--addr",
        &addr,
        "--user",
        "admin",
        "--secret-file",
        secret,
        "action",
        "Ping",
    ];
    let (code, _, err) = run("ami", &args);
    assert_eq!(code, 0, "{err}");
    #[cfg(unix)]
    assert!(
        err.contains("warning") && err.contains("chmod 600"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
}

#[test]
fn ami_profiles_and_their_precedence() {
    let pbx = Pbx::start();
    let home = temp_dir("profiles");
    let conf = home.join(".config/asterisk-io");
    std::fs::create_dir_all(&conf).unwrap();
    write_secret(&conf, "other.secret", "0ther");
    let text = format!(
        "default = \"lab\"\n[lab]\naddr = \"{addr}\"\nuser = \"admin\"\nsecret = \"s3cret\"\n\
         [second]\naddr = \"{addr}\"\nuser = \"other\"\nsecret_file = \"other.secret\"\nmd5 = true\n\
         [broken]\naddr = \"{addr}\"\nuser = \"admin\"\nsecret = \"wrong\"\n",
        addr = pbx.addr()
    );
    std::fs::write(conf.join("ami.toml"), text).unwrap();
    private(&conf.join("ami.toml"));
    let home = home.to_str().unwrap();
    let ping = ["command", "core show uptime"];
    // The default profile.
    let (code, out, err) = run_env("ami", &ping, &[("HOME", home)]);
    assert_eq!(
        (code, out.as_str()),
        (0, "System uptime: 5 seconds\n"),
        "{err}"
    );
    assert!(err.is_empty(), "{err}");
    // A named one, with its secret file and MD5.
    let args = ["--profile", "second", "command", "core show uptime"];
    let (code, _, err) = run_env("ami", &args, &[("HOME", home)]);
    assert_eq!(code, 0, "{err}");
    // The environment beats the default profile ...
    let wrong = [("HOME", home), ("AMI_SECRET", "nope")];
    assert_eq!(run_env("ami", &ping, &wrong).0, 2);
    // ... a named profile beats the environment ...
    let args = ["--profile", "lab", "command", "core show uptime"];
    assert_eq!(run_env("ami", &args, &wrong).0, 0);
    // ... and the command line beats a named profile.
    let dir = temp_dir("profiles-flag");
    let secret = write_secret(&dir, "s", "s3cret");
    let args = [
        "--profile",
        "broken",
        "--secret-file",
        &secret,
        "command",
        "core show uptime",
    ];
    assert_eq!(run_env("ami", &args, &[("HOME", home)]).0, 0);
    let (code, _, err) = run_env(
        "ami",
        &["--profile", "nosuch", "command", "x"],
        &[("HOME", home)],
    );
    assert_eq!(code, 2);
    assert!(err.contains("no profile \"nosuch\""), "{err}");
}

#[test]
fn ami_events_in_a_pipe_are_blocks_as_the_example_prints_them() {
    let pbx = Pbx::start();
    let env = [
        ("AMI_ADDR", &*pbx.addr()),
        ("AMI_USER", "admin"),
        ("AMI_SECRET", "s3cret"),
    ];
    let (code, out, err) = run_env("ami", &["events", "varset", "--count", "3"], &env);
    assert_eq!(code, 0, "{err}");
    let blocks: Vec<&str> = out.trim_end().split("\n\n").collect();
    assert_eq!(blocks.len(), 3, "{out}");
    for b in blocks {
        assert!(b.starts_with("Event: VarSet\n"), "{b}");
        assert!(b.contains("\nChannel: PJSIP/7-1\n"), "{b}");
    }
    let (code, out, err) = run_env("ami", &["events", "--json", "--count", "2"], &env);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.lines()
            .all(|l| l.starts_with('{') && l.contains("VarSet")),
        "{out}"
    );
}

#[test]
fn ami_decode_prints_what_the_example_prints() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/ami/ami-getvar-setvar.bin"
    );
    let (code, out, err) = run("ami", &["decode", file]);
    assert_eq!(code, 0, "{err}");
    let (mut want, mut want_err) = (Vec::new(), Vec::new());
    let args = ["decode".to_string(), file.to_string()];
    assert_eq!(ami_example::run(&args, &mut want, &mut want_err), 0);
    assert!(!out.is_empty());
    assert_eq!(out, String::from_utf8(want).unwrap());
}

#[test]
fn every_tool_and_subcommand_has_help_and_completions() {
    let tools: [(&str, &[&str]); 4] = [
        (
            "ami",
            &["action", "command", "events", "decode", "completions"],
        ),
        ("agi-debug", &["completions"]),
        ("astemu", &["record", "completions"]),
        (
            "asterisk-conf",
            &["check", "dump", "get", "set", "completions"],
        ),
    ];
    for (tool, subs) in tools {
        let (code, out, _) = run(tool, &["--help"]);
        assert_eq!(code, 0, "{tool}");
        assert!(out.contains("Usage:"), "{tool}: {out}");
        for sub in subs {
            let (code, out, _) = run(tool, &[sub, "--help"]);
            assert_eq!(code, 0, "{tool} {sub}");
            assert!(out.contains("Usage:"), "{tool} {sub}: {out}");
        }
        for shell in ["bash", "zsh", "fish"] {
            let (code, out, err) = run(tool, &["completions", shell]);
            assert_eq!(code, 0, "{tool} {shell}: {err}");
            assert!(out.contains(tool), "{tool} {shell}");
        }
    }
}

#[test]
fn agi_debug_prints_the_conversation() {
    let dir = temp_dir("agi-debug");
    let script = dir.join("rules");
    std::fs::write(
        &script,
        "agi_channel: SIP/9-1\n\nGET VARIABLE => 200 result=1 (alice)\n",
    )
    .unwrap();
    let program = "read -r a; while [ -n \"$a\" ]; do read -r a; done; \
                   echo 'GET VARIABLE X'; read -r r; echo \"got $r\" >&2; echo ANSWER; read -r r";
    let args = [
        "--script",
        script.to_str().unwrap(),
        "--hangup-after",
        "1",
        "sh",
        "-c",
        program,
    ];
    let (code, out, err) = run("agi-debug", &args);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("AST> agi_channel: SIP/9-1\n"), "{out}");
    assert!(
        out.contains("AGI> GET VARIABLE X\nAST> 200 result=1 (alice)\nAST> HANGUP\n"),
        "{out}"
    );
    assert!(out.contains("AGI> ANSWER\nAST> 511 "), "{out}");
    assert!(
        out.contains("--- program exited: exit status: 0 after 2 commands ---"),
        "{out}"
    );
    assert!(err.contains("got 200 result=1 (alice)"), "{err}");
    let (code, _, err) = run("agi-debug", &["/nonexistent/program"]);
    assert_eq!(code, 2);
    assert!(err.contains("cannot start"), "{err}");
    assert_eq!(run("agi-debug", &[]).0, 2);
}

#[test]
fn asterisk_conf_check_get_set_and_dump() {
    let dir = temp_dir("conf");
    let file = dir.join("pjsip.conf");
    let text = "[general] ; top\nbindport = 5060 ; the port\n\n[base](!)\ntype = endpoint\n\
                [alice](base)\nallow = opus\nallow = g722\nnoequals\n";
    std::fs::write(&file, text).unwrap();
    let f = file.to_str().unwrap();
    let (code, out, _) = run("asterisk-conf", &["check", f]);
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!("{f}:9:1: warning: no '=' (equal sign); line ignored\n")
    );
    assert_eq!(run("asterisk-conf", &["check", "--deny-warnings", f]).0, 1);
    let bad = dir.join("bad.conf");
    std::fs::write(&bad, "a = 1\n[x]\n[y](missing)\n").unwrap();
    let b = bad.to_str().unwrap();
    let (code, out, _) = run("asterisk-conf", &["check", b]);
    assert_eq!(code, 1);
    assert!(out.starts_with(&format!("{b}:1:1: error: ")), "{out}");
    assert_eq!(
        out.lines().count(),
        2,
        "every error, not only the first: {out}"
    );
    assert_eq!(run("asterisk-conf", &["check", "/nonexistent.conf"]).0, 2);

    let get = |args: &[&str]| run("asterisk-conf", args);
    assert_eq!(
        get(&["get", f, "alice", "type"]),
        (0, "endpoint\n".into(), String::new())
    );
    assert_eq!(get(&["get", f, "alice", "allow"]).1, "g722\n");
    assert_eq!(
        get(&["get", "--all", f, "alice", "allow"]).1,
        "opus\ng722\n"
    );
    assert_eq!(get(&["get", f, "alice", "nope"]).0, 1);

    let (code, _, err) = run("asterisk-conf", &["set", f, "general", "bindport", "5080"]);
    assert_eq!(code, 0, "{err}");
    let edited = std::fs::read_to_string(&file).unwrap();
    assert_eq!(edited, text.replace("5060 ;", "5080 ;"));
    assert_eq!(run("asterisk-conf", &["set", f, "nosuch", "k", "v"]).0, 1);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), edited);

    let (code, out, _) = run("asterisk-conf", &["dump", "--resolved", f]);
    assert_eq!(code, 0);
    assert!(
        out.contains("[alice]\ntype = endpoint\nallow = opus\nallow = g722\n"),
        "{out}"
    );
    let (code, out, _) = run("asterisk-conf", &["dump", f]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("[general]\nbindport = 5080\n[base](!)\n"),
        "{out}"
    );

    // Through a symbolic link: the link stays, its target is edited.
    #[cfg(unix)]
    {
        let link = dir.join("link.conf");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let l = link.to_str().unwrap();
        assert_eq!(
            run("asterisk-conf", &["set", l, "alice", "allow", "ulaw"]).0,
            0
        );
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        let now = std::fs::read_to_string(&file).unwrap();
        assert_eq!(now, edited.replace("allow = g722", "allow = ulaw"));
    }
}

/// A tool started in the background that prints `listening ADDR` once
/// ready; killed when dropped.
struct Listening {
    child: std::process::Child,
    addr: String,
}

impl Listening {
    fn start(tool: &str, args: &[&str]) -> Listening {
        use std::io::BufRead;
        let mut child = Command::new(bin_dir().join(tool))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the tool starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("{tool}: {line:?}"))
            .to_owned();
        Listening { child, addr }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `astemu` serves `ami`; `astemu record` between them writes a
/// transcript; `astemu --replay` serves it back, and `ami` prints the same.
#[test]
fn astemu_serves_records_and_replays() {
    let dir = temp_dir("astemu");
    let out = dir.join("session.txt");
    let out = out.to_str().unwrap();
    let emu = Listening::start(
        "astemu",
        &["--listen", "127.0.0.1:0", "--user", "admin:s3cret"],
    );
    let ami = |addr: &str| {
        run(
            "ami",
            &[
                "--addr",
                addr,
                "--user",
                "admin",
                "--secret",
                "s3cret",
                "command",
                "core show version",
            ],
        )
    };
    let direct = ami(&emu.addr);
    assert_eq!(direct.0, 0, "{direct:?}");
    assert!(direct.1.contains("Asterisk"), "{direct:?}");
    let proxy = Listening::start(
        "astemu",
        &[
            "record",
            "--upstream",
            &emu.addr,
            "--listen",
            "127.0.0.1:0",
            "--out",
            out,
        ],
    );
    let recorded = ami(&proxy.addr);
    assert_eq!(recorded, direct, "the proxy changes nothing");
    drop(proxy);
    let text = std::fs::read_to_string(out).unwrap();
    assert!(!text.contains("s3cret"), "the secret is redacted: {text}");
    let replay = Listening::start(
        "astemu",
        &[
            "--replay",
            out,
            "--listen",
            "127.0.0.1:0",
            "--timing",
            "drop",
        ],
    );
    assert_eq!(ami(&replay.addr), direct, "the replay answers the same");
}
