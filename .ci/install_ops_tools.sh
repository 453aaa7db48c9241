#!/usr/bin/env bash
# Installs the tools the operating tests read the daemon with, starting nothing: fail2ban
# (fail2ban-regex reads the log), haproxy (a PROXY v2 load balancer in front of a listener) with a policy-rc.d that keeps its service stopped, and
# promtool (checks the metrics endpoint) extracted from Debian's prometheus package, whose
# dependencies (a web UI's javascript) the check does not need. Idempotent; says what it did.
set -uo pipefail
PROMTOOL_ROOT=${PROMTOOL_ROOT:-/opt/promtool}
[ "$(id -u)" = 0 ] || { echo "ops tools: not root, cannot install fail2ban and promtool"; exit 0; }
command -v apt-get >/dev/null || { echo "ops tools: no apt-get"; exit 0; }
start=$(date +%s)
updated=0
update() { [ "$updated" = 1 ] || { apt-get update -qq; updated=1; }; }
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  made_policy=1
fi
if ! command -v fail2ban-regex >/dev/null; then
  update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fail2ban \
    >/dev/null || echo "ops tools: fail2ban install failed"
fi
if ! command -v haproxy >/dev/null; then
  update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy \
    >/dev/null || echo "ops tools: haproxy install failed"
fi
[ "$made_policy" = 1 ] && rm -f "$policy"
if [ ! -x "$PROMTOOL_ROOT/usr/bin/promtool" ]; then
  update
  tmp=$(mktemp -d)
  if (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1); then
    mkdir -p "$PROMTOOL_ROOT/x" && dpkg-deb -x "$tmp"/prometheus_*.deb "$PROMTOOL_ROOT/x" &&
      mkdir -p "$PROMTOOL_ROOT/usr/bin" &&
      mv "$PROMTOOL_ROOT/x/usr/bin/promtool" "$PROMTOOL_ROOT/usr/bin/promtool"
    rm -rf "$PROMTOOL_ROOT/x"
  else
    echo "ops tools: apt-get download prometheus failed"
  fi
  rm -rf "$tmp"
fi
echo "ops tools: fail2ban-regex $(command -v fail2ban-regex || echo missing)," \
  "haproxy $(command -v haproxy || echo missing)," \
  "promtool $([ -x "$PROMTOOL_ROOT/usr/bin/promtool" ] && echo "$PROMTOOL_ROOT/usr/bin/promtool" || echo missing)" \
  "($(($(date +%s) - start)) s)"
