#!/usr/bin/env bash
# Installs the real mail servers the outbound tests talk to, without starting any of them:
# Postfix extracted from its Debian package under $PF_ROOT (not installed, since Debian's MTAs
# conflict with one another), Dovecot's LMTP and IMAP servers installed with a policy-rc.d that
# keeps invoke-rc.d from starting them. Idempotent; prints what it did and how long it took.
set -uo pipefail
PF_ROOT=${PF_ROOT:-/opt/postfix}
[ "$(id -u)" = 0 ] || { echo "peers: not root, cannot install postfix and dovecot"; exit 0; }
command -v apt-get >/dev/null || { echo "peers: no apt-get, cannot install postfix and dovecot"; exit 0; }
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
if [ ! -x /usr/sbin/dovecot ] || [ ! -x /usr/lib/dovecot/lmtp ] || [ ! -x /usr/lib/dovecot/imap ]; then
  update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    dovecot-core dovecot-lmtpd dovecot-imapd >/dev/null || echo "peers: dovecot install failed"
fi
if [ ! -x "$PF_ROOT/usr/lib/postfix/sbin/master" ]; then
  update
  # Postfix's libraries, then the package itself unpacked without its maintainer scripts.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    libdb5.3 libicu72 libnsl2 libsasl2-2 libssl3 >/dev/null || echo "peers: postfix libraries failed"
  tmp=$(mktemp -d)
  if (cd "$tmp" && apt-get download -qq postfix >/dev/null); then
    mkdir -p "$PF_ROOT" && dpkg-deb -x "$tmp"/postfix_*.deb "$PF_ROOT"
  else
    echo "peers: apt-get download postfix failed"
  fi
  rm -rf "$tmp"
fi
[ "$made_policy" = 1 ] && rm -f "$policy"
getent group postdrop >/dev/null || groupadd --system postdrop
getent passwd postfix >/dev/null || useradd --system --user-group --no-create-home \
  --home-dir /nonexistent --shell /usr/sbin/nologin postfix
echo "peers: postfix $([ -x "$PF_ROOT/usr/lib/postfix/sbin/master" ] && echo ready || echo missing)," \
  "dovecot $([ -x /usr/lib/dovecot/lmtp ] && echo ready || echo missing)" \
  "($(($(date +%s) - start)) s)"
