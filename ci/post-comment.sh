#!/usr/bin/env bash
# ci/post-comment.sh REPO PR FILE
# Posts FILE as a comment on pull request PR of REPO, or edits orac's previous comment (the
# one starting with the hidden marker *and* written by the account that posts, so a human's
# comment quoting the marker is never overwritten) so a PR carries one orac comment, always
# current. Needs `gh` with GH_TOKEN. ORAC_COMMENT_AUTHOR is that account's login
# (default github-actions[bot], the author of comments made with the workflow's token).
set -euo pipefail
repo=${1:?usage: ci/post-comment.sh REPO PR FILE}
pr=${2:?usage: ci/post-comment.sh REPO PR FILE}
file=${3:?usage: ci/post-comment.sh REPO PR FILE}
marker='<!-- orac:compare -->'
[ -s "$file" ] || { echo "$file is empty or missing" >&2; exit 2; }
IFS= read -r first < "$file" || true
[[ "$first" == *"$marker"* ]] || { echo "$file does not start with $marker" >&2; exit 2; }

author=${ORAC_COMMENT_AUTHOR:-github-actions[bot]}
# The whole paginated answer first, then its first line: `head` would close the pipe early
# and, under pipefail, fail the script when gh is killed by SIGPIPE.
ids=$(gh api --paginate "repos/$repo/issues/$pr/comments" \
  --jq ".[] | select((.body | startswith(\"$marker\")) and .user.login == \"$author\") | .id")
existing=${ids%%$'\n'*}
if [ -n "$existing" ]; then
  gh api --method PATCH "repos/$repo/issues/comments/$existing" -F "body=@$file" > /dev/null
  echo "updated comment $existing on $repo#$pr"
else
  gh api --method POST "repos/$repo/issues/$pr/comments" -F "body=@$file" > /dev/null
  echo "posted a comment on $repo#$pr"
fi
