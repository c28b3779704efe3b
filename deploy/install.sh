#!/usr/bin/env bash
# Installs Deckhand from this checkout as systemd services (web + N workers), run as root.
# Usage: sudo deploy/install.sh [WORKERS]   (default 2). Running it again installs a new release.
set -euo pipefail
workers="${1:-2}"
src="$(cd "$(dirname "$0")/.." && pwd)"
# Named like the releases Deckhand makes when it deploys itself (target self): <UTC time>-<sha7>.
release="/opt/deckhand/releases/$(date -u +%Y%m%d%H%M%S)-$(git -C "$src" rev-parse --short=7 HEAD)"

# Both units run as `deckhand`. It owns /opt/deckhand (a deploy of Deckhand writes releases and
# switches `current`) and its state in /var/lib/deckhand; systemd makes /var/log/deckhand.
id deckhand >/dev/null 2>&1 || useradd --system --home /var/lib/deckhand --shell /usr/sbin/nologin deckhand
install -d -o deckhand -g deckhand -m 0700 /var/lib/deckhand
install -d -o deckhand -g deckhand -m 0755 /opt/deckhand /opt/deckhand/releases
install -d -m 0755 /etc/deckhand
[ -f /etc/deckhand/env ] || install -m 0600 "$src/deploy/env.example" /etc/deckhand/env

# PostgreSQL on this host: a role and a database for Deckhand, idempotently. The role's password is
# made here and written into DATABASE_URL, once, when the env file's URL has none yet.
db_url="$(sed -n 's/^DATABASE_URL=//p' /etc/deckhand/env | tail -n1)"
db_host="$(printf '%s' "$db_url" | sed -E 's#^postgres(ql)?://([^@/]*@)?([^:/?]*).*#\3#')"
if [[ "$db_host" =~ ^(127\.0\.0\.1|localhost|::1|\[::1\])?$ ]] && command -v psql >/dev/null &&
  runuser -u postgres -- psql -XtAqc 'SELECT 1' >/dev/null 2>&1; then
  runuser -u postgres -- psql -Xq -v ON_ERROR_STOP=1 <<'SQL'
SELECT 'CREATE ROLE deckhand LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'deckhand')\gexec
SELECT 'CREATE DATABASE deckhand OWNER deckhand' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'deckhand')\gexec
SQL
  if [[ "$db_url" =~ ^postgres(ql)?://deckhand@ ]]; then
    password="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
    runuser -u postgres -- psql -Xq -v ON_ERROR_STOP=1 -v pw="$password" <<'SQL'
ALTER ROLE deckhand PASSWORD :'pw';
SQL
    sed -i -E "s#^DATABASE_URL=postgres(ql)?://deckhand@#DATABASE_URL=postgres://deckhand:${password}@#" /etc/deckhand/env
    echo "PostgreSQL: role and database deckhand ready; its password is in /etc/deckhand/env"
  fi
else
  echo "PostgreSQL is not local (or psql is missing): create the role and database yourself, then set DATABASE_URL"
fi

mkdir -p "$release"
git -C "$src" archive HEAD | tar -x -C "$release"
# Compiled once here (TypeScript is a dev dependency), then the dev dependencies go: the units run dist/.
(cd "$release" && npm ci --no-audit --no-fund && npm run build && npm prune --omit=dev --no-audit --no-fund)
chown -R deckhand:deckhand "$release"
ln -sfn "releases/$(basename "$release")" /opt/deckhand/current.tmp && mv -T /opt/deckhand/current.tmp /opt/deckhand/current
chown -h deckhand:deckhand /opt/deckhand/current

# Least privilege: the worker restarts the units named in the polkit rule (edit its list), and talks
# to supervisor through its group socket (deploy/supervisor/deckhand-socket.conf, merged by hand).
# deploy/sudoers.d/deckhand is the documented alternative; it is not installed.
if [ -d /etc/polkit-1/rules.d ] && [ ! -f /etc/polkit-1/rules.d/50-deckhand.rules ]; then
  install -m 0644 "$src/deploy/polkit/50-deckhand.rules" /etc/polkit-1/rules.d/50-deckhand.rules
fi
if [ -d /etc/logrotate.d ]; then install -m 0644 "$src/deploy/logrotate.d/deckhand" /etc/logrotate.d/deckhand; fi
getent group adm >/dev/null && usermod -a -G adm deckhand # the log-grep script reads /var/log

install -m 0644 "$src/deploy/deckhand-web.service" "$src/deploy/deckhand-worker@.service" /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now deckhand-web.service
for i in $(seq 1 "$workers"); do systemctl enable --now "deckhand-worker@$i.service"; done
echo "Deckhand installed in $release; edit /etc/deckhand/env, then: systemctl restart deckhand-web 'deckhand-worker@*'"
echo "Create the first admin: cd /opt/deckhand/current && set -a && . /etc/deckhand/env && node server/cli/deckhand.mjs user add admin --role admin --password-stdin"
