//! `catalogue-gen [--check] [--spec FILE] [--root DIR]`: writes (or, with
//! `--check`, compares) the generated catalogue files of asterisk-io.
//!
//! Defaults: the repository root is two directories above this package,
//! and the spec is `<root>/../shared/spec/asterisk-22.10.1.json`.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut check = false;
    let mut root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut spec = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--check" => check = true,
            "--root" => root = PathBuf::from(args.next().expect("--root DIR")),
            "--spec" => spec = Some(PathBuf::from(args.next().expect("--spec FILE"))),
            other => {
                eprintln!("catalogue-gen: unknown argument {other}");
                return ExitCode::from(2);
            }
        }
    }
    let spec = spec.unwrap_or_else(|| root.join("../shared/spec/asterisk-22.10.1.json"));
    let text = match std::fs::read_to_string(&spec) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("catalogue-gen: {}: {e}", spec.display());
            return ExitCode::from(2);
        }
    };
    let files = match catalogue_gen::generate(&text) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("catalogue-gen: {e}");
            return ExitCode::from(2);
        }
    };
    let mut stale = 0;
    for (path, src) in files {
        let formatted = match catalogue_gen::rustfmt(&src) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("catalogue-gen: {path}: {e}");
                let _ = std::fs::write(root.join(&path), &src);
                return ExitCode::from(2);
            }
        };
        let dest = root.join(&path);
        let current = std::fs::read_to_string(&dest).unwrap_or_default();
        if current == formatted {
            continue;
        }
        if check {
            eprintln!("stale: {path}");
            stale += 1;
        } else {
            if let Some(dir) = dest.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            if let Err(e) = std::fs::write(&dest, formatted) {
                eprintln!("catalogue-gen: {path}: {e}");
                return ExitCode::from(2);
            }
            println!("wrote {path}");
        }
    }
    if stale > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
