#!/usr/bin/env bash
# Installs the OpenSMTPD filters Debian packages (and rspamd) and the independent DKIM verifier the
# filter tests use, with a policy-rc.d that keeps any daemon they pull in from starting,
# and the _smtpd account filters run as when the daemon is root. Idempotent.
set -uo pipefail
[ "$(id -u)" = 0 ] || { echo "filters: not root, cannot install the packaged filters"; exit 0; }
command -v apt-get >/dev/null || { echo "filters: no apt-get, cannot install the packaged filters"; exit 0; }
getent passwd _smtpd >/dev/null ||
  useradd --system --user-group --no-create-home --home-dir /var/empty --shell /usr/sbin/nologin _smtpd
need=()
[ -x /usr/libexec/opensmtpd/filter-dkimsign ] || need+=(opensmtpd-filter-dkimsign)
[ -x /usr/libexec/opensmtpd/filter-senderscore ] || need+=(opensmtpd-filter-senderscore)
[ -x /usr/libexec/opensmtpd/filter-rspamd ] || need+=(opensmtpd-filter-rspamd)
# The filter-rspamd test starts its own rspamd on 127.0.0.1 with a scratch configuration.
[ -x /usr/bin/rspamd ] || need+=(rspamd)
/usr/bin/python3 -c 'import dkim, dns.resolver' 2>/dev/null || need+=(python3-dkim)
[ "${#need[@]}" -gt 0 ] || { echo "filters: installed"; exit 0; }
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
  echo "filters: installing ${need[*]} failed; the tests that need them will say so"
[ "$made_policy" = 1 ] && rm -f "$policy"
echo "filters: installed ${need[*]} in $(($(date +%s) - start))s"
