//! The AGI error type.

use std::fmt;

/// Why a session counts the channel as hung up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HangupSource {
    /// Asterisk sent the unsolicited `HANGUP` line.
    HangupLine,
    /// Asterisk answered `511 Command Not Permitted on a dead channel or intercept routine`.
    DeadChannel,
    /// The peer closed the connection (EOF on stdin or the socket).
    Eof,
    /// The transport reported a broken pipe while writing a command (the
    /// stdio equivalent of SIGHUP when `AGISIGHUP=no` is not set).
    BrokenPipe,
    /// The AsyncAGI session ended (`AsyncAGIEnd`), or the channel is not in
    /// AsyncAGI.
    SessionEnded,
}

impl fmt::Display for HangupSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HangupSource::HangupLine => "HANGUP line",
            HangupSource::DeadChannel => "511 dead channel",
            HangupSource::Eof => "end of stream",
            HangupSource::BrokenPipe => "broken pipe",
            HangupSource::SessionEnded => "AsyncAGI session ended",
        })
    }
}

/// Everything that can go wrong while talking AGI.
///
/// The variants say whose fault it is: the channel went away ([`HungUp`](Self::HungUp)),
/// Asterisk refused the command ([`InvalidCommand`](Self::InvalidCommand),
/// [`Usage`](Self::Usage)), the command ran but failed ([`Failed`](Self::Failed)),
/// the caller built a bad command ([`InvalidArgument`](Self::InvalidArgument),
/// [`CommandTooLong`](Self::CommandTooLong)),
/// the peer sent bytes that are not AGI ([`Protocol`](Self::Protocol),
/// [`LineTooLong`](Self::LineTooLong)), or the transport broke ([`Io`](Self::Io)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgiError {
    /// The channel is gone.
    #[error("channel hung up ({0})")]
    HungUp(HangupSource),
    /// `510 Invalid or unknown command`.
    #[error("invalid or unknown AGI command (510)")]
    InvalidCommand,
    /// `520` usage error; `usage` is the usage text Asterisk sent (may be empty).
    #[error("AGI command usage error (520): {usage}")]
    Usage {
        /// The usage text between the `520-` and `520 ` lines.
        usage: String,
    },
    /// The command ran and reported failure (`result=-1`, `result=-2` for an
    /// unknown application, `503`, ...).
    #[error("AGI command failed (result {result}): {line}")]
    Failed {
        /// The numeric result, if there was one.
        result: i64,
        /// The reply line as received.
        line: String,
    },
    /// A command argument contains CR, LF or NUL; nothing was sent.
    #[error("argument {index} of {command} contains CR, LF or NUL")]
    InvalidArgument {
        /// The command word(s), e.g. `SET VARIABLE`.
        command: &'static str,
        /// Zero-based index of the offending argument.
        index: usize,
    },
    /// The encoded command line (with its LF) is longer than the server
    /// reads as one command ([`MAX_COMMAND_LINE`](super::command::MAX_COMMAND_LINE),
    /// or [`MAX_COMMAND_LINE_8K`](super::command::MAX_COMMAND_LINE_8K) for
    /// an Asterisk that reads 8 KiB, see
    /// [`max_command_line`](super::command::max_command_line)); nothing was
    /// sent. (Asterisk would cut the line and run the rest of it as a
    /// separate command.)
    #[error("{command} command line is {len} bytes, more than the {limit} Asterisk reads as one command")]
    CommandTooLong {
        /// The command word(s), e.g. `SET VARIABLE`.
        command: &'static str,
        /// Length of the encoded line in bytes, including the LF.
        len: usize,
        /// The limit that was applied, in bytes including the LF.
        limit: usize,
    },
    /// The peer sent something that is not a valid AGI message.
    #[error("AGI protocol error: {reason}: {line:?}")]
    Protocol {
        /// What was wrong.
        reason: &'static str,
        /// The offending line (lossily decoded, truncated to 256 bytes).
        line: String,
    },
    /// A line (or a 520 block, or the environment block) exceeded the limit.
    #[error("AGI line longer than {limit} bytes")]
    LineTooLong {
        /// The configured limit in bytes.
        limit: usize,
    },
    /// The manager refused the `Action: AGI` carrying an AsyncAGI command
    /// (`Response: Error`, with its `Message:`), or could not send it.
    #[error("AsyncAGI command refused by the manager: {message}")]
    Rejected {
        /// The response's `Message:` (or the manager error).
        message: String,
    },
    /// The session is already over.
    #[error("AGI session closed")]
    Closed,
    /// Reading or writing failed.
    #[error("AGI I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl AgiError {
    /// True if the error means the channel (or the connection) is gone.
    pub fn is_hangup(&self) -> bool {
        matches!(self, AgiError::HungUp(_))
    }

    pub(crate) fn protocol(reason: &'static str, line: &[u8]) -> AgiError {
        let cut = &line[..line.len().min(256)];
        AgiError::Protocol {
            reason,
            line: String::from_utf8_lossy(cut).into_owned(),
        }
    }

    pub(crate) fn failed(result: i64, line: &[u8]) -> AgiError {
        AgiError::Failed {
            result,
            line: String::from_utf8_lossy(trim_nl(line)).into_owned(),
        }
    }

    /// A copy of the error for repeated reporting (I/O errors keep their kind
    /// and message, not their source).
    pub fn duplicate(&self) -> AgiError {
        match self {
            AgiError::HungUp(s) => AgiError::HungUp(*s),
            AgiError::InvalidCommand => AgiError::InvalidCommand,
            AgiError::Usage { usage } => AgiError::Usage {
                usage: usage.clone(),
            },
            AgiError::Failed { result, line } => AgiError::Failed {
                result: *result,
                line: line.clone(),
            },
            AgiError::InvalidArgument { command, index } => AgiError::InvalidArgument {
                command,
                index: *index,
            },
            AgiError::CommandTooLong {
                command,
                len,
                limit,
            } => AgiError::CommandTooLong {
                command,
                len: *len,
                limit: *limit,
            },
            AgiError::Protocol { reason, line } => AgiError::Protocol {
                reason,
                line: line.clone(),
            },
            AgiError::LineTooLong { limit } => AgiError::LineTooLong { limit: *limit },
            AgiError::Rejected { message } => AgiError::Rejected {
                message: message.clone(),
            },
            AgiError::Closed => AgiError::Closed,
            AgiError::Io(e) => AgiError::Io(std::io::Error::new(e.kind(), e.to_string())),
        }
    }
}

pub(crate) fn trim_nl(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = line {
        line = rest;
    }
    line
}
