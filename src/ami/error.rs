//! Errors of the manager client, by whose fault they are.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use super::message::OwnedMessage;

/// A field could not be written: the action is refused and nothing is sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A value contains CR or LF, which would inject extra headers or actions.
    #[error("value of field {key:?} contains a line break (CR or LF)")]
    LineBreakInValue {
        /// The field whose value was refused.
        key: String,
    },
    /// A field line (`Key: value`) is longer than Asterisk's manager reads
    /// ([`MAX_FIELD_LINE`](crate::ami::action::MAX_FIELD_LINE) bytes); it
    /// would be cut and the rest taken for other headers.
    #[error("field {key:?} is {len} bytes long, more than Asterisk reads in one line")]
    FieldTooLong {
        /// The field.
        key: String,
        /// Its line length, key and `": "` included.
        len: usize,
    },
    /// A key is empty or contains CR, LF or a colon.
    #[error("invalid field name {key:?}")]
    InvalidKey {
        /// The refused key.
        key: String,
    },
    /// An action name is empty or contains CR, LF or a colon.
    #[error("invalid action name {name:?}")]
    InvalidActionName {
        /// The refused name.
        name: String,
    },
    /// An MD5 [`Login`](super::actions::Login) was sent as a plain action:
    /// it needs its `Challenge` first, which only `Manager::login`,
    /// `Manager::start_login` and `Connection::login` perform. Nothing is
    /// sent, so the secret does not cross the wire.
    #[error("an MD5 login needs its challenge: send it with login or start_login")]
    Md5LoginNeedsChallenge,
    /// A channel variable name contains `=`.
    #[error("variable name {name:?} contains '='")]
    InvalidVariableName {
        /// The refused name.
        name: String,
    },
}

/// What was wrong with the bytes the server sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The first line was not a manager greeting.
    #[error("bad greeting: {0}")]
    BadGreeting(&'static str),
    /// A block grew past the configured maximum message size.
    #[error("message larger than {max} bytes")]
    Oversized {
        /// The configured limit.
        max: usize,
    },
    /// A line inside a block has no colon.
    #[error("line without ':' in message")]
    MalformedLine,
    /// An action's event list grew past `ManagerConfig::max_list_bytes`; the action failed.
    #[error("event list larger than {max} bytes")]
    ListTooLarge {
        /// The configured limit.
        max: usize,
    },
    /// A block has neither `Response:` nor `Event:`.
    #[error("message has neither Response nor Event header")]
    NotResponseOrEvent,
}

/// Every error of the manager client.
///
/// Errors that end the connection ([`Error::is_fatal`]) are remembered: every
/// later call returns the same error again.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The socket failed.
    #[error("I/O error: {0}")]
    Io(Arc<io::Error>),
    /// The server sent bytes that are not valid AMI; `offset` counts bytes
    /// from the start of the connection's input.
    #[error("protocol error at byte {offset}: {kind}")]
    Protocol {
        /// Byte offset in the input stream where the bad message starts.
        offset: u64,
        /// What was wrong.
        kind: ProtocolError,
    },
    /// The server answered `Response: Error`.
    #[error("server refused the action: {message}")]
    Server {
        /// The response's `Message:` (or command output for `Command`).
        message: String,
        /// The whole response.
        response: Box<OwnedMessage>,
    },
    /// The login was refused (wrong user or secret); Asterisk closes the connection.
    #[error("authentication failed: {message}")]
    AuthFailed {
        /// The server's `Message:`.
        message: String,
    },
    /// No result within the time given. When this is an action's result
    /// (its deadline passed), the action is no longer pending: a reply that
    /// arrives later is an unmatched response. When [`Manager::wait_for`]
    /// returns it for its own timeout, the action stays pending.
    ///
    /// [`Manager::wait_for`]: super::Manager::wait_for
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The link failed after the action was written and before its answer:
    /// Asterisk may or may not have run it. Nothing is ever re-sent; check
    /// the PBX's state (a `Status`, `CoreShowChannels` ...) before trying
    /// again. The link's own failure is inside.
    #[error("outcome unknown (the action was sent, the link failed before its answer): {0}")]
    OutcomeUnknown(Box<Error>),
    /// The link failed while the action's answer was arriving: its response
    /// came, and `partial` holds it with the list items (or nothing of the
    /// async Originate's outcome) that arrived before the failure, `cause`.
    #[error("the link failed while the answer was arriving ({} items so far): {cause}", partial.events.len())]
    Interrupted {
        /// What arrived: the response and the items so far.
        partial: Box<super::response::ActionResult>,
        /// The link's failure.
        cause: Box<Error>,
    },
    /// The link failed (or was down) before the action was written whole:
    /// Asterisk never saw it. The link's failure is inside.
    #[error("not sent (the link failed first): {0}")]
    NotSent(Box<Error>),
    /// A keepalive `Ping` got no answer within its deadline: the link is
    /// taken for dead.
    #[error("keepalive: no answer to a ping within {0:?}")]
    KeepaliveTimeout(Duration),
    /// The manager is registered in a host's `Poll` (or a
    /// [`Driver`](crate::driver::Driver)) and cannot wait by itself: use the
    /// driver's blocking helpers, or `send_with` and the host's loop.
    /// Nothing was sent.
    #[error("the manager is registered in a host's poll and cannot wait by itself")]
    Registered,
    /// The action was cancelled ([`Connection::cancel`](super::Connection::cancel)
    /// or `Manager::cancel`) before its result arrived. Asterisk may still
    /// have run it: cancelling only stops waiting.
    #[error("action cancelled before its result arrived")]
    Cancelled,
    /// The result asked for is not available, and never will be: see [`Gone`].
    #[error("no result for this action: {0}")]
    Gone(Gone),
    /// [`Manager::send`](super::Manager::send) keeps results until they are
    /// taken, and this many are already waiting (see
    /// [`ManagerConfig::max_stored_results`](super::ManagerConfig::max_stored_results)).
    /// Take them, or send with `send_with` or `send_and_forget`, which keep
    /// nothing. The action was not sent.
    #[error("{max} results are waiting to be taken; action not sent")]
    ResultStoreFull {
        /// The configured limit.
        max: usize,
    },
    /// The action was refused before sending.
    #[error("action refused: {0}")]
    Encode(#[from] EncodeError),
    /// The connection ended (by the server, a logoff, or `close`) before the
    /// action completed. Pending actions are never re-sent.
    #[error("connection closed: {0}")]
    Closed(&'static str),
    /// The TLS layer failed: the server's certificate was refused, the
    /// handshake broke, or the TLS settings could not be used (only with
    /// the `tls` feature).
    #[error("TLS: {0}")]
    Tls(TlsError),
}

/// Why a TLS link failed (see [`Error::Tls`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The server's certificate chain does not lead to a trusted CA: give
    /// the CA that signed it (`TlsSettings::ca_file`).
    #[error(
        "the server's certificate is not trusted (unknown issuer); give its CA with a CA file"
    )]
    Untrusted,
    /// The server's certificate is valid, but not for the name checked.
    #[error("the server's certificate is not valid for the name {name:?}; set the server name the certificate carries")]
    WrongName {
        /// The name the certificate was checked against.
        name: String,
    },
    /// The server's certificate was refused for another reason (expired,
    /// malformed, wrong usage...).
    #[error("the server's certificate was refused: {0}")]
    BadCertificate(String),
    /// The peer ended the handshake with an alert.
    #[error("the peer refused the TLS session: {0}")]
    AlertReceived(String),
    /// The TLS settings could not be used (a CA or key file that is missing
    /// or holds no PEM item, say).
    #[error("TLS settings: {0}")]
    Settings(String),
    /// Any other TLS failure.
    #[error("{0}")]
    Other(String),
}

