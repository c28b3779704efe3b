#!/usr/bin/env bash
# Fixed-string search (grep -F) so a pattern can never be a costly regular expression.
# Which logs it may read is the manifest's `log` list; auth logs are left off it unless an
# admin adds them (README, "Shipped scripts"). The checks below hold even if a manifest is wrong.
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
# A pattern of a letter or two matches nearly every line: that is a dump of the log, not a search.
[ "${#pattern}" -ge 3 ] || { echo "the pattern must be at least 3 characters" >&2; exit 64; }
case "$log" in
  /*) ;;
  *) echo "the log must be an absolute path" >&2; exit 64 ;;
esac
# Never read through a symlink: whoever owns a log's directory could plant one to another file.
[ "$(realpath -e -- "$log" 2>/dev/null)" = "$log" ] || { echo "refusing $log: missing, or reached through a symlink" >&2; exit 66; }
[ -f "$log" ] && [ -r "$log" ] || { echo "cannot read $log" >&2; exit 66; }
flags=(-F -n)
[ "$icase" = true ] && flags+=(-i)
echo "::progress 20 searching $log"
matches=$(grep "${flags[@]}" -e "$pattern" -- "$log" | tail -n "$lines")
count=$(grep -c "${flags[@]}" -e "$pattern" -- "$log" || true)
echo "::progress 90 $count matches"
[ -n "$matches" ] && printf '%s\n' "$matches"
echo "$count matching lines in $log (showing at most $lines)"
echo "::progress 100 done"
