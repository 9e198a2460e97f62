#!/usr/bin/env bash
# ci/nightly-store.sh ARTIFACTS [BRANCH]
# Commits the runs found under ARTIFACTS/*/results/<key>/*.json that BRANCH (default
# `results`) of origin lacks, and pushes. Run it in a throwaway checkout of the repository
# (it checks BRANCH out there). The first night, when origin has no such branch, it is
# created as an orphan that holds only results/. A push that loses a race with another
# writer is rebased and retried (the workflow's concurrency group makes that rare).
set -euo pipefail
artifacts=${1:?usage: ci/nightly-store.sh ARTIFACTS [BRANCH]}
branch=${2:-results}
artifacts=$(cd "$artifacts" && pwd)
if git ls-remote --exit-code --heads origin "$branch" > /dev/null; then
  git fetch --quiet origin "$branch"
  git checkout --quiet -B "$branch" FETCH_HEAD
else
  echo "origin has no branch $branch: creating it"
  git checkout --quiet --orphan "$branch"
  git rm -rfq --ignore-unmatch .
fi
added=0
for dir in "$artifacts"/*/results/*/; do
  [ -d "$dir" ] || continue
  key=$(basename "$dir")
  for run in "$dir"*.json; do
    [ -e "$run" ] || continue
    target="results/$key/$(basename "$run")"
    if [ ! -e "$target" ]; then
      mkdir -p "results/$key"
      cp "$run" "$target"
      added=$((added + 1))
    fi
  done
done
if [ "$added" -eq 0 ]; then
  echo "no new results"
  exit 0
fi
git add results
git -c user.name="orac nightly" -c user.email="orac-nightly@users.noreply.github.com" \
  commit --quiet -m "nightly results $(date -u +%Y-%m-%d): $added runs"
for attempt in 1 2 3; do
  if git push --quiet origin "HEAD:refs/heads/$branch"; then
    echo "pushed $added runs to $branch"
    exit 0
  fi
  echo "push $attempt lost a race: rebasing onto origin/$branch" >&2
  git fetch --quiet origin "$branch"
  git -c user.name="orac nightly" -c user.email="orac-nightly@users.noreply.github.com" \
    rebase --quiet FETCH_HEAD
done
echo "could not push to $branch" >&2
exit 1
