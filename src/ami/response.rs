//! Results of actions: the response, list items, command output, and the
//! typed outputs [`FromResult`] turns them into.

use super::error::Error;
use super::message::{OwnedMessage, Value};

/// A `Response:` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response(pub(crate) OwnedMessage);

impl Response {
    /// Wraps a message (for tests and emulators).
    pub fn new(message: OwnedMessage) -> Self {
        Response(message)
    }

    /// The `Response:` value (`Success`, `Error`, `Goodbye`, `Follows`, ...).
    pub fn status(&self) -> Option<Value<'_>> {
        self.0.get("Response")
    }

    /// True unless the server answered `Response: Error`.
    pub fn is_success(&self) -> bool {
        !self.status().is_some_and(|v| v.eq_ignore_case("Error"))
    }

    /// The `Message:` text, if any.
    pub fn message(&self) -> Option<&str> {
        self.0.get_str("Message")
    }

    /// See [`OwnedMessage::get`].
    pub fn get(&self, key: &str) -> Option<Value<'_>> {
        self.0.get(key)
    }

    /// See [`OwnedMessage::get_str`].
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.0.get_str(key)
    }

    /// The underlying message.
    pub fn message_block(&self) -> &OwnedMessage {
        &self.0
    }

    pub(crate) fn to_error(&self) -> Error {
        Error::Server {
            message: self.message().unwrap_or("").to_owned(),
            response: Box::new(self.0.clone()),
        }
    }
}

/// Output of a CLI command, one entry per line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandOutput {
    /// The lines, without line ends (invalid UTF-8 replaced).
    pub lines: Vec<String>,
}

impl CommandOutput {
    pub(crate) fn from_output_headers(r: &OwnedMessage) -> Self {
        CommandOutput {
            lines: r
                .get_all("Output")
                .map(|v| v.to_str_lossy().into_owned())
                .collect(),
        }
    }

    pub(crate) fn from_legacy_text(text: &[u8]) -> Self {
        let text = String::from_utf8_lossy(text);
        let text = text.strip_suffix('\n').unwrap_or(&text);
        CommandOutput {
            lines: if text.is_empty() {
                Vec::new()
            } else {
                text.split('\n')
                    .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
                    .collect()
            },
        }
    }

    /// The lines joined with `\n`.
    pub fn text(&self) -> String {
        self.lines.join("\n")
    }
}

/// Everything an action produced, before any typing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActionResult {
    /// The response block.
    pub response: Response,
    /// List items (events carrying the ActionID), the terminal event excluded.
    pub events: Vec<OwnedMessage>,
    /// The list's terminal event (`...Complete`) or an async Originate's `OriginateResponse`.
    pub completion: Option<OwnedMessage>,
    /// Command output, for `Command` actions (and the raw text of
    /// [`ResultShape::Text`](super::ResultShape::Text) actions).
    pub output: Option<CommandOutput>,
    /// Byte offsets, in the connection's input, of response lines that had
    /// no colon and were left out of [`ActionResult::response`] (old
    /// `chan_sip` wrote such lines). Empty for a well-formed response.
    pub malformed_lines: Vec<u64>,
}

impl ActionResult {
    /// A result made of one response and nothing else.
    pub fn new(response: Response) -> Self {
        ActionResult {
            response,
            events: Vec::new(),
            completion: None,
            output: None,
            malformed_lines: Vec::new(),
        }
    }
}

/// Converts an [`ActionResult`] into an action's typed output.
pub trait FromResult: Sized {
    /// The conversion; `Response: Error` usually becomes [`Error::Server`].
    fn from_result(result: ActionResult) -> Result<Self, Error>;
}

/// The raw result: never fails, even on `Response: Error`.
impl FromResult for ActionResult {
    fn from_result(result: ActionResult) -> Result<Self, Error> {
        Ok(result)
    }
}

impl FromResult for Response {
    fn from_result(result: ActionResult) -> Result<Self, Error> {
        if result.response.is_success() {
            Ok(result.response)
        } else {
            Err(result.response.to_error())
        }
    }
}

/// A list action's result: the response and every item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListResult {
    /// The response (`EventList: start`).
    pub response: Response,
    /// The items in arrival order.
    pub items: Vec<OwnedMessage>,
    /// The terminal `...Complete` event (with `ListItems:`), if one came.
    pub complete: Option<OwnedMessage>,
}

impl FromResult for ListResult {
    fn from_result(r: ActionResult) -> Result<Self, Error> {
        if !r.response.is_success() {
            return Err(r.response.to_error());
        }
        Ok(ListResult {
            response: r.response,
            items: r.events,
            complete: r.completion,
        })
    }
}

/// `Command` fails when Asterisk answers `Response: Error`; the error message
/// is then the command's output (for an unknown CLI command) or the response's
/// `Message:`.
impl FromResult for CommandOutput {
    fn from_result(r: ActionResult) -> Result<Self, Error> {
        let output = r.output.unwrap_or_default();
        if r.response.is_success() {
            Ok(output)
        } else {
            let message = if output.lines.is_empty() {
                r.response.message().unwrap_or("").to_owned()
            } else {
                output.text()
            };
            Err(Error::Server {
                message,
                response: Box::new(r.response.0),
            })
        }
    }
}

/// The outcome of an `Async: true` Originate, from its `OriginateResponse` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginateOutcome {
    /// The immediate response ("Originate successfully queued").
    pub response: Response,
    /// The `OriginateResponse` event.
    pub event: OwnedMessage,
}

impl OriginateOutcome {
    /// True when the event says `Response: Success`.
    pub fn is_success(&self) -> bool {
        self.event
            .get("Response")
            .is_some_and(|v| v.eq_ignore_case("Success"))
    }

    /// The numeric `Reason:` (4 = answered, 5 = busy, 8 = congestion, 0 = failed, ...).
    pub fn reason(&self) -> Option<u32> {
        self.event.get("Reason")?.parse()
    }

    /// The created channel's name (on failure, the dial string).
    pub fn channel(&self) -> Option<&str> {
        self.event.get_str("Channel")
    }

    /// The created channel's unique id (`<unknown>` on failure).
    pub fn uniqueid(&self) -> Option<&str> {
        self.event.get_str("Uniqueid")
    }
}

/// A synchronous Originate yields its response; an asynchronous one also waits
/// for `OriginateResponse`. Both report `Response: Error` as [`Error::Server`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginateResult {
    /// The response to the action.
    pub response: Response,
    /// For `Async: true`, the outcome event.
    pub outcome: Option<OriginateOutcome>,
}

impl FromResult for OriginateResult {
    fn from_result(r: ActionResult) -> Result<Self, Error> {
        if !r.response.is_success() {
            return Err(r.response.to_error());
        }
        let outcome = r.completion.map(|event| OriginateOutcome {
            response: r.response.clone(),
            event,
        });
        Ok(OriginateResult {
            response: r.response,
            outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_text_splits_into_lines() {
        let o = CommandOutput::from_legacy_text(b"a\nb\r\n\nc\n");
        assert_eq!(o.lines, ["a", "b", "", "c"]);
        assert!(CommandOutput::from_legacy_text(b"").lines.is_empty());
    }

    #[test]
    fn error_response_becomes_server_error() {
        let r = ActionResult::new(Response(OwnedMessage::from_pairs(&[
            ("Response", "Error"),
            ("Message", "No such channel"),
        ])));
        match Response::from_result(r) {
            Err(Error::Server { message, .. }) => assert_eq!(message, "No such channel"),
            other => panic!("{other:?}"),
        }
    }
}
