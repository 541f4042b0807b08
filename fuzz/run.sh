#!/usr/bin/env bash
# Runs the fuzz targets for a bounded time each.
#
#   fuzz/run.sh [-t SECONDS] [--merge] [TARGET ...]
#
# -t SECONDS  time per target (default 30)
# --merge     afterwards, minimise what the run found into fuzz/corpus/TARGET
#             (the committed corpus, kept to its smallest inputs up to
#             CORPUS_BYTES, default 200 KB, a target; commit the result)
# TARGET      default: every target in fuzz/Cargo.toml
#
# Needs a nightly toolchain (`cargo +nightly`); without one it says so and
# exits 0, so CI can call it unconditionally. cargo-fuzz is installed from
# crates.io when missing. Each target starts from its committed corpus plus
# seeds made from tests/fixtures/ (fuzz/tools/seed.py, when python3 is
# there) and works in fuzz/target/corpus/TARGET, so a run never rewrites the
# committed corpus unless asked to. A crash stops with exit 1 after the
# other targets have run; the input is in fuzz/artifacts/TARGET/ and
# `cargo +nightly fuzz run TARGET fuzz/artifacts/TARGET/crash-...` replays it.
set -uo pipefail
cd "$(dirname "$0")"

secs=30
merge=0
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        -t) secs="$2"; shift 2 ;;
        --merge) merge=1; shift ;;
        -h|--help) sed -n '2,19p' run.sh | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) targets+=("$1"); shift ;;
    esac
done

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: skipped: no nightly toolchain (cargo +nightly does not run)"
    exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz from crates.io"
    if ! cargo install cargo-fuzz --locked; then
        echo "fuzz: skipped: cargo-fuzz could not be installed"
        exit 0
    fi
fi
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi

echo "fuzz: building the targets (nightly, instrumented)"
if ! cargo +nightly fuzz build -O -a -s none >target-build.log 2>&1; then
    tail -40 target-build.log
    echo "fuzz: the targets do not build"
    exit 1
fi
rm -f target-build.log
if command -v python3 >/dev/null; then
    python3 tools/seed.py target/seeds >/dev/null
fi

failed=()
for t in "${targets[@]}"; do
    work="target/corpus/$t"
    mkdir -p "$work" "corpus/$t"
    cp -n "corpus/$t"/* "$work"/ 2>/dev/null || true
    [ -d "target/seeds/$t" ] && cp -n "target/seeds/$t"/* "$work"/ 2>/dev/null
    echo "fuzz: $t for ${secs}s ($(ls "$work" | wc -l) inputs to start)"
    start=$(date +%s)
    if ! cargo +nightly fuzz run -O -a -s none "$t" "$work" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 >"target/$t.log" 2>&1; then
        echo "fuzz: $t FAILED; last lines of fuzz/target/$t.log:"
        tail -40 "target/$t.log"
        failed+=("$t")
        continue
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "target/$t.log" | grep -o '[0-9]*$')
    echo "fuzz: $t ok, ${runs:-?} runs in $(( $(date +%s) - start ))s"
    if [ $merge -eq 1 ]; then
        bin="target/x86_64-unknown-linux-gnu/release/$t"
        rm -rf "corpus/$t.new" && mkdir -p "corpus/$t.new"
        "$bin" -merge=1 "corpus/$t.new" "$work" >"target/$t.merge.log" 2>&1 &&
            rm -rf "corpus/$t" && mv "corpus/$t.new" "corpus/$t"
        # Keep the committed corpus small: the smallest inputs of the merged
        # set, up to CORPUS_BYTES (default 200 KB) per target. The full set
        # stays in fuzz/target/corpus/ for the next local run.
        budget=${CORPUS_BYTES:-200000}
        total=0
        while read -r size f; do
            total=$((total + size))
            [ "$total" -gt "$budget" ] && rm -f "corpus/$t/$f"
        done < <(cd "corpus/$t" && find . -type f -printf '%s %P\n' | sort -n)
        echo "fuzz: $t corpus minimised to $(ls "corpus/$t" | wc -l) inputs, $(du -sb "corpus/$t" | cut -f1) bytes"
    fi
done

passed=$(( ${#targets[@]} - ${#failed[@]} ))
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz: crashes in: ${failed[*]} (inputs in fuzz/artifacts/)"
    echo "fuzz: $passed passed, ${#failed[@]} failed"
    exit 1
fi
echo "fuzz: $passed passed, 0 failed"
