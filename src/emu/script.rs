//! Script files for the emulator: users, scripted actions, CLI commands,
//! timed events and faults in one small text format (documented in
//! `docs/emulator.md`).
//!
//! ```
//! use asterisk_io::emu::{script, EmulatorConfig};
//! let text = "\
//! user ro rosecret call,reporting none
//!
//! [action QueueStatus]
//! Message: Queue status will follow
//! item QueueParams
//! Queue: support
//!
//! [command sip show peers]
//! 0 sip peers
//! ";
//! let config = script::parse(text, EmulatorConfig::default()).unwrap();
//! assert!(config.scripts.contains_key("queuestatus"));
//! ```

use std::fmt;
use std::time::Duration;

use super::faults::Fault;
use super::session::{Block, EmulatorConfig, ScriptedReply, TimedEvent};

/// A script line that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptError {
    /// The line number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "script line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for ScriptError {}

enum Section {
    Top,
    Action {
        name: String,
        reply: ScriptedReply,
        /// Where `Key: Value` lines go: 0 response, 1 last item, 2 last event.
        target: u8,
        items: Vec<Block>,
        complete: Option<String>,
    },
    Command {
        cli: String,
        lines: Vec<String>,
    },
    Event {
        timer: Option<(Duration, Option<Duration>)>,
        after: Option<String>,
        block: Block,
    },
}

fn seconds(s: &str, line: usize) -> Result<Duration, ScriptError> {
    s.trim_end_matches('s')
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| ScriptError {
            line,
            message: format!("not a number of seconds: {s:?}"),
        })
}

fn finish(section: Section, config: &mut EmulatorConfig) {
    match section {
        Section::Top => {}
        Section::Action {
            name,
            mut reply,
            items,
            complete,
            ..
        } => {
            if !items.is_empty() || complete.is_some() {
                if !reply
                    .response
                    .iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("EventList"))
                {
                    reply
                        .response
                        .insert(0, ("EventList".into(), "start".into()));
                }
                // The terminal event the client library expects for this
                // action (the typed catalogue), else NAME + "Complete".
                let complete = complete
                    .or_else(|| {
                        crate::ami::catalogue::action(&name)
                            .and_then(|a| a.list_end())
                            .map(str::to_owned)
                    })
                    .unwrap_or_else(|| format!("{name}Complete"));
                reply.list = Some((complete, items));
            }
            config.scripts.insert(name.to_ascii_lowercase(), reply);
        }
        Section::Command { cli, mut lines } => {
            while lines.last().is_some_and(String::is_empty) {
                lines.pop();
            }
            config.commands.insert(cli, lines);
        }
        Section::Event {
            timer,
            after,
            block,
        } => {
            if let Some((first, every)) = timer {
                config.timers.push(TimedEvent {
                    first,
                    every,
                    event: block,
                });
            } else if let Some(action) = after {
                config
                    .after_action
                    .push((action.to_ascii_lowercase(), block));
            }
        }
    }
}

