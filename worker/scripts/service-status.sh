#!/usr/bin/env bash
# Status of exactly one service. The name is matched exactly everywhere (never as a substring
# of other processes' command lines), and only status fields are printed: no command lines,
# no journal lines, which can carry other programs' secrets.
set -uo pipefail
service=""
for arg in "$@"; do
  case "$arg" in
    --service=*) service="${arg#--service=}" ;;
    *) echo "unknown argument: $arg" >&2; exit 64 ;;
  esac
done
[[ "$service" =~ ^[A-Za-z0-9][A-Za-z0-9@._:-]{0,99}$ ]] || { echo "--service must be an exact service name" >&2; exit 64; }
found=1
echo "::progress 10 systemd"
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  props=$(systemctl show --no-pager --property=Id,LoadState,ActiveState,SubState,MainPID,ActiveEnterTimestamp -- "$service" 2>/dev/null)
  if [ -n "$props" ] && ! grep -qx 'LoadState=not-found' <<<"$props"; then
    echo "systemd:"; printf '%s\n' "$props"; found=0
  else
    echo "systemd: no unit named $service"
  fi
else
  echo "systemd is not running on this host"
fi
echo "::progress 40 supervisor"
if command -v supervisorctl >/dev/null; then
  # Its lines for this program (or this group's programs) only; a STOPPED program exits non-zero but is known.
  lines=$(supervisorctl status "$service" 2>/dev/null | awk -v s="$service" '$1 == s || index($1, s ":") == 1')
  if [ -n "$lines" ]; then
    echo "supervisor:"; printf '%s\n' "$lines"; found=0
  else
    echo "supervisor: no program named $service (or supervisord is not running)"
  fi
fi
echo "::progress 70 processes"
echo "Processes named exactly $service (pid, user, elapsed, name):"
pids=$(pgrep -x -d, -- "$service" 2>/dev/null || true)
if [ -n "$pids" ]; then
  ps -o pid=,user=,etime=,comm= -p "$pids"; found=0
else
  echo "(none)"
fi
echo "::progress 100 done"
exit "$found"
