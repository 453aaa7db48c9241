#!/usr/bin/env bash
# Installs a validating resolver (unbound) and the zone-signing tools (ldnsutils) the DANE
# test behind a real resolver uses, with a policy-rc.d that keeps unbound from starting:
# the test starts its own on 127.0.0.1. Idempotent.
set -uo pipefail
[ "$(id -u)" = 0 ] || { echo "dns: not root, cannot install unbound and ldnsutils"; exit 0; }
command -v apt-get >/dev/null || { echo "dns: no apt-get, cannot install unbound and ldnsutils"; exit 0; }
need=()
[ -x /usr/sbin/unbound ] || need+=(unbound)
command -v ldns-signzone >/dev/null 2>&1 || need+=(ldnsutils)
[ "${#need[@]}" -gt 0 ] || { echo "dns: installed"; exit 0; }
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  made_policy=1
fi
start=$(date +%s)
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
  echo "dns: installing ${need[*]} failed; the tests that need them will say so"
[ "$made_policy" = 1 ] && rm -f "$policy"
echo "dns: installed ${need[*]} in $(($(date +%s) - start))s"
