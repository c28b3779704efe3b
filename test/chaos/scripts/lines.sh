#!/usr/bin/env bash
# Prints numbered lines slowly and records each run under --runs: a file per run (job id and pid),
# with "exit 0" appended once every line is out, so a test can count runs and clean exits.
count=20 tenths=1 runs=
for arg in "$@"; do
  case "$arg" in --count=*) count="${arg#--count=}" ;; --tenths=*) tenths="${arg#--tenths=}" ;; --runs=*) runs="${arg#--runs=}" ;; esac
done
mark="$runs/$DECKHAND_JOB_ID.$$"
echo "start" > "$mark"
for i in $(seq 1 "$count"); do
  echo "line $i of $count"
  sleep "0.$tenths"
done
echo "exit 0" >> "$mark"
