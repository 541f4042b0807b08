//! The Asterisk Gateway Interface (AGI): see issue.
