//! Typed answers of the single-response actions whose response carries
//! data: each wraps the [`Response`] (reached through `Deref`, so
//! `get`, `message` ... still work) and adds one accessor per header,
//! parsed on access.

use std::ops::Deref;

use crate::ami::error::Error;
use crate::ami::events::parse_bool;
use crate::ami::message::Value;
use crate::ami::response::{ActionResult, FromResult, Response};

/// Declares a typed answer: a wrapper of `Response` with typed accessors.
macro_rules! typed_response {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $key:literal => $kind:ident ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(Response);

        impl $name {
            /// The response itself.
            pub fn response(&self) -> &Response {
                &self.0
            }

            /// The response, unwrapped.
            pub fn into_response(self) -> Response {
                self.0
            }

            $(
                $(#[$fmeta])*
                pub fn $field(&self) -> typed_response!(@ret $kind) {
                    typed_response!(@get self.0.get($key), $kind)
                }
            )*
        }

        impl Deref for $name {
            type Target = Response;
            fn deref(&self) -> &Response {
                &self.0
            }
        }

        /// `Response: Error` is [`Error::Server`], as for [`Response`].
        impl FromResult for $name {
            fn from_result(result: ActionResult) -> Result<Self, Error> {
                Response::from_result(result).map($name)
            }
        }
    };
    (@ret text) => { Option<Value<'_>> };
    (@ret u32) => { Option<u32> };
    (@ret i32) => { Option<i32> };
    (@ret f64) => { Option<f64> };
    (@ret bool) => { Option<bool> };
    (@get $v:expr, text) => { $v };
    (@get $v:expr, bool) => { $v.and_then(parse_bool) };
    (@get $v:expr, $kind:ident) => { $v.and_then(|v| v.parse::<$kind>()) };
}

typed_response! {
    /// The answer to `CoreSettings`: versions and core limits.
    CoreSettingsResponse {
        /// The manager protocol's version (`AMIversion`, `11.0.0` for Asterisk 22).
        ami_version: "AMIversion" => text,
        /// Asterisk's version (`AsteriskVersion`).
        asterisk_version: "AsteriskVersion" => text,
        /// `SystemName` from `asterisk.conf`.
        system_name: "SystemName" => text,
        /// The call limit, 0 for none (`CoreMaxCalls`).
        core_max_calls: "CoreMaxCalls" => u32,
        /// The load-average limit, 0 for none (`CoreMaxLoadAvg`).
        core_max_load_avg: "CoreMaxLoadAvg" => f64,
        /// The user Asterisk runs as (`CoreRunUser`).
        core_run_user: "CoreRunUser" => text,
        /// The group Asterisk runs as (`CoreRunGroup`).
        core_run_group: "CoreRunGroup" => text,
        /// The file-handle limit (`CoreMaxFilehandles`).
        core_max_filehandles: "CoreMaxFilehandles" => u32,
        /// Whether realtime is enabled (`CoreRealTimeEnabled`).
        core_real_time_enabled: "CoreRealTimeEnabled" => bool,
        /// Whether CDRs are enabled (`CoreCDRenabled`).
        core_cdr_enabled: "CoreCDRenabled" => bool,
        /// Whether the HTTP server is enabled (`CoreHTTPenabled`).
        core_http_enabled: "CoreHTTPenabled" => bool,
        /// Whether custom sounds are searched first (`SoundsSearchCustomDir`).
        sounds_search_custom_dir: "SoundsSearchCustomDir" => bool,
    }
}

typed_response! {
    /// The answer to `CoreStatus`: start and reload times, and calls.
    CoreStatusResponse {
        /// The start date (`CoreStartupDate`, `2026-11-26`).
        core_startup_date: "CoreStartupDate" => text,
        /// The start time (`CoreStartupTime`, `04:58:21`).
        core_startup_time: "CoreStartupTime" => text,
        /// The last reload's date (`CoreReloadDate`).
        core_reload_date: "CoreReloadDate" => text,
        /// The last reload's time (`CoreReloadTime`).
        core_reload_time: "CoreReloadTime" => text,
        /// Calls now (`CoreCurrentCalls`).
        core_current_calls: "CoreCurrentCalls" => u32,
        /// Calls since start (`CoreProcessedCalls`).
        core_processed_calls: "CoreProcessedCalls" => u32,
    }
}

typed_response! {
    /// The answer to `Getvar`.
    GetvarResponse {
        /// The variable or function asked for (`Variable`).
        variable: "Variable" => text,
        /// Its value (`Value`; empty when unset).
        value: "Value" => text,
    }
}

typed_response! {
    /// The answer to `MailboxCount`.
    MailboxCountResponse {
        /// The mailbox (`Mailbox`).
        mailbox: "Mailbox" => text,
        /// Urgent messages (`UrgMessages`).
        urg_messages: "UrgMessages" => u32,
        /// New messages (`NewMessages`).
        new_messages: "NewMessages" => u32,
        /// Old messages (`OldMessages`).
        old_messages: "OldMessages" => u32,
    }
}

typed_response! {
    /// The answer to `MailboxStatus`.
    MailboxStatusResponse {
        /// The mailbox (`Mailbox`).
        mailbox: "Mailbox" => text,
        /// Messages waiting, 0 for none (`Waiting`).
        waiting: "Waiting" => u32,
    }
}

typed_response! {
    /// The answer to `ExtensionState`.
    ExtensionStateResponse {
        /// The extension (`Exten`).
        exten: "Exten" => text,
        /// Its context (`Context`).
        context: "Context" => text,
        /// Its hint (`Hint`, `PJSIP/100`).
        hint: "Hint" => text,
        /// The state as a number (`Status`: -1 not found, 0 idle, 1 in use,
        /// 2 busy, 4 unavailable, 8 ringing, 16 on hold; sums combine).
        status: "Status" => i32,
        /// The state in words (`StatusText`: `Idle`, `InUse` ...).
        status_text: "StatusText" => text,
    }
}

typed_response! {
    /// The answer to `PresenceState`.
    PresenceStateResponse {
        /// The state (`State`: `available`, `away`, `dnd` ...).
        state: "State" => text,
        /// A subtype (`Subtype`).
        subtype: "Subtype" => text,
        /// A message (`Message`).
        presence_message: "Message" => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ami::OwnedMessage;

    #[test]
    fn typed_answers_read_their_headers() {
        let r = ActionResult {
            response: Response::new(OwnedMessage::from_pairs(&[
                ("Response", "Success"),
                ("CoreCurrentCalls", "3"),
                ("CoreStartupDate", "2026-11-26"),
            ])),
            events: vec![],
            completion: None,
            output: None,
            malformed_lines: vec![],
        };
        let s = CoreStatusResponse::from_result(r).unwrap();
        assert_eq!(s.core_current_calls(), Some(3));
        assert_eq!(s.core_startup_date().unwrap(), "2026-11-26");
        assert!(s.is_success());
        assert_eq!(s.get_str("CoreCurrentCalls"), Some("3"));
    }
}