/// Why an action's result cannot be had (see [`ResultStatus::Gone`](super::ResultStatus::Gone)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Gone {
    /// The result was already handed out: taken before, given to the
    /// callback of `send_with`, or dropped as `send_and_forget` asked.
    #[error("its result was already handed out")]
    Delivered,
    /// The action is still pending, but was sent with a callback or as
    /// fire-and-forget: its result will not be kept for taking.
    #[error("it was sent with a callback or as fire-and-forget")]
    Detached,
    /// The id belongs to another manager (or connection).
    #[error("the id belongs to another connection")]
    OtherConnection,
    /// The id was issued on an earlier link of this manager, before a reconnect.
    #[error("the id belongs to an earlier link, before a reconnect")]
    EarlierLink,
}

/// A message the server sent that could not be used and was skipped. The
/// connection goes on; nothing pending is affected. `Manager` reports these
/// through [`Manager::on_skipped`](super::Manager::on_skipped) and counts them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("skipped message at byte {offset}: {kind}")]
pub struct Skipped {
    /// Byte offset in the input stream where the skipped message starts (or,
    /// for a malformed line, where that line starts).
    pub offset: u64,
    /// What was wrong with it.
    pub kind: ProtocolError,
}

impl Error {
    /// The error beneath [`Error::OutcomeUnknown`] and [`Error::NotSent`]
    /// (the link's own failure); any other error is its own root.
    pub fn root(&self) -> &Error {
        match self {
            Error::OutcomeUnknown(e) | Error::NotSent(e) => e.root(),
            Error::Interrupted { cause, .. } => cause.root(),
            e => e,
        }
    }

    /// True when the connection (the link this error came from) cannot be
    /// used any more. For [`Error::OutcomeUnknown`] and [`Error::NotSent`]
    /// it is the link's failure inside that counts.
    pub fn is_fatal(&self) -> bool {
        match self.root() {
            Error::Io(_)
            | Error::Closed(_)
            | Error::AuthFailed { .. }
            | Error::Tls(_)
            | Error::KeepaliveTimeout(_) => true,
            Error::Protocol { kind, .. } => matches!(kind, ProtocolError::BadGreeting(_)),
            _ => false,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        #[cfg(feature = "tls")]
        if let Some(f) = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<crate::transport::TlsFailure>())
        {
            return Error::Tls(TlsError::from_rustls(&f.error, &f.name));
        }
        Error::Io(Arc::new(e))
    }
}

#[cfg(feature = "tls")]
impl TlsError {
    pub(crate) fn from_rustls(e: &rustls::Error, name: &str) -> TlsError {
        use rustls::CertificateError as C;
        match e {
            rustls::Error::InvalidCertificate(C::UnknownIssuer) => TlsError::Untrusted,
            rustls::Error::InvalidCertificate(C::NotValidForName)
            | rustls::Error::InvalidCertificate(C::NotValidForNameContext { .. }) => {
                TlsError::WrongName {
                    name: name.to_owned(),
                }
            }
            rustls::Error::InvalidCertificate(c) => TlsError::BadCertificate(format!("{c:?}")),
            rustls::Error::AlertReceived(a) => TlsError::AlertReceived(format!("{a:?}")),
            // Plain AMI's greeting is no TLS record.
            rustls::Error::InvalidMessage(_) => TlsError::Other(format!(
                "{e} (does this port speak TLS? Asterisk's TLS port is tlsbindaddr, usually 5039)"
            )),
            other => TlsError::Other(other.to_string()),
        }
    }
}
