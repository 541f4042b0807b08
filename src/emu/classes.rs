//! Manager permission classes (`read=`/`write=` in `manager.conf`, the
//! `Privilege:` header of events, the `Events` action's mask).

use std::fmt;

/// A set of manager permission classes, with Asterisk's bit values (so a
/// numeric `EventMask` means what it means to Asterisk).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Classes(pub u32);

/// The class names in Asterisk's order, with their bits.
const NAMES: &[(u32, &str)] = &[
    (1 << 0, "system"),
    (1 << 1, "call"),
    (1 << 2, "log"),
    (1 << 3, "verbose"),
    (1 << 4, "command"),
    (1 << 5, "agent"),
    (1 << 6, "user"),
    (1 << 7, "config"),
    (1 << 8, "dtmf"),
    (1 << 9, "reporting"),
    (1 << 10, "cdr"),
    (1 << 11, "dialplan"),
    (1 << 12, "originate"),
    (1 << 13, "agi"),
    (1 << 14, "cc"),
    (1 << 15, "aoc"),
    (1 << 16, "test"),
    (1 << 17, "security"),
    (1 << 18, "message"),
];

impl Classes {
    /// No class.
    pub const NONE: Classes = Classes(0);
    /// Every class (`all`, Asterisk's `INT_MAX`).
    pub const ALL: Classes = Classes(i32::MAX as u32);
    /// `system`.
    pub const SYSTEM: Classes = Classes(1);
    /// `call`.
    pub const CALL: Classes = Classes(1 << 1);
    /// `command`.
    pub const COMMAND: Classes = Classes(1 << 4);
    /// `user`.
    pub const USER: Classes = Classes(1 << 6);
    /// `config`.
    pub const CONFIG: Classes = Classes(1 << 7);
    /// `reporting`.
    pub const REPORTING: Classes = Classes(1 << 9);
    /// `cdr`.
    pub const CDR: Classes = Classes(1 << 10);
    /// `dialplan`.
    pub const DIALPLAN: Classes = Classes(1 << 11);
    /// `originate`.
    pub const ORIGINATE: Classes = Classes(1 << 12);
    /// `agi`.
    pub const AGI: Classes = Classes(1 << 13);
    /// `security`.
    pub const SECURITY: Classes = Classes(1 << 17);

    /// Reads a comma-separated class list as `manager.conf` does
    /// (`call,reporting`, `all`, `none`); unknown words count for nothing.
    pub fn parse(list: &str) -> Classes {
        let mut bits = 0u32;
        for word in list.split(',').map(str::trim) {
            if word.eq_ignore_ascii_case("all") {
                bits |= Classes::ALL.0;
            } else if let Some((b, _)) = NAMES.iter().find(|(_, n)| n.eq_ignore_ascii_case(word)) {
                bits |= b;
            }
        }
        Classes(bits)
    }

    /// Reads an event mask as Asterisk's `Events` action and Login's
    /// `Events:` header do: digits are a numeric mask, a false word
    /// (`off`, `no` ...) is nothing, a true word (`on`, `yes` ...) is
    /// everything, anything else a class list. `None` for an empty mask.
    pub fn event_mask(mask: &str) -> Option<Classes> {
        if mask.is_empty() {
            return None;
        }
        if mask.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Classes(mask.parse::<i32>().unwrap_or(i32::MAX) as u32));
        }
        let m = mask.trim();
        let is = |words: &[&str]| words.iter().any(|w| w.eq_ignore_ascii_case(m));
        if is(&["no", "false", "n", "f", "0", "off"]) {
            return Some(Classes::NONE);
        }
        if is(&["yes", "true", "y", "t", "1", "on"]) {
            return Some(Classes::ALL);
        }
        Some(Classes::parse(mask))
    }

    /// True when every class of `other` is in `self`.
    pub fn contains(self, other: Classes) -> bool {
        self.0 & other.0 == other.0
    }

    /// True when `self` and `other` share a class.
    pub fn intersects(self, other: Classes) -> bool {
        self.0 & other.0 != 0
    }

    /// The union of both sets.
    pub fn union(self, other: Classes) -> Classes {
        Classes(self.0 | other.0)
    }

    /// The value of an event's `Privilege:` header, as Asterisk writes it
    /// (`call,all`; `<none>` for no class).
    pub fn privilege(self) -> String {
        let mut s = String::new();
        for (b, n) in NAMES {
            if self.0 & b != 0 {
                if !s.is_empty() {
                    s.push(',');
                }
                s.push_str(n);
            }
        }
        if self.0 != 0 {
            if !s.is_empty() {
                s.push(',');
            }
            s.push_str("all");
        }
        if s.is_empty() {
            s.push_str("<none>");
        }
        s
    }
}

