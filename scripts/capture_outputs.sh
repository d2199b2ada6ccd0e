#!/usr/bin/env bash
# Byte-identity check for refactors: runs a fixed set of commands with the given binary and
# writes each command's stdout, stderr and exit code under OUT. Compare two runs with
#   diff -r OUT_BEFORE OUT_AFTER
# Usage: scripts/capture_outputs.sh BINARY OUT
set -uo pipefail
bin="$(realpath "$1")"; out="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
rm -rf "$out"; mkdir -p "$out"; out="$(realpath "$out")"
cd "$root"
n=0
run() { # name, args...
  local name="$1"; shift
  "$bin" "$@" >"$out/$name.out" 2>"$out/$name.err"; echo $? >"$out/$name.rc"
  n=$((n+1))
}
for d in tests/golden/*_*/; do
  c=$(basename "$d")
  mapfile -t args < <(python3 -c "import json,sys; [print(a) for a in json.load(open('$d/case.json'))['args']]")
  cmd=$(python3 -c "import json; print(json.load(open('$d/case.json'))['command'])")
  for f in json summary markdown latex html csv; do
    run "golden_${c}_$f" "$cmd" "$d/data.csv" "${args[@]}" --format "$f"
  done
done
run repro_w_json reproduce wang2022 --format json
run repro_w_text reproduce wang2022
run repro_w_md reproduce wang2022 --format json --data examples/wang2022/extract.csv
run repro_s_json reproduce stay2018 --format json
run repro_s_text reproduce stay2018
run sim_w simulate --study wang2022 --n 500 --seed 7
run sim_s simulate --study stay2018 --n 500 --seed 7
run sim_s_def simulate --study stay2018 --n 300
s="data-schema/cmds2014.toml"; x="examples/wang2022/extract.csv"
run svy_probit fit $x --schema $s --svy -m probit -f "received ~ scope + age + female" --margins --format json
run svy_probit_sum fit $x --schema $s --svy -m probit -f "received ~ scope + age + female" --margins --format summary
run svy_probit_txt fit $x --schema $s --svy -m probit -f "received ~ scope + age + female" --margins
run tp_json twopart $x --schema $s -f "reimb_amount ~ scope + age + female + scheme" --margins --cluster city --format json
run tp_md twopart $x --schema $s -f "reimb_amount ~ scope + age + female + scheme" --margins --cluster city --format markdown
run tp_svy twopart $x --schema $s --svy -f "reimb_amount ~ scope + age + female + scheme" --margins --format json
run describe_w describe $x --schema $s
run describe_w_json describe $x --schema $s --format json 
run validate_w validate $x --schema $s
m=examples/mroz/mroz.csv
run mroz_atmeans fit $m -m probit -f "inlf ~ age + I(age^2) + educ + C(city)" --margins-at means --format json
run mroz_at fit $m -m probit -f "inlf ~ age + I(age^2) + educ + C(city)" --margins-at "age=40,city=1" --format json
run mroz_tp twopart $m -f "hours ~ age + educ + kidslt6 + C(city)" --margins --format json
run mroz_tp_txt twopart $m -f "hours ~ age + educ + kidslt6 + C(city)" --margins
run err_formula fit $m -m probit -f "inlf ~ age +"
run err_col fit $m -m probit -f "inlf ~ nosuch"
run err_file fit /nonexistent.csv -m probit -f "inlf ~ age"
for spec in examples/mroz/sensitivity.toml examples/wang2022/sensitivity.toml; do
  b=$(basename "$(dirname "$spec")")
  "$bin" batch "$spec" --out "$out/batch_$b" >"$out/batch_$b.out" 2>"$out/batch_$b.err"; echo $? >"$out/batch_$b.rc"
done
e2e="${E2E_DATA:-/tmp/migfit-e2e/e2e_200000.csv}"
if [ -f "$e2e" ]; then
  rhs="C(scheme, ref=1) + C(scope, ref=1) + age + age_squared + female + married + C(education, ref=1) + C(income_q, ref=1) + has_job + rural_hukou + urban_area + C(reason, ref=1) + C(duration, ref=1) + C(facility, ref=1)"
  run e2e_json twopart "$e2e" -f "amount ~ $rhs" --margins --cluster city --format json
  run e2e_md twopart "$e2e" -f "amount ~ $rhs" --margins --cluster city --format markdown
fi
echo "captured $n commands into $out"
