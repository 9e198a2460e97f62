#!/usr/bin/env bash
# ci/cap-body.sh FILE [LIMIT]
# Cuts FILE in place to at most LIMIT bytes (default $ORAC_BODY_LIMIT, else 60000): GitHub
# rejects an issue or comment body over 65 536 characters, and a character is at least a
# byte. The cut falls at a line boundary (never inside a UTF-8 character), an open code
# fence and open <details> are closed, and a last line says that the whole text is in the
# workflow run's artifacts. A file within the limit is left as it is.
set -euo pipefail
file=${1:?usage: ci/cap-body.sh FILE [LIMIT]}
limit=${2:-${ORAC_BODY_LIMIT:-60000}}
size=$(wc -c < "$file")
[ "$size" -le "$limit" ] && exit 0
note='_Cut to fit a GitHub issue (65 536 characters at most): the whole text is in the workflow run'"'"'s artifacts._'
# Room for the note and for closing a fence and a <details>.
keep=$((limit - ${#note} - 40))
[ "$keep" -gt 0 ] || { echo "limit $limit leaves no room" >&2; exit 2; }
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
head -c "$keep" "$file" > "$tmp"
# Drop the last line, which the cut may have split (and a UTF-8 character with it).
if [ -n "$(tail -c 1 "$tmp")" ]; then
  sed -i '$d' "$tmp"
fi
fences=$(grep -c '^```' "$tmp" || true)
opened=$(grep -o '<details' "$tmp" | wc -l || true)
closed=$(grep -o '</details>' "$tmp" | wc -l || true)
{
  cat "$tmp"
  if [ $((fences % 2)) -eq 1 ]; then echo '```'; fi
  if [ "$opened" -gt "$closed" ]; then echo '</details>'; fi
  echo
  echo "$note"
} > "$file"
