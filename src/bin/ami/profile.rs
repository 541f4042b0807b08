//! `~/.config/asterisk-io/ami.toml`: named PBXs for the `ami` tool.
//!
//! ```toml
//! default = "lab"            # the profile used without --profile (or a [default] table)
//!
//! [lab]
//! addr = "127.0.0.1:5038"
//! user = "admin"
//! secret_file = "lab.secret" # relative to this file's folder; or secret = "..."
//! md5 = true
//!
//! [office]
//! addr = "pbx.example.com:5039"
//! user = "ops"
//! tls = true
//! ca = "/etc/ssl/office-ca.pem"
//! ```
//!
//! The subset of TOML read: `[name]` tables, `key = value` with basic
//! (`"..."`, escapes `\\ \" \n \t \r`) or literal (`'...'`) strings and
//! `true` / `false`, and `#` comments. Anything else is an error naming
//! the line (never its value, which may be a secret).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One `[name]` table.
#[derive(Default, Clone, PartialEq, Eq)]
pub struct Profile {
    /// `addr`: `HOST:PORT`.
    pub addr: Option<String>,
    /// `user`.
    pub user: Option<String>,
    /// `secret` (never printed; `Debug` hides it).
    pub secret: Option<String>,
    /// `secret_file`, resolved against the profile file's folder.
    pub secret_file: Option<PathBuf>,
    /// `md5`.
    pub md5: Option<bool>,
    /// `tls`.
    pub tls: Option<bool>,
    /// `ca`.
    pub ca: Option<String>,
    /// `server_name`.
    pub server_name: Option<String>,
    /// `tls_insecure`.
    pub tls_insecure: Option<bool>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("addr", &self.addr)
            .field("user", &self.user)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("secret_file", &self.secret_file)
            .finish_non_exhaustive()
    }
}

/// The whole file.
#[derive(Debug, Default)]
pub struct Profiles {
    /// The top-level `default = "NAME"`.
    pub default: Option<String>,
    /// Tables by name.
    pub by_name: BTreeMap<String, Profile>,
    /// Some table holds a `secret` in the clear.
    pub holds_secret: bool,
}

impl Profiles {
    /// The profile to use when none is named: the one `default` names, or `[default]`.
    pub fn default_profile(&self) -> Option<&Profile> {
        self.by_name
            .get(self.default.as_deref().unwrap_or("default"))
    }
}

/// Where the file is: `$XDG_CONFIG_HOME/asterisk-io/ami.toml`, else
/// `$HOME/.config/asterisk-io/ami.toml`.
pub fn default_path() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        Some(x) => PathBuf::from(x),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".config"),
    };
    Some(base.join("asterisk-io").join("ami.toml"))
}

/// Reads the value part of a line: a string or a boolean, then an optional comment.
fn value(text: &str) -> Result<Value, &'static str> {
    let (v, rest) = if let Some(body) = text.strip_prefix('"') {
        let mut s = String::new();
        let mut chars = body.char_indices();
        loop {
            match chars.next() {
                None => return Err("unterminated string"),
                Some((i, '"')) => break (Value::Str(s), &body[i + 1..]),
                Some((_, '\\')) => match chars.next().map(|(_, c)| c) {
                    Some('\\') => s.push('\\'),
                    Some('"') => s.push('"'),
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some('r') => s.push('\r'),
                    _ => return Err("unsupported escape"),
                },
                Some((_, c)) => s.push(c),
            }
        }
    } else if let Some(body) = text.strip_prefix('\'') {
        let end = body.find('\'').ok_or("unterminated string")?;
        (Value::Str(body[..end].to_string()), &body[end + 1..])
    } else if let Some(rest) = text.strip_prefix("true") {
        (Value::Bool(true), rest)
    } else if let Some(rest) = text.strip_prefix("false") {
        (Value::Bool(false), rest)
    } else {
        return Err("expected a quoted string, true or false");
    };
    let rest = rest.trim_start();
    if !(rest.is_empty() || rest.starts_with('#')) {
        return Err("unexpected text after the value");
    }
    Ok(v)
}

enum Value {
    Str(String),
    Bool(bool),
}

