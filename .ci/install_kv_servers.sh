#!/usr/bin/env bash
# Installs the Redis and OpenLDAP servers the redis and ldap table tests start themselves,
# with a policy-rc.d that keeps invoke-rc.d from starting them. Idempotent.
set -uo pipefail
[ "$(id -u)" = 0 ] || { echo "kv servers: not root, cannot install redis-server and slapd"; exit 0; }
command -v apt-get >/dev/null || { echo "kv servers: no apt-get"; exit 0; }
start=$(date +%s)
need=()
[ -x /usr/bin/redis-server ] || need+=(redis-server)
[ -x /usr/sbin/slapd ] || need+=(slapd)
[ -x /usr/bin/ldapadd ] || need+=(ldap-utils)
if [ "${#need[@]}" -gt 0 ]; then
  policy=/usr/sbin/policy-rc.d
  made_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=600 "${need[@]}" >/dev/null || echo "kv servers: apt-get install ${need[*]} failed"
  [ "$made_policy" = 1 ] && rm -f "$policy"
fi
echo "kv servers: redis-server and slapd ready in $(($(date +%s) - start))s"
