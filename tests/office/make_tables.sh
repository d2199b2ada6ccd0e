#!/usr/bin/env bash
# Makes the Word and Excel versions of the reference study's Table 4 (English, side layout;
# Chinese, stacked) from two saved subsample results, for render_office.sh and
# check_office.py. Usage: tests/office/make_tables.sh path/to/migfit OUTDIR
set -euo pipefail
migfit=${1:?usage: make_tables.sh MIGFIT OUTDIR}
out=${2:?usage: make_tables.sh MIGFIT OUTDIR}
cd "$(dirname "$0")/../.."
rhs="scheme + age + age2 + C(female) + C(married) + education + income_q + C(has_job) + C(rural_hukou) + C(urban_area) + scope + reason + duration + facility"
for s in ncms urban; do
    "$migfit" fit examples/wang2022/extract.csv --schema data-schema/cmds2014.toml --subsample "$s" --margins \
        -f "received ~ $rhs" -m probit \
        -f "log_amount ~ $rhs" -m glm --family gamma --link log \
        -f "ratio ~ $rhs" -m glm --family gamma --link log -o "$out/$s.json" 2>/dev/null
done
t4=(--columns "NCMS,URBMI+UEBMI" --keep scope --show margins --stats n)
for ext in docx xlsx; do
    "$migfit" table "$out/ncms.json" "$out/urban.json" "${t4[@]}" --layout side -o "$out/table4_en.$ext"
    "$migfit" table "$out/ncms.json" "$out/urban.json" "${t4[@]}" --lang zh -o "$out/table4_zh.$ext"
    "$migfit" table "$out/ncms.json" --show margins -o "$out/ncms_full.$ext"
done
echo "make_tables: $(ls "$out" | tr '\n' ' ')"
