//! Validated AMI messages: one byte slice plus an index of key/value ranges.
//!
//! The framer ([`super::codec::Framer`]) builds the index while it scans for
//! the end of a block, so a [`Message`] costs no extra pass and no
//! allocation: it borrows the read buffer and the framer's reusable index.
//! [`OwnedMessage`] is the same thing detached from the buffer, for responses
//! and list items that outlive one poll.

use smallvec::SmallVec;
use std::borrow::Cow;
use std::fmt;

/// A byte range inside one message, relative to the message's first byte.
/// Only the parser makes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

impl Span {
    /// First byte.
    pub fn start(self) -> usize {
        self.start as usize
    }

    /// One past the last byte.
    pub fn end(self) -> usize {
        self.end as usize
    }

    #[inline]
    pub(crate) fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    #[inline]
    pub(crate) fn of(self, bytes: &[u8]) -> &[u8] {
        &bytes[self.start as usize..self.end as usize]
    }
}

/// One `Key: Value` line of a message, as two ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Header {
    /// The key, without the colon.
    pub key: Span,
    /// The value, without the one optional space after the colon and without the line end.
    pub value: Span,
}

/// A header value: raw bytes with text views.
///
/// Asterisk sends whatever bytes a channel driver gave it; caller names arrive
/// in Latin-1 as often as in UTF-8. A `Value` never fails to exist because of
/// its encoding: use [`Value::as_str`] where valid UTF-8 is required and
/// [`Value::to_str_lossy`] to display anything.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Value<'a>(&'a [u8]);

impl<'a> Value<'a> {
    /// Wraps raw bytes.
    pub fn new(bytes: &'a [u8]) -> Self {
        Value(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.0
    }

    /// The value as text, if it is valid UTF-8.
    pub fn as_str(&self) -> Option<&'a str> {
        std::str::from_utf8(self.0).ok()
    }

    /// The value as text, invalid UTF-8 sequences replaced by U+FFFD.
    pub fn to_str_lossy(&self) -> Cow<'a, str> {
        String::from_utf8_lossy(self.0)
    }

    /// True when the value is empty (`AccountCode: `).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// ASCII-case-insensitive comparison with `s`.
    pub fn eq_ignore_case(&self, s: &str) -> bool {
        self.0.eq_ignore_ascii_case(s.as_bytes())
    }

    /// Parses the value with [`std::str::FromStr`] (numbers, for example).
    pub fn parse<T: std::str::FromStr>(&self) -> Option<T> {
        self.as_str()?.trim().parse().ok()
    }
}

impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.to_str_lossy(), f)
    }
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_str_lossy())
    }
}

impl PartialEq<str> for Value<'_> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Value<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl AsRef<[u8]> for Value<'_> {
    fn as_ref(&self) -> &[u8] {
        self.0
    }
}

/// A borrowed, validated AMI message: the block's bytes and its header index.
///
/// Keys are looked up ASCII-case-insensitively; repeated keys (`Variable:`,
/// `Output:`, `ChanVariable:`) are kept in the order they arrived.
#[derive(Clone, Copy)]
pub struct Message<'a> {
    bytes: &'a [u8],
    headers: &'a [Header],
}

impl<'a> Message<'a> {
    /// Builds a view from a block and its index (ranges relative to
    /// `bytes`, as the framer makes them). `None` when a range falls outside
    /// `bytes`, so a view that exists never panics on lookup.
    pub fn new(bytes: &'a [u8], headers: &'a [Header]) -> Option<Self> {
        let fits = |s: Span| s.start <= s.end && s.end() <= bytes.len();
        headers
            .iter()
            .all(|h| fits(h.key) && fits(h.value))
            .then_some(Message { bytes, headers })
    }

    /// A view over a block and the index the framer built for it.
    #[inline]
    pub(crate) fn from_index(bytes: &'a [u8], headers: &'a [Header]) -> Self {
        debug_assert!(Message::new(bytes, headers).is_some());
        Message { bytes, headers }
    }

