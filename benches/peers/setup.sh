# Shared set-up of the peer benchmarks (sourced, after `set -euo pipefail`): paths, the
# release binary and the e2e data file of ROWS rows (made once by make_e2e_data.py).
# Sets here, root, rows, python, target, migfit, work, data.
here="$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rows="${1:-200000}"
python="${PYTHON:-python3}"
target="${CARGO_TARGET_DIR:-$root/target}"
migfit="${MIGFIT:-$target/release/migfit}"
work="${E2E_DIR:-${TMPDIR:-/tmp}/migfit-e2e}"
mkdir -p "$work"
data="$work/e2e_${rows}.csv"
[ -x "$migfit" ] || { echo "no release binary at $migfit: run cargo build --release" >&2; exit 2; }
[ -f "$data" ] || "$python" "$here/make_e2e_data.py" "$data" "$rows"
