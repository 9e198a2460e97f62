#!/usr/bin/env bash
# ci/post-comment.sh REPO PR FILE
# Posts FILE as a comment on pull request PR of REPO, or edits orac's previous comment (the
# one starting with the hidden marker) so a PR carries one orac comment, always current.
# Needs `gh` with GH_TOKEN.
set -euo pipefail
repo=${1:?usage: ci/post-comment.sh REPO PR FILE}
pr=${2:?usage: ci/post-comment.sh REPO PR FILE}
file=${3:?usage: ci/post-comment.sh REPO PR FILE}
marker='<!-- orac:compare -->'
[ -s "$file" ] || { echo "$file is empty or missing" >&2; exit 2; }
head -n 1 "$file" | grep -qF "$marker" || { echo "$file does not start with $marker" >&2; exit 2; }

existing=$(gh api --paginate "repos/$repo/issues/$pr/comments" \
  --jq ".[] | select(.body | startswith(\"$marker\")) | .id" | head -n 1)
if [ -n "$existing" ]; then
  gh api --method PATCH "repos/$repo/issues/comments/$existing" -F "body=@$file" > /dev/null
  echo "updated comment $existing on $repo#$pr"
else
  gh api --method POST "repos/$repo/issues/$pr/comments" -F "body=@$file" > /dev/null
  echo "posted a comment on $repo#$pr"
fi
