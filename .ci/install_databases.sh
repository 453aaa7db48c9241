#!/usr/bin/env bash
# Installs the database servers the network table tests start themselves (PostgreSQL,
# MariaDB), with a policy-rc.d that keeps invoke-rc.d from starting them. Idempotent.
set -uo pipefail
[ "$(id -u)" = 0 ] || { echo "databases: not root, cannot install postgresql and mariadb"; exit 0; }
command -v apt-get >/dev/null || { echo "databases: no apt-get"; exit 0; }
start=$(date +%s)
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server)
if [ "${#need[@]}" -gt 0 ]; then
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" \
    >/dev/null || echo "databases: apt-get install ${need[*]} failed"
  [ "$made_policy" = 1 ] && rm -f "$policy"
fi
echo "databases: postgresql and mariadb ready in $(($(date +%s) - start))s"
