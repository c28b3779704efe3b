#!/usr/bin/env bash
# Runs for up to ten minutes, as a deploy or a long script would: a line and a progress step every 3 s.
for i in $(seq 1 200); do
  echo "::progress $(( i / 2 )) tick $i"
  echo "tick $i"
  sleep 3
done
