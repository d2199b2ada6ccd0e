# Shared by scripts/check_html.sh and scripts/check_svg.sh: load a local file in headless
# Chromium, fail on console errors or failed requests, and take a screenshot.
# Source it after setting `tool` (the calling script's name, for messages).

# Finds Chromium (exit 77, "skipped", without it) and makes a throwaway profile.
chromium_start() {
  chrome="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
  [ -n "$chrome" ] || { echo "$tool: no chromium found (apt-get install chromium)" >&2; exit 77; }
  profile="$(mktemp -d)"
  trap 'rm -rf "$profile"' EXIT
  flags=(--headless --no-sandbox --disable-gpu --disable-background-networking
         --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile"
         --hide-scrollbars)
}

# chromium_load FILE ERRORS TAG: loads FILE, fails when the log matches the extended regex
# ERRORS (console messages, failed loads, parse errors) or when the loaded DOM has no <TAG.
# The DOM is left in "$profile/dom.html".
chromium_load() {
  local file="$1" errors="$2" tag="$3" log="$profile/chrome.log"
  "$chrome" "${flags[@]}" --enable-logging=stderr --v=0 --virtual-time-budget=2000 \
    --dump-dom "file://$file" >"$profile/dom.html" 2>"$log" || true
  if grep -E "$errors" "$log" | grep -v 'DevTools'; then
    echo "$tool: console errors or failed loads in $file" >&2
    exit 1
  fi
  grep -q "<$tag" "$profile/dom.html" || { echo "$tool: no <$tag> in the loaded DOM" >&2; exit 1; }
}

# chromium_shot FILE SHOT WIDTH,HEIGHT: a screenshot of FILE, which must be written.
chromium_shot() {
  "$chrome" "${flags[@]}" --window-size="$3" --screenshot="$2" "file://$1" 2>/dev/null
  [ -s "$2" ] || { echo "$tool: no screenshot written" >&2; exit 1; }
  echo "$tool: $1 loads cleanly; screenshot $2"
}
