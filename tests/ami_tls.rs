//! AMI over TLS (the `tls` feature): the manager against the emulator
//! serving TLS, with certificates made here by rcgen. A good certificate,
//! a wrong name, an untrusted CA and the lab switch that accepts anything;
//! a reconnect gets a fresh TLS session.
#![cfg(feature = "tls")]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use asterisk_io::ami::actions::{Login, Ping};
use asterisk_io::ami::{
    Error, LinkEvent, Manager, ManagerConfig, Reconnect, TlsError, TlsSettings,
};
use asterisk_io::driver::{Driver, Handle};
use asterisk_io::emu::{Emulator, EmulatorConfig};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

const T: Duration = Duration::from_secs(5);

/// A CA and a server certificate it signed.
struct Pki {
    ca_pem: String,
    chain_pem: String,
    key_pem: String,
}

fn pki(names: &[&str]) -> Pki {
    // Distinct CA names: a CA of the same name would be found as the issuer
    // and refuse the signature instead (a `BadCertificate`).
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(
        rcgen::DnType::CommonName,
        format!("asterisk-io test CA {n}"),
    );
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let leaf = CertificateParams::new(names).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        chain_pem: leaf_cert.pem(),
        key_pem: leaf_key.serialize_pem(),
    }
}

fn tls_emulator(driver: &mut Driver, chain: &str, key: &str) -> Handle<Emulator> {
    let config = EmulatorConfig::default()
        .user("admin", "s3cret")
        .tls(chain.as_bytes(), key.as_bytes())
        .unwrap();
    let emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
    driver.add(emu).unwrap()
}

fn tls_manager(
    driver: &mut Driver,
    emu: Handle<Emulator>,
    config: ManagerConfig,
) -> Handle<Manager> {
    let addr = driver.get(emu).local_addr().unwrap();
    driver
        .add(Manager::connect_with(addr, config).unwrap())
        .unwrap()
}

fn login_and_ping(driver: &mut Driver, mgr: Handle<Manager>) -> Result<(), Error> {
    driver.login(mgr, &Login::new("admin", "s3cret").md5(), T)?;
    let pong = driver.call(mgr, &Ping, T)?;
    assert_eq!(pong.get_str("Ping"), Some("Pong"));
    Ok(())
}

/// The failure a refused handshake ends the manager with.
fn tls_failure(driver: &mut Driver, mgr: Handle<Manager>) -> TlsError {
    let start = Instant::now();
    let e = login_and_ping(driver, mgr).expect_err("the handshake must fail");
    assert!(
        start.elapsed() < T,
        "the failure took {:?}",
        start.elapsed()
    );
    assert!(driver.get(mgr).is_closed());
    match (e.root(), driver.get(mgr).close_reason().map(Error::root)) {
        (Error::Tls(a), Some(Error::Tls(b))) => {
            assert_eq!(a, b);
            a.clone()
        }
        other => panic!("not a TLS error: {other:?}"),
    }
}

#[test]
fn a_good_certificate_logs_in_and_pings_over_tls() {
    let pki = pki(&["localhost", "127.0.0.1"]);
    let mut driver = Driver::new().unwrap();
    let emu = tls_emulator(&mut driver, &pki.chain_pem, &pki.key_pem);
    // The default name is the address connected to (127.0.0.1)...
    let by_ip = TlsSettings::new().ca_pem(pki.ca_pem.clone());
    let mgr = tls_manager(&mut driver, emu, ManagerConfig::default().tls(Some(by_ip)));
    login_and_ping(&mut driver, mgr).unwrap();
    // ... or the name given.
    let by_name = TlsSettings::new()
        .ca_pem(pki.ca_pem.clone())
        .server_name("localhost");
    let mgr2 = tls_manager(
        &mut driver,
        emu,
        ManagerConfig::default().tls(Some(by_name)),
    );
    login_and_ping(&mut driver, mgr2).unwrap();

    let seen = Rc::new(RefCell::new(0));
    let s = seen.clone();
    driver
        .get_mut(mgr)
        .on_event("Poke", move |_, _| *s.borrow_mut() += 1);
    for _ in 0..100 {
        driver
            .get_mut(emu)
            .emit_event("Poke", &[("Data", &"x".repeat(500))]);
    }
    assert!(driver.run_until(T, |_| *seen.borrow() == 100).unwrap());
    // Actions queued before the handshake went out once each: nothing
    // answered twice.
    assert_eq!(driver.get(mgr).stats().unmatched, 0);
    assert_eq!(driver.get(mgr2).stats().unmatched, 0);
    driver.logoff(mgr, T).unwrap();
    assert!(driver.get(mgr).is_closed());
}

