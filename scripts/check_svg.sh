#!/usr/bin/env bash
# Checks an SVG figure in headless Chromium: it loads without console errors or failed
# requests (no external assets), the loaded DOM is an <svg>, and a screenshot is written.
# Usage: scripts/check_svg.sh FIGURE.svg SCREENSHOT.png [WIDTH,HEIGHT]
# Exit 0 when the figure is clean; 77 without chromium.
set -euo pipefail
fig="$(realpath "$1")"
shot="$2"
size="${3:-1000,1000}"
chrome="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
[ -n "$chrome" ] || { echo "check_svg: no chromium found (apt-get install chromium)" >&2; exit 77; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking
       --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile"
       --hide-scrollbars)
log="$profile/chrome.log"
"$chrome" "${flags[@]}" --enable-logging=stderr --v=0 --virtual-time-budget=2000 \
  --dump-dom "file://$fig" >"$profile/dom.html" 2>"$log" || true
if grep -E 'CONSOLE|Uncaught|net::ERR_|XML Parsing Error|error on line' "$log" | grep -v 'DevTools' ; then
  echo "check_svg: console errors or failed loads in $fig" >&2
  exit 1
fi
grep -q '<svg' "$profile/dom.html" || { echo "check_svg: no <svg> in the loaded DOM" >&2; exit 1; }
if grep -q 'parsererror' "$profile/dom.html"; then
  echo "check_svg: Chromium could not parse $fig as XML" >&2
  exit 1
fi
"$chrome" "${flags[@]}" --window-size="$size" --screenshot="$shot" "file://$fig" 2>/dev/null
[ -s "$shot" ] || { echo "check_svg: no screenshot written" >&2; exit 1; }
echo "check_svg: $fig loads cleanly; screenshot $shot"
