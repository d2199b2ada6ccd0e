#!/usr/bin/env bash
# Checks an HTML table page in headless Chromium: it loads without console errors or failed
# requests (the page must have no external assets), and a screenshot shows the table.
# Usage: scripts/check_html.sh PAGE.html [SCREENSHOT.png]
# Exit 0 when the page is clean; the screenshot is written for a person to look at.
set -euo pipefail
page="$(realpath "$1")"
shot="${2:-${page%.html}.png}"
chrome="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
[ -n "$chrome" ] || { echo "check_html: no chromium found (apt-get install chromium)" >&2; exit 77; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-background-networking
       --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile"
       --hide-scrollbars)

# 1. Console messages and network errors: log at verbose level and look for the page's own.
log="$profile/chrome.log"
"$chrome" "${flags[@]}" --enable-logging=stderr --v=0 --virtual-time-budget=2000 \
  --dump-dom "file://$page" >"$profile/dom.html" 2>"$log" || true
if grep -E 'CONSOLE|Uncaught|net::ERR_' "$log" | grep -v 'DevTools' ; then
  echo "check_html: console errors or failed loads in $page" >&2
  exit 1
fi
grep -q '<table' "$profile/dom.html" || { echo "check_html: no <table> in the loaded DOM" >&2; exit 1; }
if grep -Eo '(src|href)="(https?:)?//[^"]*"' "$page"; then
  echo "check_html: external asset referenced" >&2
  exit 1
fi

# 2. Screenshot.
"$chrome" "${flags[@]}" --window-size=1200,1400 --screenshot="$shot" "file://$page" 2>/dev/null
[ -s "$shot" ] || { echo "check_html: no screenshot written" >&2; exit 1; }
echo "check_html: $page loads cleanly; screenshot $shot"
