#!/usr/bin/env bash
# End-to-end benchmark: the same two-part job, from a 200,000-row CSV (30 columns, 348 city
# clusters) to a Markdown table of average marginal effects with cluster-robust SEs, in
#   migfit    twopart --margins --cluster city -o table.md (both parts and the combined E[y])
#   statsmodels  pandas read_csv, Probit + get_margeff, GLM gamma-log + hand-coded AMEs
#   R         read.csv, glm probit and Gamma(log), sandwich::vcovCL, hand-coded AMEs
# Each tool runs as a fresh process (start-up, reading and writing included); the median of
# RUNS runs is reported. Usage: benches/peers/e2e_twopart.sh [ROWS] (default 200000).
# Needs: a release build (cargo build --release), python3 (or $PYTHON) with numpy/pandas/statsmodels,
# Rscript with the sandwich package.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
runs="${RUNS:-5}"
peer_runs="${PEER_RUNS:-3}"

rhs="C(scheme, ref=1) + C(scope, ref=1) + age + age_squared + female + married + C(education, ref=1) + C(income_q, ref=1) + has_job + rural_hukou + urban_area + C(reason, ref=1) + C(duration, ref=1) + C(facility, ref=1)"

# Median wall time in seconds of running "$@" N times.
median_time() {
  local n="$1"; shift
  local ts=()
  for _ in $(seq "$n"); do
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>"$work/stderr.txt" || { cat "$work/stderr.txt" >&2; exit 1; }
    t1=$(date +%s.%N)
    ts+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${ts[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'
}

t_migfit=$(median_time "$runs" "$migfit" twopart "$data" -f "amount ~ $rhs" --margins --cluster city -o "$work/migfit.md")
t_sm=$(median_time "$peer_runs" "$python" "$here/peer_statsmodels.py" "$data" "$work/statsmodels.md")
t_r=$(median_time "$peer_runs" Rscript "$here/peer_r.R" "$data" "$work/r.md")

cores=$(nproc)
echo "rows=$rows cores=$cores runs: migfit $runs, peers $peer_runs (median wall time)"
printf '| tool | seconds | ratio to migfit |\n|---|---:|---:|\n'
printf '| migfit | %.3f | 1 |\n' "$t_migfit"
printf '| statsmodels | %.3f | %.1fx |\n' "$t_sm" "$(echo "$t_sm / $t_migfit" | bc -l)"
printf '| R | %.3f | %.1fx |\n' "$t_r" "$(echo "$t_r / $t_migfit" | bc -l)"
echo "tables: $work/migfit.md $work/statsmodels.md $work/r.md"
