//! TLS settings of the manager (the `tls` feature): AMI over TLS, as
//! Asterisk serves it with `tlsenable=yes` in `manager.conf` (port 5039).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{self, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::error::{Error, TlsError};

/// Where the CAs that vouch for the server come from.
#[derive(Clone)]
enum Roots {
    /// Mozilla's list, compiled in (`webpki-roots`).
    Default,
    /// A PEM file of CA certificates.
    File(PathBuf),
    /// PEM text of CA certificates.
    Pem(Vec<u8>),
}

/// How the manager speaks TLS to Asterisk (see
/// [`ManagerConfig::tls`](super::ManagerConfig::tls)).
///
/// By default the server's certificate must chain to one of the compiled-in
/// public roots (Mozilla's list) and carry the name of the host connected
/// to: the IP address the manager connects to, unless
/// [`TlsSettings::server_name`] says which name to check. A PBX with a
/// certificate of a private CA needs [`TlsSettings::ca_file`].
///
/// ```
/// use asterisk_io::ami::{ManagerConfig, TlsSettings};
/// let tls = TlsSettings::new()
///     .server_name("pbx.example.com")
///     .ca_file("/etc/asterisk/keys/ca.crt");
/// let config = ManagerConfig::default().tls(Some(tls));
/// # let _ = config;
/// ```
///
/// `Debug` shows file names, never key material.
#[derive(Clone)]
#[non_exhaustive]
pub struct TlsSettings {
    server_name: Option<String>,
    roots: Roots,
    client_auth: Option<(PathBuf, PathBuf)>,
    accept_any: bool,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let roots = match &self.roots {
            Roots::Default => "default roots".to_owned(),
            Roots::File(p) => format!("CA file {}", p.display()),
            Roots::Pem(_) => "CA certificates (PEM)".to_owned(),
        };
        f.debug_struct("TlsSettings")
            .field("server_name", &self.server_name)
            .field("roots", &roots)
            .field(
                "client_cert",
                &self.client_auth.as_ref().map(|(cert, _key)| cert),
            )
            .field(
                "client_key",
                &self.client_auth.as_ref().map(|_| "<redacted>"),
            )
            .field("danger_accept_any_certificate", &self.accept_any)
            .finish()
    }
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings::new()
    }
}

impl TlsSettings {
    /// Checks the server's certificate against the default roots and the
    /// address connected to.
    pub fn new() -> Self {
        TlsSettings {
            server_name: None,
            roots: Roots::Default,
            client_auth: None,
            accept_any: false,
        }
    }

    /// The name the server's certificate must carry (and the SNI sent);
    /// default: the IP address connected to.
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Trusts the CA certificates in this PEM file instead of the default roots.
    pub fn ca_file(mut self, path: impl AsRef<Path>) -> Self {
        self.roots = Roots::File(path.as_ref().to_owned());
        self
    }

    /// Trusts the CA certificates in this PEM text instead of the default roots.
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.roots = Roots::Pem(pem.into());
        self
    }

    /// Presents a client certificate (chain) and its private key, both PEM
    /// files, to a server that asks for one.
    pub fn client_cert(mut self, cert_chain: impl AsRef<Path>, key: impl AsRef<Path>) -> Self {
        self.client_auth = Some((cert_chain.as_ref().to_owned(), key.as_ref().to_owned()));
        self
    }

    /// Accepts whatever certificate the server shows, for a lab PBX with a
    /// self-signed one. The link is encrypted but anyone on the path can
    /// pose as the server: never in production.
    pub fn danger_accept_any_certificate(mut self) -> Self {
        self.accept_any = true;
        self
    }

    /// The name to check the certificate against, when connecting to `peer`.
    pub(crate) fn name_for(&self, peer: SocketAddr) -> Result<ServerName<'static>, Error> {
        match &self.server_name {
            Some(name) => ServerName::try_from(name.clone())
                .map_err(|e| Error::Tls(TlsError::Settings(format!("server name {name:?}: {e}")))),
            None => Ok(ServerName::from(peer.ip())),
        }
    }

    /// The rustls client settings these make (files are read here).
    pub(crate) fn client_config(&self) -> Result<Arc<ClientConfig>, Error> {
        let provider = Arc::new(crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| settings(format!("protocol versions: {e}")))?;
        let builder = if self.accept_any {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
        } else {
            let mut roots = RootCertStore::empty();
            match &self.roots {
                Roots::Default => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
                Roots::File(path) => add_roots(&mut roots, &read(path)?, &path.display())?,
                Roots::Pem(pem) => add_roots(&mut roots, pem, &"the CA PEM text")?,
            }
            builder.with_root_certificates(roots)
        };
        let config = match &self.client_auth {
            None => builder.with_no_client_auth(),
            Some((cert, key)) => {
                let chain = CertificateDer::pem_slice_iter(&read(cert)?)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| settings(format!("{}: {e}", cert.display())))?;
                if chain.is_empty() {
                    return Err(settings(format!("{}: no certificate", cert.display())));
                }
                let key_der = PrivateKeyDer::from_pem_slice(&read(key)?)
                    .map_err(|e| settings(format!("{}: {e}", key.display())))?;
                builder
                    .with_client_auth_cert(chain, key_der)
                    .map_err(|e| settings(format!("client certificate: {e}")))?
            }
        };
        Ok(Arc::new(config))
    }
}

fn settings(message: String) -> Error {
    Error::Tls(TlsError::Settings(message))
}

fn read(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| settings(format!("{}: {e}", path.display())))
}

fn add_roots(
    roots: &mut RootCertStore,
    pem: &[u8],
    from: &dyn std::fmt::Display,
) -> Result<(), Error> {
    let mut n = 0;
    for cert in CertificateDer::pem_slice_iter(pem) {
        let cert = cert.map_err(|e| settings(format!("{from}: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| settings(format!("{from}: {e}")))?;
        n += 1;
    }
    if n == 0 {
        return Err(settings(format!("{from}: no CA certificate")));
    }
    Ok(())
}

/// The verifier of [`TlsSettings::danger_accept_any_certificate`]: any
/// certificate passes; the handshake signatures are still checked.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