/// Parses the file's text; `dir` resolves relative `secret_file` paths.
pub fn parse(text: &str, dir: &Path) -> Result<Profiles, String> {
    let mut profiles = Profiles::default();
    let mut current: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let (name, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("line {n}: a table header without `]`"))?;
            let name = name.trim();
            let after = after.trim_start();
            let bare = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
            if name.is_empty() || !name.chars().all(bare) {
                return Err(format!(
                    "line {n}: a profile name is letters, digits, _ or -"
                ));
            }
            if !(after.is_empty() || after.starts_with('#')) {
                return Err(format!("line {n}: unexpected text after the table header"));
            }
            if profiles.by_name.contains_key(name) {
                return Err(format!("line {n}: profile {name} defined twice"));
            }
            profiles
                .by_name
                .insert(name.to_string(), Profile::default());
            current = Some(name.to_string());
            continue;
        }
        let (key, v) = line
            .split_once('=')
            .ok_or_else(|| format!("line {n}: expected key = value"))?;
        let key = key.trim();
        let v = value(v.trim()).map_err(|e| format!("line {n}: {e}"))?;
        let Some(name) = &current else {
            match (key, v) {
                ("default", Value::Str(s)) => profiles.default = Some(s),
                _ => {
                    return Err(format!(
                        "line {n}: only `default = \"NAME\"` may come before the first [profile]"
                    ))
                }
            }
            continue;
        };
        let p = profiles
            .by_name
            .get_mut(name)
            .expect("inserted with its header");
        let wrong = || format!("line {n}: wrong type for {key}");
        match (key, v) {
            ("addr", Value::Str(s)) => p.addr = Some(s),
            ("user", Value::Str(s)) => p.user = Some(s),
            ("secret", Value::Str(s)) => {
                p.secret = Some(s);
                profiles.holds_secret = true;
            }
            ("secret_file", Value::Str(s)) => p.secret_file = Some(expand(&s, dir)),
            ("ca", Value::Str(s)) => p.ca = Some(expand(&s, dir).to_string_lossy().into_owned()),
            ("server_name", Value::Str(s)) => p.server_name = Some(s),
            ("md5", Value::Bool(b)) => p.md5 = Some(b),
            ("tls", Value::Bool(b)) => p.tls = Some(b),
            ("tls_insecure", Value::Bool(b)) => p.tls_insecure = Some(b),
            (
                "addr" | "user" | "secret" | "secret_file" | "ca" | "server_name" | "md5" | "tls"
                | "tls_insecure",
                _,
            ) => return Err(wrong()),
            _ => return Err(format!("line {n}: unknown key {key:?}")),
        }
    }
    Ok(profiles)
}

/// `~/x` from the home folder, a relative path from `dir`.
fn expand(path: &str, dir: &Path) -> PathBuf {
    if let (Some(rest), Some(home)) = (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        return PathBuf::from(home).join(rest);
    }
    dir.join(path)
}

/// Reads a secret from a file: its first line, without the line ending.
pub fn read_secret(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("secret file {}: {e}", path.display()))?;
    warn_if_shared(path, "a secret");
    let line = text.lines().next().unwrap_or("");
    Ok(line.strip_suffix('\r').unwrap_or(line).to_string())
}

/// A warning on stderr when others may read a file holding `what`.
pub fn warn_if_shared(path: &Path, what: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                eprintln!(
                    "ami: warning: {} holds {what} and others may read it (chmod 600)",
                    path.display()
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (path, what);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_profiles_strings_booleans_and_comments() {
        let text = "# PBXs\ndefault = 'lab'\n\n[lab]\naddr = \"127.0.0.1:5038\" # local\nuser = 'admin'\nsecret = \"a\\\"b\"\nmd5 = true\n\n[office]\naddr = \"pbx:5039\"\ntls = true\nsecret_file = \"office.secret\"\n";
        let p = parse(text, Path::new("/etc/x")).unwrap();
        let lab = p.default_profile().unwrap();
        assert_eq!(lab.addr.as_deref(), Some("127.0.0.1:5038"));
        assert_eq!(lab.user.as_deref(), Some("admin"));
        assert_eq!(lab.secret.as_deref(), Some("a\"b"));
        assert_eq!(lab.md5, Some(true));
        assert!(p.holds_secret);
        let office = &p.by_name["office"];
        assert_eq!(office.tls, Some(true));
        assert_eq!(
            office.secret_file.as_deref(),
            Some(Path::new("/etc/x/office.secret"))
        );
        assert!(!format!("{lab:?}").contains("a\\\"b"));
    }

    #[test]
    fn errors_name_the_line_not_the_value() {
        for (text, want) in [
            ("[a]\nsecret = \"hunter2\n", "line 2: unterminated string"),
            ("[a]\nmd5 = \"yes\"\n", "line 2: wrong type for md5"),
            ("[a]\nport = \"1\"\n", "line 2: unknown key"),
            ("user = \"x\"\n", "line 1: only"),
            ("[a b]\n", "line 1: a profile name"),
            ("[a]\n[a]\n", "line 2: profile a defined twice"),
            ("[a]\nsecret = 'hunter2' x\n", "line 2: unexpected text"),
        ] {
            let e = parse(text, Path::new(".")).unwrap_err();
            assert!(e.starts_with(want), "{text:?}: {e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn no_default_profile_without_default_table_or_key() {
        let p = parse("[lab]\naddr = 'x:1'\n", Path::new(".")).unwrap();
        assert!(p.default_profile().is_none());
        let p = parse("[default]\naddr = 'x:1'\n", Path::new(".")).unwrap();
        assert_eq!(p.default_profile().unwrap().addr.as_deref(), Some("x:1"));
    }
}
