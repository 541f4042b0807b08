//! `LoadOptions` on a set of files that include each other: the input is cut
//! at `\0` into `main.conf`, `a.conf`, `b.conf` and `c.conf`, written to a
//! memory-backed directory (`/dev/shm` where there is one), and loaded
//! strictly and leniently. No panic, no endless include loop, and a
//! lenient load never fails.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use asterisk_io::config::LoadOptions;
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 4] = ["main.conf", "a.conf", "b.conf", "c.conf"];

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = PathBuf::from("/dev/shm");
        let root = if shm.is_dir() {
            shm
        } else {
            std::env::temp_dir()
        };
        let d = root.join(format!("asterisk-io-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

fuzz_target!(|data: &[u8]| {
    // Includes stay among the four files: no path leaves the directory
    // (`#include /dev/zero` would read forever, as it would in Asterisk).
    if data.contains(&b'/') {
        return;
    }
    let d = dir();
    let mut parts = data.splitn(NAMES.len(), |&b| b == 0);
    for name in NAMES {
        std::fs::write(d.join(name), parts.next().unwrap_or_default()).unwrap();
    }
    let depth = data.first().map_or(10, |b| (b % 12) as usize);
    for strict in [true, false] {
        let opts = LoadOptions::new()
            .base_dir(d)
            .strict(strict)
            .max_include_depth(depth)
            .max_inherited(10_000);
        match opts.load("main.conf") {
            Ok(loaded) => {
                assert!(!strict || !loaded.refused);
                for cat in loaded.config.all_categories() {
                    let _ = (cat.name(), cat.parents().count(), cat.line());
                    for v in cat.variables() {
                        let _ = (v.name(), v.value_lossy(), v.line(), v.is_object());
                    }
                }
                for diag in &loaded.diagnostics {
                    let _ = diag.to_string();
                }
            }
            Err(e) => {
                assert!(strict, "a lenient load failed: {e}");
                let _ = e.to_string();
            }
        }
    }
});