/// Reads a script and adds what it says to `config`.
pub fn parse(text: &str, mut config: EmulatorConfig) -> Result<EmulatorConfig, ScriptError> {
    let mut section = Section::Top;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i + 1;
        let err = |message: String| ScriptError {
            line: line_no,
            message,
        };
        let line = raw.trim_end();
        // Command output keeps its lines verbatim (blank ones too).
        if let Section::Command { lines, .. } = &mut section {
            if !line.starts_with('[') {
                lines.push(line.to_owned());
                continue;
            }
        }
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(head) = trimmed.strip_prefix('[') {
            let head = head
                .strip_suffix(']')
                .ok_or_else(|| err("a section header ends with ']'".into()))?
                .trim();
            finish(std::mem::replace(&mut section, Section::Top), &mut config);
            let (kind, rest) = head.split_once(' ').unwrap_or((head, ""));
            let rest = rest.trim();
            section = match kind {
                "action" if !rest.is_empty() => Section::Action {
                    name: rest.to_owned(),
                    reply: ScriptedReply::default(),
                    target: 0,
                    items: Vec::new(),
                    complete: None,
                },
                "command" if !rest.is_empty() => Section::Command {
                    cli: rest.to_owned(),
                    lines: Vec::new(),
                },
                "event" => {
                    // every SECS NAME | at SECS NAME | after ACTION NAME
                    let words: Vec<&str> = rest.split_whitespace().collect();
                    let [when, arg, name] = words[..] else {
                        return Err(err(
                            "expected [event every|at SECS NAME] or [event after ACTION NAME]"
                                .into(),
                        ));
                    };
                    let block = vec![("Event".to_owned(), name.to_owned())];
                    match when {
                        "every" => {
                            let s = seconds(arg, line_no)?;
                            Section::Event {
                                timer: Some((s, Some(s))),
                                after: None,
                                block,
                            }
                        }
                        "at" => Section::Event {
                            timer: Some((seconds(arg, line_no)?, None)),
                            after: None,
                            block,
                        },
                        "after" => Section::Event {
                            timer: None,
                            after: Some(arg.to_owned()),
                            block,
                        },
                        _ => return Err(err(format!("unknown event timing {when:?}"))),
                    }
                }
                _ => return Err(err(format!("unknown section [{head}]"))),
            };
            continue;
        }
        match &mut section {
            Section::Top => top_line(trimmed, &mut config).map_err(err)?,
            Section::Action {
                reply,
                target,
                items,
                complete,
                ..
            } => {
                let (word, rest) = trimmed.split_once(' ').unwrap_or((trimmed, ""));
                let rest = rest.trim();
                if matches!(word, "item" | "event" | "complete") {
                    match word {
                        "item" if !rest.is_empty() => {
                            items.push(vec![("Event".into(), rest.to_owned())]);
                            *target = 1;
                        }
                        "event" if !rest.is_empty() => {
                            reply.events.push(vec![("Event".into(), rest.to_owned())]);
                            *target = 2;
                        }
                        "complete" if !rest.is_empty() => *complete = Some(rest.to_owned()),
                        _ => return Err(err(format!("expected 'Key: Value', 'item NAME', 'event NAME' or 'complete NAME', got {trimmed:?}"))),
                    }
                    continue;
                }
                let (k, v) = header(trimmed).map_err(err)?;
                match *target {
                    0 if k.eq_ignore_ascii_case("Response") => {
                        reply.error = v.eq_ignore_ascii_case("Error")
                    }
                    0 => reply.response.push((k, v)),
                    1 => items.last_mut().expect("an item").push((k, v)),
                    _ => reply.events.last_mut().expect("an event").push((k, v)),
                }
            }
            Section::Event { block, .. } => {
                block.push(header(trimmed).map_err(err)?);
            }
            Section::Command { .. } => unreachable!("handled above"),
        }
    }
    finish(section, &mut config);
    Ok(config)
}

/// Reads a script file and adds what it says to `config`.
pub fn load(path: &std::path::Path, config: EmulatorConfig) -> Result<EmulatorConfig, ScriptError> {
    let text = std::fs::read_to_string(path).map_err(|e| ScriptError {
        line: 0,
        message: format!("{}: {e}", path.display()),
    })?;
    parse(&text, config)
}

fn header(line: &str) -> Result<(String, String), String> {
    let (k, v) = line
        .split_once(':')
        .ok_or_else(|| format!("expected 'Key: Value', got {line:?}"))?;
    let k = k.trim();
    if k.is_empty() || k.contains(' ') {
        return Err(format!("bad header name {k:?}"));
    }
    Ok((k.to_owned(), v.strip_prefix(' ').unwrap_or(v).to_owned()))
}

