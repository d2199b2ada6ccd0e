#!/usr/bin/env sh
# Issue 7 benchmark: the example sensitivity spec (72 variants) on a simulated 200,000-row
# CMDS-2014-style extract, with --jobs 1 and --jobs 2. Prints wall times (hyperfine-style,
# best of 3) and checks that both outputs are identical.
# Usage: sh benches/batch_wang2022.sh   (from the repository root; builds in release mode)
set -eu
cargo build --release --quiet --bin migfit
bin="${CARGO_TARGET_DIR:-target}/release/migfit"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$bin" simulate --study wang2022 --n 200000 --seed 20220601 -o "$tmp/extract.csv"
root="$(pwd)"
sed -e "s#^path = \"extract.csv\"#path = \"$tmp/extract.csv\"#" \
    -e "s#^schema = \"../../data-schema/cmds2014.toml\"#schema = \"$root/data-schema/cmds2014.toml\"#" \
    examples/wang2022/sensitivity.toml > "$tmp/spec.toml"
for jobs in 1 2; do
  best=""
  for rep in 1 2 3; do
    start=$(date +%s.%N)
    "$bin" batch "$tmp/spec.toml" --out "$tmp/out$jobs" --jobs "$jobs" -q || true
    end=$(date +%s.%N)
    t=$(echo "$end - $start" | bc)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
  done
  echo "jobs=$jobs: best of 3 = ${best} s"
done
diff -r -x run.log "$tmp/out1" "$tmp/out2" > /dev/null && echo "outputs identical for --jobs 1 and 2"
