#!/usr/bin/env bash
# Fixed-string search (grep -F) so a pattern can never be a costly regular expression.
set -uo pipefail
log="" pattern="" lines=200 icase=false
for arg in "$@"; do
  case "$arg" in
    --log=*) log="${arg#--log=}" ;;
    --pattern=*) pattern="${arg#--pattern=}" ;;
    --lines=*) lines="${arg#--lines=}" ;;
    --ignoreCase=*) icase="${arg#--ignoreCase=}" ;;
    *) echo "unknown argument: $arg" >&2; exit 64 ;;
  esac
done
[ -r "$log" ] || { echo "cannot read $log" >&2; exit 66; }
flags=(-F -n)
[ "$icase" = true ] && flags+=(-i)
echo "::progress 20 searching $log"
matches=$(grep "${flags[@]}" -e "$pattern" -- "$log" | tail -n "$lines")
count=$(grep -c "${flags[@]}" -e "$pattern" -- "$log" || true)
echo "::progress 90 $count matches"
printf '%s\n' "$matches"
echo "$count matching lines in $log (showing at most $lines)"
echo "::progress 100 done"
