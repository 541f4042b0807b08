//! Just enough of glob(3) for `#include` patterns: `*`, `?` and `[...]`
//! in any path component, results sorted.

use std::path::{Component, Path, PathBuf};

/// True if the pattern has a wildcard.
pub(crate) fn has_magic(s: &[u8]) -> bool {
    s.iter().any(|&b| matches!(b, b'*' | b'?' | b'['))
}

/// fnmatch without flags except that a leading `.` must be matched literally.
pub(crate) fn matches(pat: &[u8], name: &[u8]) -> bool {
    if name.first() == Some(&b'.') && pat.first() != Some(&b'.') {
        return false;
    }
    match_from(pat, name)
}

fn match_from(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pat.len() {
            match pat[p] {
                b'*' => {
                    star = Some((p, n));
                    p += 1;
                    continue;
                }
                b'?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                b'[' => {
                    if let Some((ok, next)) = class(pat, p, name[n]) {
                        if ok {
                            p = next;
                            n += 1;
                            continue;
                        }
                    } else if name[n] == b'[' {
                        // An unclosed '[' is an ordinary character.
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pat.len() => {
                    if pat[p + 1] == name[n] {
                        p += 2;
                        n += 1;
                        continue;
                    }
                }
                c => {
                    if c == name[n] {
                        p += 1;
                        n += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, sn)) => {
                p = sp + 1;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

/// Match one byte against the bracket expression at `pat[p]` (`[`). Returns
/// (matched, index after `]`), or `None` when the bracket is not closed.
fn class(pat: &[u8], p: usize, c: u8) -> Option<(bool, usize)> {
    let mut i = p + 1;
    let negate = matches!(pat.get(i), Some(b'!') | Some(b'^'));
    if negate {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    loop {
        let &lo = pat.get(i)?;
        if lo == b']' && !first {
            return Some((found != negate, i + 1));
        }
        first = false;
        if pat.get(i + 1) == Some(&b'-') && pat.get(i + 2).is_some_and(|&h| h != b']') {
            let hi = pat[i + 2];
            if lo <= c && c <= hi {
                found = true;
            }
            i += 3;
        } else {
            if lo == c {
                found = true;
            }
            i += 1;
        }
    }
}

fn bytes_of(p: &Path) -> Vec<u8> {
    p.to_string_lossy().into_owned().into_bytes()
}

/// Expand a pattern. Without wildcards the pattern itself is returned (like
/// `GLOB_NOMAGIC`) whether or not it exists.
pub(crate) fn expand(pattern: &Path) -> Vec<PathBuf> {
    if !has_magic(&bytes_of(pattern)) {
        return vec![pattern.to_path_buf()];
    }
    let mut cands: Vec<PathBuf> = vec![PathBuf::new()];
    for comp in pattern.components() {
        match comp {
            Component::Normal(s) => {
                let sb = s.to_string_lossy().into_owned().into_bytes();
                if has_magic(&sb) {
                    let mut next = Vec::new();
                    for dir in &cands {
                        let rd = if dir.as_os_str().is_empty() {
                            Path::new(".")
                        } else {
                            dir.as_path()
                        };
                        let Ok(entries) = std::fs::read_dir(rd) else {
                            continue;
                        };
                        let mut names: Vec<_> = entries
                            .filter_map(|e| e.ok())
                            .map(|e| e.file_name())
                            .filter(|n| matches(&sb, n.to_string_lossy().as_bytes()))
                            .collect();
                        names.sort();
                        for n in names {
                            next.push(dir.join(n));
                        }
                    }
                    cands = next;
                } else {
                    for c in &mut cands {
                        c.push(s);
                    }
                }
            }
            other => {
                for c in &mut cands {
                    c.push(other.as_os_str());
                }
            }
        }
    }
    let mut out: Vec<PathBuf> = cands
        .into_iter()
        .filter(|p| p.symlink_metadata().is_ok())
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn fnmatch() {
        assert!(matches(b"*.conf", b"a.conf"));
        assert!(!matches(b"*.conf", b".a.conf"));
        assert!(matches(b"a?c", b"abc"));
        assert!(matches(b"[a-c]x", b"bx"));
        assert!(!matches(b"[!a-c]x", b"bx"));
        assert!(matches(b"*a*b", b"xxaxxb"));
        assert!(!matches(b"*a*b", b"xxaxxbc"));
        assert!(matches(b"[]]", b"]"));
        assert!(matches(b"[x", b"[x"));
    }
}
