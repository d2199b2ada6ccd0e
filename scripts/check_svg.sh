#!/usr/bin/env bash
# Checks an SVG figure in headless Chromium: it loads without console errors or failed
# requests (no external assets), the loaded DOM is an <svg>, and a screenshot is written.
# Usage: scripts/check_svg.sh FIGURE.svg SCREENSHOT.png [WIDTH,HEIGHT]
# Exit 0 when the figure is clean; 77 without chromium.
set -euo pipefail
tool=check_svg
fig="$(realpath "$1")"
shot="$2"
size="${3:-1000,1000}"
source "$(dirname "$0")/lib/chromium.sh"
chromium_start
chromium_load "$fig" 'CONSOLE|Uncaught|net::ERR_|XML Parsing Error|error on line' svg
if grep -q 'parsererror' "$profile/dom.html"; then
  echo "check_svg: Chromium could not parse $fig as XML" >&2
  exit 1
fi
chromium_shot "$fig" "$shot" "$size"
