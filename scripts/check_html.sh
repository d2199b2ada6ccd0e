#!/usr/bin/env bash
# Checks an HTML table page in headless Chromium: it loads without console errors or failed
# requests (the page must have no external assets), and a screenshot shows the table.
# Usage: scripts/check_html.sh PAGE.html [SCREENSHOT.png]
# Exit 0 when the page is clean (the screenshot is written for a person to look at); 77
# without chromium.
set -euo pipefail
tool=check_html
page="$(realpath "$1")"
shot="${2:-${page%.html}.png}"
source "$(dirname "$0")/lib/chromium.sh"
chromium_start
chromium_load "$page" 'CONSOLE|Uncaught|net::ERR_' table
if grep -Eo '(src|href)="(https?:)?//[^"]*"' "$page"; then
  echo "check_html: external asset referenced" >&2
  exit 1
fi
chromium_shot "$page" "$shot" 1200,1400
