//! The emulator's script files (see `docs/emulator.md`).