    /// The message's bytes as received, line ends included.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The header index.
    pub fn headers(&self) -> &'a [Header] {
        self.headers
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.headers.len()
    }

    /// True when the message has no header.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }

    /// The first value of `key`, compared ASCII-case-insensitively.
    #[inline]
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        let key = key.as_bytes();
        self.headers
            .iter()
            .find(|h| h.key.of(self.bytes).eq_ignore_ascii_case(key))
            .map(|h| Value(h.value.of(self.bytes)))
    }

    /// The first value of `key` as UTF-8 text (`None` if missing or not UTF-8).
    pub fn get_str(&self, key: &str) -> Option<&'a str> {
        self.get(key).and_then(|v| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn get_all<'k>(&self, key: &'k str) -> impl Iterator<Item = Value<'a>> + 'k
    where
        'a: 'k,
    {
        let bytes = self.bytes;
        self.headers
            .iter()
            .filter(move |h| h.key.of(bytes).eq_ignore_ascii_case(key.as_bytes()))
            .map(move |h| Value(h.value.of(bytes)))
    }

    /// True when `key` is present (even with an empty value).
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Every `(key, value)` pair in order.
    pub fn iter(&self) -> impl Iterator<Item = (Value<'a>, Value<'a>)> + 'a {
        let bytes = self.bytes;
        self.headers
            .iter()
            .map(move |h| (Value(h.key.of(bytes)), Value(h.value.of(bytes))))
    }

    /// The `ActionID` header.
    pub fn action_id(&self) -> Option<Value<'a>> {
        self.get("ActionID")
    }

    /// The value of the first header if its key is `key` (the fast path for
    /// `Event:` and `Response:`, which Asterisk always writes first), else a
    /// search through all headers.
    #[inline]
    pub(crate) fn leading(&self, key: &str) -> Option<Value<'a>> {
        self.leading_header(key)
            .map(|h| Value(h.value.of(self.bytes)))
    }

    /// Like [`Message::leading`], giving the header's ranges.
    #[inline]
    pub(crate) fn leading_header(&self, key: &str) -> Option<Header> {
        let key = key.as_bytes();
        match self.headers.first() {
            Some(h) if h.key.of(self.bytes).eq_ignore_ascii_case(key) => Some(*h),
            _ => self
                .headers
                .iter()
                .find(|h| h.key.of(self.bytes).eq_ignore_ascii_case(key))
                .copied(),
        }
    }

    /// Copies the message out of the read buffer.
    pub fn to_owned(&self) -> OwnedMessage {
        OwnedMessage {
            bytes: self.bytes.into(),
            headers: self.headers.iter().copied().collect(),
        }
    }
}

impl fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in self.iter() {
            m.entry(&k, &v);
        }
        m.finish()
    }
}

/// An AMI message that owns its bytes: one buffer and a `SmallVec` of ranges.
#[derive(Clone, PartialEq, Eq)]
pub struct OwnedMessage {
    bytes: Box<[u8]>,
    headers: SmallVec<[Header; 8]>,
}

impl OwnedMessage {
    /// Builds a message from `(key, value)` pairs (for tests and emulators).
    pub fn from_pairs<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Self {
        let mut bytes = Vec::new();
        let mut headers = SmallVec::new();
        for (k, v) in pairs {
            let ks = bytes.len();
            bytes.extend_from_slice(k.as_ref());
            let ke = bytes.len();
            bytes.extend_from_slice(b": ");
            let vs = bytes.len();
            bytes.extend_from_slice(v.as_ref());
            let ve = bytes.len();
            bytes.extend_from_slice(b"\r\n");
            headers.push(Header {
                key: Span::new(ks, ke),
                value: Span::new(vs, ve),
            });
        }
        bytes.extend_from_slice(b"\r\n");
        OwnedMessage {
            bytes: bytes.into(),
            headers,
        }
    }

    /// A borrowed view of this message.
    #[inline]
    pub fn view(&self) -> Message<'_> {
        Message::from_index(&self.bytes, &self.headers)
    }

    /// See [`Message::get`].
    pub fn get(&self, key: &str) -> Option<Value<'_>> {
        self.view().get(key)
    }

    /// See [`Message::get_str`].
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.view().get_str(key)
    }

    /// See [`Message::get_all`].
    pub fn get_all<'k>(&'k self, key: &'k str) -> impl Iterator<Item = Value<'k>> + 'k {
        self.view().get_all(key)
    }

    /// See [`Message::iter`].
    pub fn iter(&self) -> impl Iterator<Item = (Value<'_>, Value<'_>)> + '_ {
        self.view().iter()
    }

    /// The message's bytes as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl fmt::Debug for OwnedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.view(), f)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_view_whose_index_does_not_fit_its_bytes_is_refused() {
        let owned = OwnedMessage::from_pairs(&[("Event", "Hangup"), ("Channel", "PJSIP/1")]);
        let view = owned.view();
        let headers = view.headers();
        assert!(Message::new(view.as_bytes(), headers).is_some());
        // The same index over fewer bytes would panic on lookup: no view.
        assert!(Message::new(&view.as_bytes()[..10], headers).is_none());
    }
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_and_keeps_repeats_in_order() {
        let m = OwnedMessage::from_pairs(&[
            ("Response", "Success"),
            ("Output", "one"),
            ("output", ""),
            ("OUTPUT", "three"),
        ]);
        assert_eq!(m.get("response").unwrap(), "Success");
        let all: Vec<_> = m.get_all("Output").map(|v| v.to_string()).collect();
        assert_eq!(all, ["one", "", "three"]);
        assert!(m.get("Missing").is_none());
    }

    #[test]
    fn non_utf8_values_have_a_lossy_view() {
        let m = OwnedMessage::from_pairs(&[(&b"CallerIDName"[..], &b"Jos\xe9"[..])]);
        let v = m.get("CallerIDName").unwrap();
        assert_eq!(v.as_str(), None);
        assert_eq!(v.to_str_lossy(), "Jos\u{fffd}");
        assert_eq!(v.as_bytes(), b"Jos\xe9");
    }
}
