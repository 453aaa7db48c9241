#!/bin/sh
# Installs smtpd as one executable and the classic mail commands as links to it: the
# executable looks at the name it is called by (sendmail, mailq, newaliases, makemap,
# smtpctl) and behaves as that command. Run as root from the repository's top directory.
set -eu
PREFIX=${PREFIX:-/usr/local}

# --unstable-net: unix datagram sockets, for syslog (/dev/log). -A: the daemon binds ports,
# reads its tables, writes the queue, and starts its per-user delivery children.
deno compile --unstable-net -A -o "$PREFIX/sbin/smtpd" cli.ts

ln -sf "$PREFIX/sbin/smtpd" /usr/sbin/sendmail
ln -sf "$PREFIX/sbin/smtpd" /usr/bin/mailq
ln -sf "$PREFIX/sbin/smtpd" /usr/bin/newaliases
ln -sf "$PREFIX/sbin/smtpd" /usr/sbin/makemap
ln -sf "$PREFIX/sbin/smtpd" /usr/sbin/smtpctl

# The service (foreground under systemd; see smtpd-forking.service for the forking kind).
if [ -d /etc/systemd/system ]; then
  install -m 0644 examples/systemd/smtpd.service /etc/systemd/system/smtpd.service
  echo "installed; start with: systemctl daemon-reload && systemctl enable --now smtpd"
fi
