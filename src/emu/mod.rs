//! A built-in AMI emulator for tests and demos.
