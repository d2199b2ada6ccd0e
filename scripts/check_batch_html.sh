#!/usr/bin/env bash
# Checks a `migfit batch` output folder in headless Chromium: index.html loads without console
# errors or failed requests (its forest plots are local SVG files), and screenshots of the page
# and of each forest plot are written for a person to look at.
# Usage: scripts/check_batch_html.sh OUT_DIR
set -euo pipefail
dir="$(realpath "$1")"
here="$(dirname "$0")"
"$here/check_html.sh" "$dir/index.html" "$dir/index.png"
chrome="$(command -v chromium || command -v chromium-browser || command -v google-chrome)"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
for svg in "$dir"/forest-*.svg; do
  log="$profile/svg.log"
  "$chrome" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
    --hide-scrollbars --enable-logging=stderr --v=0 --window-size=900,900 \
    --screenshot="${svg%.svg}.png" "file://$svg" 2>"$log" || true
  if grep -E 'CONSOLE|Uncaught|net::ERR_|XML' "$log" | grep -v DevTools; then
    echo "check_batch_html: errors while loading $svg" >&2
    exit 1
  fi
  [ -s "${svg%.svg}.png" ] || { echo "check_batch_html: no screenshot of $svg" >&2; exit 1; }
done
echo "check_batch_html: $dir/index.html and its forest plots load cleanly"