impl fmt::Display for Classes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Classes::ALL {
            return f.write_str("all");
        }
        let mut first = true;
        for (b, n) in NAMES {
            if self.0 & b != 0 {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(n)?;
                first = false;
            }
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// The classes a user needs in its `write=` to run an action, as Asterisk 22
/// registers them; `NONE` means anyone logged in may (and is the answer for
/// actions this table does not know).
pub fn action_authority(action_lower: &str) -> Classes {
    let c = |l: &[Classes]| l.iter().fold(Classes::NONE, |a, b| a.union(*b));
    use Classes as K;
    match action_lower {
        "hangup" | "absolutetimeout" => c(&[K::SYSTEM, K::CALL]),
        "status" => c(&[K::SYSTEM, K::CALL, K::REPORTING]),
        "setvar" | "redirect" | "atxfer" | "cancelatxfer" | "sendtext" | "blindtransfer" => K::CALL,
        "getvar" | "extensionstate" | "presencestate" | "mailboxstatus" | "mailboxcount" => {
            c(&[K::CALL, K::REPORTING])
        }
        "getconfig" | "getconfigjson" | "reload" => c(&[K::SYSTEM, K::CONFIG]),
        "updateconfig" | "createconfig" | "listcategories" => K::CONFIG,
        "originate" => K::ORIGINATE,
        "command" => K::COMMAND,
        "userevent" => K::USER,
        "coresettings" | "corestatus" | "loggerrotate" | "coreshowchannels"
        | "coreshowchannelmap" | "dbget" | "dbgettree" => c(&[K::SYSTEM, K::REPORTING]),
        "moduleload" | "modulecheck" | "filter" | "dbput" | "dbdel" | "dbdeltree" => K::SYSTEM,
        "agi" => K::AGI,
        _ => K::NONE,
    }
}

/// The class of an event from its `Privilege:` header value (`call,all`).
pub fn privilege_classes(value: &str) -> Classes {
    // `all` in a Privilege header is decoration: the event's class is the rest.
    let bits = value
        .split(',')
        .map(str::trim)
        .filter(|w| !w.eq_ignore_ascii_case("all"))
        .fold(0, |acc, w| acc | Classes::parse(w).0);
    Classes(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_read_as_asterisk_reads_them() {
        assert_eq!(Classes::event_mask("off"), Some(Classes::NONE));
        assert_eq!(Classes::event_mask("on"), Some(Classes::ALL));
        assert_eq!(Classes::event_mask("bogus"), Some(Classes::NONE));
        assert_eq!(Classes::event_mask(""), None);
        assert_eq!(Classes::event_mask("2"), Some(Classes::CALL));
        assert_eq!(
            Classes::event_mask("system,call"),
            Some(Classes::SYSTEM.union(Classes::CALL))
        );
        assert_eq!(Classes::CALL.privilege(), "call,all");
        assert_eq!(privilege_classes("Call"), Classes::CALL);
        assert_eq!(
            Classes::parse("call,reporting").to_string(),
            "call,reporting"
        );
        assert!(action_authority("originate").intersects(Classes::ALL));
        assert_eq!(action_authority("ping"), Classes::NONE);
    }
}
