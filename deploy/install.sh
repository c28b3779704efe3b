#!/usr/bin/env bash
# Installs Deckhand from this checkout as systemd services (web + N workers).
# Usage: sudo deploy/install.sh [WORKERS]   (default 2)
set -euo pipefail
workers="${1:-2}"
src="$(cd "$(dirname "$0")/.." && pwd)"
# Named like the releases Deckhand makes when it deploys itself (target self): <UTC time>-<sha7>.
release="/opt/deckhand/releases/$(date -u +%Y%m%d%H%M%S)-$(git -C "$src" rev-parse --short=7 HEAD)"

id deckhand >/dev/null 2>&1 || useradd --system --home /var/lib/deckhand --shell /usr/sbin/nologin deckhand
install -d -o deckhand -g deckhand -m 0750 /var/lib/deckhand
install -d -m 0755 /opt/deckhand/releases /etc/deckhand
[ -f /etc/deckhand/env ] || install -m 0600 "$src/deploy/env.example" /etc/deckhand/env

mkdir -p "$release"
git -C "$src" archive HEAD | tar -x -C "$release"
(cd "$release" && npm ci --omit=dev --no-audit --no-fund)
ln -sfn "releases/$(basename "$release")" /opt/deckhand/current.tmp && mv -T /opt/deckhand/current.tmp /opt/deckhand/current

install -m 0644 "$src/deploy/deckhand-web.service" "$src/deploy/deckhand-worker@.service" /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now deckhand-web.service
for i in $(seq 1 "$workers"); do systemctl enable --now "deckhand-worker@$i.service"; done
echo "Deckhand installed in $release; edit /etc/deckhand/env, then: systemctl restart deckhand-web 'deckhand-worker@*'"
echo "Create the first admin: cd /opt/deckhand/current && set -a && . /etc/deckhand/env && node server/cli/deckhand.mjs user add admin --role admin --password-stdin"
