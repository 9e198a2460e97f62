#!/usr/bin/env bash
# Looks at an `orac report` in a real browser: generates the report of a synthetic history
# (examples/synthetic_history.rs: 60 commits, steps, creep, an outlier, decode in GB/s), opens
# the index, the key's page and one benchmark's page in headless Chromium from file://, and
# fails on a page that does not load, an "Uncaught" error or any console message, a chart
# whose points are missing once the page's script ran, a point whose tooltip does not show
# on hover, or a link to a missing file. Screenshots stay in OUT_DIR for people to look at:
# index.png, KEY.png, BENCH.png (1280x2000) and hover.png (a point's tooltip).
#   usage: ci/check-report.sh [ORAC] [OUT_DIR]     (default: target/release/orac, target/report-check)
# Installs Debian's `chromium` when it is missing, with apt-get as root or through `sudo -n` (CI).
set -euo pipefail
orac=$(realpath "${1:-target/release/orac}")
out=$(realpath -m "${2:-target/report-check}")

find_browser() {
  command -v chromium || command -v chromium-browser || command -v google-chrome || true
}
browser=$(find_browser)
# As root, or through sudo where it needs no password.
as_root=()
[[ $(id -u) -eq 0 ]] || as_root=(sudo -n)
if [[ -z "$browser" ]] && command -v apt-get >/dev/null &&
  { [[ ${#as_root[@]} -eq 0 ]] || sudo -n true 2>/dev/null; }; then
  echo "check-report: installing Debian's chromium" >&2
  # A stale package list is the usual reason the install fails on a fresh CI machine.
  "${as_root[@]}" apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 ||
    { "${as_root[@]}" apt-get update -q >/dev/null &&
      "${as_root[@]}" apt-get install -y -q --no-install-recommends chromium >/dev/null; }
  browser=$(find_browser)
fi
if [[ -z "$browser" ]]; then
  echo "check-report: no chromium found (apt-get install chromium)" >&2
  exit 4
fi
"$browser" --version

rm -rf "$out" && mkdir -p "$out"
cargo run -q --locked --release --example synthetic_history -- "$out/demo" >/dev/null
(cd "$out/demo" && "$orac" report --out-dir report --commit-url "" >/dev/null 2>&1)
site="$out/demo/report"
key_page=$(find "$site" -maxdepth 1 -name '*.html' ! -name index.html | sort | head -n 1)
key=$(basename "$key_page" .html)
# The benchmark with a change point and an off-scale outlier is the one worth a look.
bench_page="$site/$key/attention_decode_bf16_b1h32kv8sk4096d128.html"
[[ -f "$bench_page" ]] || { echo "check-report: no page $bench_page" >&2; exit 1; }

# Occurrences of the regex $1 in the file $2 (0 is not an error).
occurrences() {
  { grep -oE "$1" "$2" || true; } | wc -l
}

chrome() {
  "$browser" --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
    --window-size=1280,2000 "$@"
}

status=0
for page in "$site/index.html" "$key_page" "$bench_page"; do
  name=$(basename "$page" .html)
  chrome --screenshot="$out/$name.png" "file://$page" >"$out/$name.log" 2>&1 ||
    { echo "chromium failed on $page (see $out/$name.log)" >&2; status=1; }
  # The DOM once the script ran (virtual time lets it finish before the dump).
  chrome --virtual-time-budget=2000 --run-all-compositor-stages-before-draw --dump-dom \
    "file://$page" >"$out/$name.dom" 2>>"$out/$name.log" || status=1
  if ! grep -q "</html>" "$out/$name.dom"; then
    echo "$page: no DOM came back" >&2; status=1
  fi
  if grep -E "Uncaught|CONSOLE|Not allowed to load|ERR_FILE_NOT_FOUND" "$out/$name.log"; then
    echo "$page: errors while loading (see $out/$name.log)" >&2; status=1
  fi
  [[ -s "$out/$name.png" ]] || { echo "$page: no screenshot" >&2; status=1; }
  # Every chart in the page must have been drawn with points: the script counts each
  # chart's .pt elements into data-drawn; a chart without it means the script did not run.
  charts=$(occurrences '<svg class="chart"' "$page")
  drawn=$(occurrences '<svg [^>]*data-drawn="[1-9][0-9]*"' "$out/$name.dom")
  empty=$(occurrences '<svg [^>]*data-drawn="0"' "$out/$name.dom")
  points=$(occurrences 'class="pt[ "]' "$out/$name.dom")
  echo "check-report: $name: $charts charts in the page, $drawn drawn with points ($points points), $empty empty"
  if ((drawn != charts || empty > 0)); then
    echo "$page: a chart without its points (see $out/$name.dom)" >&2; status=1
  fi
  # The tooltips moved into data-tip: value, CI, commit and date.
  # (A tooltip holds newlines: the DOM is searched as one line; no pipe into grep -q,
  # whose early exit would fail the pipe under pipefail.)
  dom_line=$(tr '\n' ' ' <"$out/$name.dom")
  if ((charts > 0)) && ! grep -qE 'data-tip="[0-9a-f]{7} · [0-9]{4}-[0-9]{2}-[0-9]{2} median [^"]+ \(CI [^"]+ – ' <<<"$dom_line"; then
    echo "$page: points without value, CI, commit and date in their tooltip" >&2; status=1
  fi
done
# A tooltip on screen: a copy of the benchmark page whose extra script hovers the outlier.
hover="$(dirname "$bench_page")/hover-check.html"
sed 's#</body>#<script>setTimeout(function(){var p=document.querySelector(".pt.off")||document.querySelector(".pt");var r=p.getBoundingClientRect();p.dispatchEvent(new MouseEvent("mouseover",{bubbles:true,clientX:r.x+3,clientY:r.y+3}));},100);</script></body>#' \
  "$bench_page" >"$hover"
chrome --window-size=1280,700 --virtual-time-budget=1000 --screenshot="$out/hover.png" \
  "file://$hover" >"$out/hover.log" 2>&1 || status=1
chrome --virtual-time-budget=1000 --dump-dom "file://$hover" >"$out/hover.dom" 2>>"$out/hover.log" || status=1
rm -f "$hover"
if grep -E "Uncaught|CONSOLE" "$out/hover.log"; then
  echo "errors while hovering (see $out/hover.log)" >&2; status=1
fi
if ! grep -qE '<div id="tip"[^>]*>[0-9a-f]{7} · ' "$out/hover.dom"; then
  echo "hovering a point shows no tooltip (see $out/hover.png)" >&2; status=1
fi
[[ $(occurrences 'id="filter"' "$out/index.dom") -eq 1 ]] || { echo "index: no filter box" >&2; status=1; }
# The filter box: typing "gemm" leaves the gemm rows shown, and says how many.
filtered="$site/filter-check.html"
sed 's#</body>#<script>var f=document.getElementById("filter");f.value="gemm";f.dispatchEvent(new Event("input"));</script></body>#' \
  "$site/index.html" >"$filtered"
chrome --virtual-time-budget=1000 --dump-dom "file://$filtered" >"$out/filter.dom" 2>"$out/filter.log" || status=1
rm -f "$filtered"
gemm_rows=$(occurrences '<tr data-id="gemm/' "$site/index.html")
if ! grep -q "<span id=\"shown\">$gemm_rows</span>" "$out/filter.dom" ||
  [[ $(occurrences '<tr data-id="[^"]*"( hidden="")?>' "$out/filter.dom") -ne $(occurrences '<tr data-id=' "$site/index.html") ]] ||
  [[ $(occurrences '<tr data-id="gemm/[^"]*">' "$out/filter.dom") -ne $gemm_rows ]]; then
  echo "index: the filter box does not filter (see $out/filter.dom)" >&2; status=1
fi

# Every local file any page points at must exist, relative to the page.
while read -r page; do
  dir=$(dirname "$page")
  while read -r ref; do
    [[ -e "$dir/$ref" ]] || { echo "$page: missing $ref" >&2; status=1; }
  done < <(grep -oE '(src|href)="[^"#:]+' "$page" | sed -E 's/^(src|href)="//')
done < <(find "$site" -name '*.html')
[[ $status -eq 0 ]] && echo "check-report: ok; screenshots: $out/index.png $out/$key.png $out/$(basename "$bench_page" .html).png $out/hover.png"
exit $status
