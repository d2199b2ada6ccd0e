#!/usr/bin/env bash
# Bootstrap benchmark: 999 cluster-bootstrap replicates (348 city clusters) of the e2e two-part
# job (benches/peers/e2e_twopart.sh: probit + gamma-log on 200,000 rows, every average effect
# of both parts and of the combined E[y]), CSV to Markdown, against a statsmodels loop and an R
# boot::boot loop on the same data in the same run. The peers run PEER_REPS replicates
# (default 20), timed inside the script after reading and fitting the full sample, and are
# scaled to 999; migfit runs all 999 as one process (start-up, reading and the full-sample fit
# included). Usage: benches/peers/boot_twopart.sh [ROWS] (default 200000).
# Needs: a release build; /work/venv (or python3) with numpy/pandas/patsy/statsmodels/scipy;
# Rscript with boot.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
reps="${REPS:-999}"
peer_reps="${PEER_REPS:-20}"
rhs="C(scheme, ref=1) + C(scope, ref=1) + age + age_squared + female + married + C(education, ref=1) + C(income_q, ref=1) + has_job + rural_hukou + urban_area + C(reason, ref=1) + C(duration, ref=1) + C(facility, ref=1)"

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(date +%s.%N)
/usr/bin/time -f "%e s wall, %U s user, %M KB peak" "$migfit" twopart "$data" -f "amount ~ $rhs" --margins --cluster city \
  --vce bootstrap --reps "$reps" --seed 1 -o "$work/boot.md" 2>"$work/boot_time.txt"
t1=$(date +%s.%N)
t_migfit=$(echo "$t1 - $t0" | bc -l)
sm=$("$python" "$here/boot_statsmodels.py" "$data" "$peer_reps")
r=$(Rscript "$here/boot_r.R" "$data" "$peer_reps")
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
t_sm=$(echo "$sm * $reps" | bc -l)
t_r=$(echo "$r * $reps" | bc -l)
echo "rows=$rows cores=$(nproc) reps=$reps (peers: $peer_reps timed, scaled); migfit: $(tail -1 "$work/boot_time.txt")"
printf '| tool | seconds for %s replicates | per replicate | ratio to migfit |\n|---|---:|---:|---:|\n' "$reps"
printf '| migfit | %.1f | %.3f | 1 |\n' "$t_migfit" "$(echo "$t_migfit / $reps" | bc -l)"
printf '| statsmodels | %.1f | %.3f | %.1fx |\n' "$t_sm" "$sm" "$(echo "$t_sm / $t_migfit" | bc -l)"
printf '| R boot | %.1f | %.3f | %.1fx |\n' "$t_r" "$r" "$(echo "$t_r / $t_migfit" | bc -l)"
