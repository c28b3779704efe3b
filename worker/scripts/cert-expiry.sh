#!/usr/bin/env bash
# Exits 1 when the endpoint cannot be reached or its certificate has expired.
set -uo pipefail
host="" port=443 warn=14
for arg in "$@"; do
  case "$arg" in
    --host=*) host="${arg#--host=}" ;;
    --port=*) port="${arg#--port=}" ;;
    --warnDays=*) warn="${arg#--warnDays=}" ;;
    *) echo "unknown argument: $arg" >&2; exit 64 ;;
  esac
done
echo "::progress 20 connecting to $host:$port"
pem=$(openssl s_client -connect "$host:$port" -servername "$host" </dev/null 2>/dev/null | openssl x509 2>/dev/null)
if [ -z "$pem" ]; then echo "no certificate from $host:$port (unreachable or not TLS)" >&2; exit 1; fi
echo "::progress 60 reading the certificate"
printf '%s\n' "$pem" | openssl x509 -noout -subject -issuer -enddate -fingerprint -sha256
end=$(printf '%s\n' "$pem" | openssl x509 -noout -enddate | cut -d= -f2)
days=$(( ($(date -d "$end" +%s) - $(date +%s)) / 86400 ))
echo "::progress 100 done"
if [ "$days" -lt 0 ]; then echo "EXPIRED $(( -days )) days ago"; exit 1; fi
if [ "$days" -lt "$warn" ]; then echo "WARNING: expires in $days days"; else echo "OK: expires in $days days"; fi