/// A standalone manager (its own poll) sends its login and many pings at
/// once, before the TCP connect and the handshake are done: each goes out
/// once, and all are answered.
#[test]
fn actions_queued_before_the_handshake_go_out_once() {
    let pki = pki(&["127.0.0.1"]);
    let config = EmulatorConfig::default()
        .user("admin", "s3cret")
        .tls(pki.chain_pem.as_bytes(), pki.key_pem.as_bytes())
        .unwrap();
    let mut emu = Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap();
    let settings = TlsSettings::new().ca_pem(pki.ca_pem);
    let mut mgr = Manager::connect_with(
        emu.local_addr().unwrap(),
        ManagerConfig::default().tls(Some(settings)),
    )
    .unwrap();
    let login = mgr.start_login(&Login::new("admin", "s3cret")).unwrap();
    let pings: Vec<_> = (0..200).map(|_| mgr.send(&Ping).unwrap()).collect();
    let deadline = Instant::now() + T;
    let mut done = 0;
    let mut ids = vec![login];
    ids.extend(pings);
    while done < ids.len() && Instant::now() < deadline {
        emu.poll(Some(Duration::from_millis(1))).unwrap();
        mgr.poll_events(Some(Duration::from_millis(1))).unwrap();
        while done < ids.len() {
            match mgr.take_result(ids[done]) {
                asterisk_io::ami::ResultStatus::Ready(r) => {
                    r.unwrap();
                    done += 1;
                }
                _ => break,
            }
        }
    }
    assert_eq!(done, ids.len());
    for _ in 0..10 {
        emu.poll(Some(Duration::from_millis(1))).unwrap();
        mgr.poll_events(Some(Duration::from_millis(1))).unwrap();
    }
    assert_eq!(mgr.stats().unmatched, 0);
}

#[test]
fn a_wrong_server_name_is_a_typed_error_without_a_hang() {
    let pki = pki(&["pbx.example.com"]);
    let mut driver = Driver::new().unwrap();
    let emu = tls_emulator(&mut driver, &pki.chain_pem, &pki.key_pem);
    let settings = TlsSettings::new()
        .ca_pem(pki.ca_pem.clone())
        .server_name("other.example.com");
    let mgr = tls_manager(
        &mut driver,
        emu,
        ManagerConfig::default().tls(Some(settings)),
    );
    let e = tls_failure(&mut driver, mgr);
    assert_eq!(
        e,
        TlsError::WrongName {
            name: "other.example.com".into()
        }
    );
    assert!(e.to_string().contains("other.example.com"), "{e}");
    // The default name (the IP address) is not in the certificate either.
    let settings = TlsSettings::new().ca_pem(pki.ca_pem);
    let mgr = tls_manager(
        &mut driver,
        emu,
        ManagerConfig::default().tls(Some(settings)),
    );
    assert!(matches!(
        tls_failure(&mut driver, mgr),
        TlsError::WrongName { name } if name == "127.0.0.1"
    ));
}

#[test]
fn an_untrusted_ca_is_a_typed_error() {
    let pki_a = pki(&["127.0.0.1"]);
    let pki_b = pki(&["127.0.0.1"]);
    let mut driver = Driver::new().unwrap();
    let emu = tls_emulator(&mut driver, &pki_a.chain_pem, &pki_a.key_pem);
    // Another CA...
    let settings = TlsSettings::new().ca_pem(pki_b.ca_pem);
    let mgr = tls_manager(
        &mut driver,
        emu,
        ManagerConfig::default().tls(Some(settings)),
    );
    assert_eq!(tls_failure(&mut driver, mgr), TlsError::Untrusted);
    // ... or the default public roots.
    let mgr = tls_manager(
        &mut driver,
        emu,
        ManagerConfig::default().tls(Some(TlsSettings::new())),
    );
    assert_eq!(tls_failure(&mut driver, mgr), TlsError::Untrusted);
}

