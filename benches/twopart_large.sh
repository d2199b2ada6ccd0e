#!/bin/sh
# The 2,000,000-row two-part run of BENCHMARKS.md: simulate in memory, fit probit + gamma-log,
# every AME of both parts and the combined E[y] with SEs; wall time of each phase and peak
# resident memory (GNU time). Also the 200,000-row run, for the memory ratio.
#
#   sh benches/twopart_large.sh            (uses CARGO_TARGET_DIR if set)
set -eu
cargo build --release --example twopart_run
bin="${CARGO_TARGET_DIR:-target}/release/examples/twopart_run"
for n in 200000 2000000; do
    /usr/bin/time -v "$bin" "$n" 2>"/tmp/twopart_run_$n.time"
    grep -E "Maximum resident set size|Elapsed \(wall clock\)" "/tmp/twopart_run_$n.time"
done
