#!/usr/bin/env bash
# Installs the independent DKIM verifier the mail authentication tests use: python3-dkim
# with dnspython (keys from the tests' DNS server) and pynacl (Ed25519, RFC 8463), with a
# policy-rc.d so nothing it pulls in starts. Idempotent.
set -uo pipefail
/usr/bin/python3 -c 'import dkim, dns.resolver, nacl' 2>/dev/null && { echo "mail-auth: installed"; exit 0; }
[ "$(id -u)" = 0 ] || { echo "mail-auth: not root, cannot install python3-dkim"; exit 0; }
command -v apt-get >/dev/null || { echo "mail-auth: no apt-get, cannot install python3-dkim"; exit 0; }
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  made_policy=1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  python3-dkim python3-dnspython python3-nacl >/dev/null ||
  echo "mail-auth: installing python3-dkim failed; the tests that need it will say so"
[ "$made_policy" = 1 ] && rm -f "$policy"
echo "mail-auth: installed python3-dkim, python3-dnspython, python3-nacl"