#[test]
fn the_insecure_switch_accepts_a_self_signed_certificate() {
    let cert = rcgen::generate_simple_self_signed(vec!["lab-pbx".to_string()]).unwrap();
    let mut driver = Driver::new().unwrap();
    let emu = tls_emulator(
        &mut driver,
        &cert.cert.pem(),
        &cert.signing_key.serialize_pem(),
    );
    let settings = TlsSettings::new().danger_accept_any_certificate();
    let mgr = tls_manager(
        &mut driver,
        emu,
        ManagerConfig::default().tls(Some(settings)),
    );
    login_and_ping(&mut driver, mgr).unwrap();
    // Without the switch the same server is refused.
    let mgr = tls_manager(
        &mut driver,
        emu,
        ManagerConfig::default().tls(Some(TlsSettings::new())),
    );
    assert_eq!(tls_failure(&mut driver, mgr), TlsError::Untrusted);
}

#[test]
fn a_plain_client_does_not_log_in_to_a_tls_server() {
    let pki = pki(&["127.0.0.1"]);
    let mut driver = Driver::new().unwrap();
    let emu = tls_emulator(&mut driver, &pki.chain_pem, &pki.key_pem);
    let mgr = tls_manager(
        &mut driver,
        emu,
        ManagerConfig::default().action_timeout(Some(T)),
    );
    let start = Instant::now();
    assert!(login_and_ping(&mut driver, mgr).is_err());
    assert!(start.elapsed() < T + Duration::from_secs(1));
}

#[test]
fn a_reconnect_makes_a_fresh_tls_session() {
    let pki = pki(&["127.0.0.1"]);
    let mut driver = Driver::new().unwrap();
    let emu = tls_emulator(&mut driver, &pki.chain_pem, &pki.key_pem);
    let policy = Reconnect::default()
        .initial(Duration::from_millis(50))
        .max(Duration::from_millis(200))
        .jitter(0.0);
    let config = ManagerConfig::default()
        .tls(Some(TlsSettings::new().ca_pem(pki.ca_pem)))
        .reconnect(Some(policy));
    let mgr = tls_manager(&mut driver, emu, config);
    let ups = Rc::new(RefCell::new(0));
    let u = ups.clone();
    driver.get_mut(mgr).on_link(move |event, _| {
        if let LinkEvent::Up { .. } = event {
            *u.borrow_mut() += 1;
        }
    });
    login_and_ping(&mut driver, mgr).unwrap();
    driver.get_mut(emu).drop_clients();
    assert!(driver.run_until(T, |_| *ups.borrow() == 2).unwrap());
    let pong = driver.call(mgr, &Ping, T).unwrap();
    assert_eq!(pong.get_str("Ping"), Some("Pong"));
    assert_eq!(driver.get(mgr).stats().reconnects, 1);
}

/// A TLS client meets a plain AMI server: the greeting is no TLS record.
#[test]
fn a_tls_client_against_a_plain_server_fails_at_once() {
    let mut driver = Driver::new().unwrap();
    let config = EmulatorConfig::default().user("admin", "s3cret");
    let emu = driver
        .add(Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap())
        .unwrap();
    let settings = TlsSettings::new().danger_accept_any_certificate();
    let mgr = tls_manager(
        &mut driver,
        emu,
        ManagerConfig::default().tls(Some(settings)),
    );
    let e = tls_failure(&mut driver, mgr);
    assert!(
        matches!(&e, TlsError::Other(m) if m.contains("speak TLS")),
        "{e:?}"
    );
}

/// A client certificate and key are read from PEM files (a server that
/// asks for none is not sent them).
#[test]
fn a_client_certificate_from_pem_files() {
    let server = pki(&["127.0.0.1"]);
    let client = pki(&["ami-client"]);
    let dir = std::env::temp_dir();
    let id = std::process::id();
    let cert = dir.join(format!("asterisk-io-client-{id}.crt"));
    let key = dir.join(format!("asterisk-io-client-{id}.key"));
    std::fs::write(&cert, &client.chain_pem).unwrap();
    std::fs::write(&key, &client.key_pem).unwrap();
    let mut driver = Driver::new().unwrap();
    let emu = tls_emulator(&mut driver, &server.chain_pem, &server.key_pem);
    let settings = TlsSettings::new()
        .ca_pem(server.ca_pem)
        .client_cert(&cert, &key);
    let mgr = tls_manager(
        &mut driver,
        emu,
        ManagerConfig::default().tls(Some(settings)),
    );
    let r = login_and_ping(&mut driver, mgr);
    // A key file that holds a certificate is refused when connecting.
    let bad = TlsSettings::new().client_cert(&cert, &cert);
    let e = Manager::connect_with("127.0.0.1:9", ManagerConfig::default().tls(Some(bad)));
    let _ = std::fs::remove_file(&cert);
    let _ = std::fs::remove_file(&key);
    r.unwrap();
    assert!(matches!(e, Err(Error::Tls(TlsError::Settings(_)))), "{e:?}");
}

