#!/usr/bin/env bash
# Usage: retry_on_hang.sh SECONDS COMMAND...
# Runs COMMAND; if it is still running after SECONDS it is stopped (exit 124) and run once more.
# Why: now and then a Jupyter kernel stops answering nbclient mid-notebook (the kernel sits idle, the
# client waits forever; seen with jupyter_client 8 and ipykernel 6 and 7, about one kernel start in
# tens). Only such a hang is retried: any other failure, a wrong output included, fails at once.
set -u
limit=$1
shift
for attempt in 1 2; do
  timeout --kill-after=20 "$limit" "$@"
  status=$?
  [ "$status" -eq 124 ] || [ "$status" -eq 137 ] || exit "$status"
  echo "retry_on_hang: '$*' hung for ${limit}s (attempt $attempt of 2)" >&2
done
exit 124
