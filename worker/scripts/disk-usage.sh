#!/usr/bin/env bash
# Free space of the filesystem holding a path, then its largest directories.
set -euo pipefail
path=/ depth=1 top=20
for arg in "$@"; do
  case "$arg" in
    --path=*) path="${arg#--path=}" ;;
    --depth=*) depth="${arg#--depth=}" ;;
    --top=*) top="${arg#--top=}" ;;
    *) echo "unknown argument: $arg" >&2; exit 64 ;;
  esac
done
echo "::progress 10 filesystem usage"
df -h -- "$path"
echo
echo "::progress 30 measuring directories under $path"
echo "Largest entries under $path (depth $depth):"
du -x -h --max-depth="$depth" -- "$path" 2>/dev/null | sort -rh | head -n "$top" || true
echo "::progress 100 done"
