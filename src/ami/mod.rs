//! The Asterisk Manager Interface (AMI).
