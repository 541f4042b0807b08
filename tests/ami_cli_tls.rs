//! The `ami` example's `--tls` options: over TLS against the emulator with
//! the `tls` feature; a clear failure (exit 2) without it.

#[allow(dead_code)]
#[path = "../examples/ami.rs"]
mod ami;

fn run(args: &[&str]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = ami::run(&args, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn tls_options_need_tls() {
    let base = ["--addr", "127.0.0.1:9", "--user", "a", "--secret", "b"];
    for extra in [
        &["--ca", "ca.pem"][..],
        &["--tls-insecure"],
        &["--server-name", "x"],
    ] {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        args.extend_from_slice(&["command", "core show version"]);
        let (code, _, err) = run(&args);
        assert_eq!(code, ami::FAILURE, "{err}");
        assert!(err.contains("need --tls"), "{err}");
    }
}

#[cfg(not(feature = "tls"))]
#[test]
fn without_the_feature_tls_is_a_clear_failure() {
    let (code, out, err) = run(&[
        "--addr",
        "127.0.0.1:9",
        "--user",
        "a",
        "--secret",
        "b",
        "--tls",
        "command",
        "core show version",
    ]);
    assert_eq!(code, ami::FAILURE);
    assert!(out.is_empty());
    assert!(err.contains("--features tls"), "{err}");
}

#[cfg(feature = "tls")]
mod with_tls {
    use super::run;
    use asterisk_io::emu::{Emulator, EmulatorConfig};
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{mpsc, Arc};
    use std::time::Duration;

    /// A TLS emulator on its own thread until the flag is set; a
    /// certificate for `localhost` and 127.0.0.1, self-signed.
    fn emulator(stop: Arc<AtomicBool>) -> (SocketAddr, String, std::thread::JoinHandle<()>) {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap();
        let (chain, key) = (cert.cert.pem(), cert.signing_key.serialize_pem());
        let ca = chain.clone();
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let config = EmulatorConfig::default()
                .user("admin", "s3cret")
                .tls(chain.as_bytes(), key.as_bytes())
                .unwrap();
            let mut emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
            tx.send(emu.local_addr().unwrap()).unwrap();
            while !stop.load(Ordering::Relaxed) {
                emu.poll(Some(Duration::from_millis(20))).unwrap();
            }
        });
        (rx.recv().unwrap(), ca, thread)
    }

    #[test]
    fn tls_with_a_ca_file_a_server_name_or_the_insecure_switch() {
        let stop = Arc::new(AtomicBool::new(false));
        let (addr, ca, thread) = emulator(stop.clone());
        let ca_file =
            std::env::temp_dir().join(format!("asterisk-io-cli-ca-{}.pem", std::process::id()));
        std::fs::write(&ca_file, ca).unwrap();
        let ca_file = ca_file.to_str().unwrap().to_owned();
        let addr = addr.to_string();
        let by_name = format!("localhost:{}", addr.rsplit_once(':').unwrap().1);
        let base = ["--user", "admin", "--secret", "s3cret", "--timeout", "5"];
        let cases: [(&str, &[&str], i32); 4] = [
            (&addr, &["--tls", "--ca", &ca_file], 0),
            (
                &addr,
                &["--tls", "--ca", &ca_file, "--server-name", "localhost"],
                0,
            ),
            (&addr, &["--tls", "--tls-insecure"], 0),
            // The public roots do not know the self-signed certificate.
            (&addr, &["--tls"], 2),
        ];
        for (addr, tls, want) in cases {
            let mut args = vec!["--addr", addr];
            args.extend_from_slice(&base);
            args.extend_from_slice(tls);
            args.extend_from_slice(&["command", "core show version"]);
            let (code, out, err) = run(&args);
            assert_eq!(code, want, "{args:?}: {err}");
            if want == 0 {
                assert!(out.contains("Asterisk 22"), "{out}");
            } else {
                assert!(err.contains("not trusted"), "{err}");
            }
        }
        // `localhost` resolves to 127.0.0.1 or ::1; where it is 127.0.0.1 the
        // host of --addr is the name checked.
        if std::net::ToSocketAddrs::to_socket_addrs(&by_name.as_str())
            .ok()
            .and_then(|mut a| a.next())
            .is_some_and(|a| a.is_ipv4())
        {
            let mut args = vec!["--addr", by_name.as_str()];
            args.extend_from_slice(&base);
            args.extend_from_slice(&["--tls", "--ca", &ca_file, "command", "core show version"]);
            let (code, _, err) = run(&args);
            assert_eq!(code, 0, "{err}");
        }
        let _ = std::fs::remove_file(&ca_file);
        stop.store(true, Ordering::Relaxed);
        thread.join().unwrap();
    }
}