fn top_line(line: &str, config: &mut EmulatorConfig) -> Result<(), String> {
    let (word, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    let words: Vec<&str> = rest.split_whitespace().collect();
    match word {
        "user" => match words[..] {
            [name, secret] => *config = std::mem::take(config).user(name, secret),
            [name, secret, read] => {
                *config = std::mem::take(config).user_with_classes(name, secret, read, read)
            }
            [name, secret, read, write] => {
                *config = std::mem::take(config).user_with_classes(name, secret, read, write)
            }
            _ => return Err("expected: user NAME SECRET [READ [WRITE]]".into()),
        },
        "global" => {
            let (k, v) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            config.globals.push((k.to_owned(), v.trim().to_owned()));
        }
        "db" => {
            let mut it = rest.splitn(3, char::is_whitespace);
            match (it.next(), it.next(), it.next()) {
                (Some(f), Some(k), v) if !f.is_empty() && !k.is_empty() => {
                    config
                        .db
                        .push((f.into(), k.into(), v.unwrap_or("").trim().into()))
                }
                _ => return Err("expected: db FAMILY KEY VALUE".into()),
            }
        }
        "unreachable" if !rest.is_empty() => config.unreachable.push(rest.to_owned()),
        "app-duration" => {
            config.app_duration = seconds(rest, 0).map_err(|e| e.message)?;
        }
        "auth-delay" => {
            config.auth_failure_delay = seconds(rest, 0).map_err(|e| e.message)?;
        }
        "challenge" if !rest.is_empty() => config.challenge = rest.to_owned(),
        "agi" => {
            let (prefix, reply) = rest
                .split_once("=>")
                .ok_or("expected: agi COMMAND PREFIX => REPLY")?;
            config
                .agi_replies
                .push((prefix.trim().to_owned(), reply.trim().to_owned()));
        }
        "agi-default" if !rest.is_empty() => config.agi_default_reply = rest.to_owned(),
        "fault" => config
            .faults
            .push(Fault::parse(rest).map_err(|e| e.to_string())?),
        _ => return Err(format!("unknown line {line:?}")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_script_reads() {
        let text = "\
# users
user admin secret
user ro rosecret call,reporting none
global LABGLOBAL lab value
db lab k1 hello world
unreachable Local/nosuch@lab
app-duration 1.5
agi GET VARIABLE FOO => 200 result=1 (bar)
fault split=1

[action QueueStatus]
Message: Queue status will follow
item QueueParams
Queue: support
item QueueMember
Queue: support
Name: Alice
complete QueueStatusComplete
event QueueSummary
Queue: support

[action Broken]
Response: Error
Message: Nope

[command sip show peers]
Name/username   Host

0 sip peers

[event every 2 Tick]
Privilege: system,all
Foo: bar

[event after Ping Pinged]
By: test
";
        let c = parse(text, EmulatorConfig::default()).unwrap();
        assert_eq!(c.users.len(), 2);
        let qs = &c.scripts["queuestatus"];
        assert_eq!(qs.response[0], ("EventList".into(), "start".into()));
        let (complete, items) = qs.list.as_ref().unwrap();
        assert_eq!(complete, "QueueStatusComplete");
        assert_eq!(items.len(), 2);
        assert_eq!(items[1][2], ("Name".into(), "Alice".into()));
        assert_eq!(qs.events.len(), 1);
        assert!(c.scripts["broken"].error);
        assert_eq!(
            c.commands["sip show peers"],
            vec!["Name/username   Host", "", "0 sip peers"]
        );
        assert_eq!(c.timers[0].every, Some(Duration::from_secs(2)));
        assert_eq!(c.after_action[0].0, "ping");
        assert_eq!(c.app_duration, Duration::from_millis(1500));
        assert_eq!(c.faults, vec![Fault::SplitEveryByte]);
        assert_eq!(c.db[0].2, "hello world");
    }

    #[test]
    fn list_ends_come_from_the_catalogue() {
        let c = parse("[action CoreShowChannels]\nitem CoreShowChannel\nChannel: x\n[action MyList]\nitem Row\n", EmulatorConfig::default()).unwrap();
        assert_eq!(
            c.scripts["coreshowchannels"].list.as_ref().unwrap().0,
            "CoreShowChannelsComplete"
        );
        assert_eq!(
            c.scripts["mylist"].list.as_ref().unwrap().0,
            "MyListComplete"
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("user\n", EmulatorConfig::default()).unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse("[action X]\nnot a header\n", EmulatorConfig::default()).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(parse("[weird]\n", EmulatorConfig::default()).is_err());
    }
}
