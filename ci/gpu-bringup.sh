#!/usr/bin/env bash
# ci/gpu-bringup.sh [--out DIR] [--orac PATH] [--deadline SECS] [--rehearse] [--sections A,B] ...
# THE entry point for GPU work: the checks and sections a GPU session runs, prioritised, each
# in a time budget, under a 6-minute deadline, with OUT (default $OUT) rewritten after every
# section: bundle.tar.gz, summary.md, status.json. `--help` for the options, `--list` for the
# sections; ci/gpu_bringup.py (Python 3, no third-party modules) says how it works.
exec python3 "$(dirname "$0")/gpu_bringup.py" "$@"