/// A server that asks for a client certificate (mutual TLS): the right
/// one logs in; none, or one from another CA, is a typed TLS error.
#[test]
fn a_server_requiring_a_client_certificate_gets_one() {
    let server = pki(&["127.0.0.1"]);
    let client = pki(&["ami-client"]);
    let stranger = pki(&["ami-client"]);
    let dir = std::env::temp_dir();
    let id = std::process::id();
    let files: Vec<_> = [
        ("mtls.crt", &client.chain_pem),
        ("mtls.key", &client.key_pem),
        ("mtls-stranger.crt", &stranger.chain_pem),
        ("mtls-stranger.key", &stranger.key_pem),
    ]
    .iter()
    .map(|(name, pem)| {
        let path = dir.join(format!("asterisk-io-{id}-{name}"));
        std::fs::write(&path, pem).unwrap();
        path
    })
    .collect();
    let mut driver = Driver::new().unwrap();
    let config = EmulatorConfig::default()
        .user("admin", "s3cret")
        .tls_with_client_auth(
            server.chain_pem.as_bytes(),
            server.key_pem.as_bytes(),
            client.ca_pem.as_bytes(),
        )
        .unwrap();
    let emu = driver
        .add(Emulator::bind("127.0.0.1:0".parse().unwrap(), config).unwrap())
        .unwrap();
    let settings = || TlsSettings::new().ca_pem(server.ca_pem.clone());
    let mut run = |settings: TlsSettings| {
        let mgr = tls_manager(
            &mut driver,
            emu,
            ManagerConfig::default().tls(Some(settings)),
        );
        let r = login_and_ping(&mut driver, mgr);
        let reason = driver.get(mgr).close_reason().cloned();
        drop(driver.remove(mgr));
        (r, reason)
    };
    let good = run(settings().client_cert(&files[0], &files[1]));
    let none = run(settings());
    let other = run(settings().client_cert(&files[2], &files[3]));
    for f in &files {
        let _ = std::fs::remove_file(f);
    }
    good.0.unwrap();
    for (what, (r, reason)) in [("no certificate", none), ("another CA's", other)] {
        let e = r.expect_err(what);
        let tls = matches!(e.root(), Error::Tls(_))
            || matches!(reason.as_ref().map(Error::root), Some(Error::Tls(_)));
        assert!(tls, "{what}: {e:?} / {reason:?}");
    }
}

#[test]
fn debug_prints_no_key_material() {
    let pki = pki(&["127.0.0.1"]);
    let settings = TlsSettings::new()
        .ca_pem(pki.ca_pem)
        .client_cert(
            "/etc/asterisk/keys/client.crt",
            "/etc/asterisk/keys/client.key",
        )
        .server_name("pbx");
    let shown = format!("{settings:?}");
    assert!(shown.contains("<redacted>"), "{shown}");
    assert!(!shown.contains("client.key"), "{shown}");
    assert!(!shown.contains("BEGIN"), "{shown}");
    let config = EmulatorConfig::default()
        .tls(pki.chain_pem.as_bytes(), pki.key_pem.as_bytes())
        .unwrap();
    let shown = format!("{config:?}");
    assert!(!shown.contains("PRIVATE"), "{shown}");
    assert!(shown.contains("tls: true"), "{shown}");
}

#[test]
fn unusable_settings_are_typed_errors_at_connect() {
    let e = Manager::connect_with(
        "127.0.0.1:9",
        ManagerConfig::default().tls(Some(TlsSettings::new().ca_file("/nonexistent/ca.pem"))),
    )
    .unwrap_err();
    assert!(
        matches!(&e, Error::Tls(TlsError::Settings(m)) if m.contains("/nonexistent/ca.pem")),
        "{e}"
    );
    let e = EmulatorConfig::default()
        .tls(b"not a pem", b"nor this")
        .unwrap_err();
    assert!(matches!(e, TlsError::Settings(_)), "{e}");
}
