//! Asterisk `.conf` files.
