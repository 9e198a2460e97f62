#!/usr/bin/env bash
# Renders an `orac report` of a synthetic history in headless Chromium and fails on a page
# that does not load, a broken image, or a console error. Needs Debian's `chromium`.
#   usage: ci/check-report.sh [ORAC] [OUT_DIR]     (screenshots land in OUT_DIR)
set -euo pipefail
orac=$(realpath "${1:-target/release/orac}")
out=$(realpath -m "${2:-target/report-check}")
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [[ -z "$browser" ]]; then
  echo "check-report: no chromium found (apt-get install chromium)" >&2
  exit 4
fi
rm -rf "$out" && mkdir -p "$out"
cargo run -q --release --example synthetic_history -- "$out/demo" >/dev/null
(cd "$out/demo" && "$orac" report --out-dir report >/dev/null 2>&1)

status=0
for page in "$out"/demo/report/*.html; do
  name=$(basename "$page" .html)
  # Images that fail to load have naturalWidth 0; the title says how many there were.
  "$browser" --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
    --window-size=1200,2400 --screenshot="$out/$name.png" "file://$page" \
    >"$out/$name.log" 2>&1 || { echo "chromium failed on $page" >&2; status=1; }
  "$browser" --headless --no-sandbox --disable-gpu --virtual-time-budget=2000 \
    --run-all-compositor-stages-before-draw --dump-dom \
    "file://$page" >"$out/$name.dom" 2>/dev/null || status=1
  if ! grep -q "</html>" "$out/$name.dom"; then
    echo "$page: no DOM came back" >&2; status=1
  fi
  if grep -E "CONSOLE|Uncaught|Not allowed to load|ERR_FILE_NOT_FOUND" "$out/$name.log"; then
    echo "$page: errors while loading (see $out/$name.log)" >&2; status=1
  fi
  [[ -s "$out/$name.png" ]] || { echo "$page: no screenshot" >&2; status=1; }
done
# Every local file a page points at must exist.
for page in "$out"/demo/report/*.html; do
  while read -r ref; do
    [[ -e "$out/demo/report/$ref" ]] || { echo "$page: missing $ref" >&2; status=1; }
  done < <(grep -oE '(src|href)="[^"#:]+"' "$page" | sed -E 's/^(src|href)="//; s/"$//')
done
[[ $status -eq 0 ]] && echo "check-report: ok, screenshots in $out"
exit $status
