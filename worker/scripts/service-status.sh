#!/usr/bin/env bash
# Asks every service manager present about one service, then lists its processes.
set -uo pipefail
service=""
for arg in "$@"; do
  case "$arg" in
    --service=*) service="${arg#--service=}" ;;
    *) echo "unknown argument: $arg" >&2; exit 64 ;;
  esac
done
[ -n "$service" ] || { echo "--service is required" >&2; exit 64; }
found=1
echo "::progress 10 systemd"
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl status --no-pager --lines=20 -- "$service" && found=0
else
  echo "systemd is not running on this host"
fi
echo "::progress 40 supervisor"
if command -v supervisorctl >/dev/null; then
  supervisorctl status "$service" 2>/dev/null && found=0 || echo "supervisor: no program named $service (or supervisord is not running)"
fi
echo "::progress 70 processes"
echo "Processes matching $service:"
if pgrep -a -f -- "$service" | grep -v -e "service-status" ; then found=0; else echo "(none)"; fi
echo "::progress 100 done"
exit "$found"
