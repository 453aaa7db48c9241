#!/bin/sh
# Installs smtpd as one executable, PREFIX/sbin/smtpd, and the classic mail commands as links
# to it (sendmail, newaliases, makemap, smtpctl in PREFIX/sbin, mailq in PREFIX/bin): the
# executable looks at the name it is called by and behaves as that command.
#
#   [PREFIX=/usr/local] [DENORT_BIN=FILE] [SMTPD_EXECUTABLE=FILE] examples/install.sh [--force]
#
# Run from the repository's top directory (as root for a system PREFIX). `deno compile`
# needs denort, the runtime of the same Deno version as the deno running it: it downloads
# it from dl.deno.land, or takes the file DENORT_BIN names (deno itself will not do).
# SMTPD_EXECUTABLE installs an executable built elsewhere instead of compiling one. A link
# never replaces a file that is not already a link to this smtpd (a system sendmail, say)
# unless --force is given. SYSTEMD_DIR (default /etc/systemd/system) gets the unit when
# that directory exists.
set -eu
PREFIX=${PREFIX:-/usr/local}
SYSTEMD_DIR=${SYSTEMD_DIR:-/etc/systemd/system}
FORCE=no
for arg in "$@"; do
  case $arg in
    --force) FORCE=yes ;;
    *)
      echo "usage: [PREFIX=DIR] [DENORT_BIN=FILE] [SMTPD_EXECUTABLE=FILE] $0 [--force]" >&2
      exit 64
      ;;
  esac
done
TARGET=$PREFIX/sbin/smtpd
LINKS="$PREFIX/sbin/sendmail $PREFIX/bin/mailq $PREFIX/sbin/newaliases $PREFIX/sbin/makemap
$PREFIX/sbin/smtpctl"

# Before anything is written: which links would replace a file that is not ours.
if [ "$FORCE" = no ]; then
  taken=""
  for link in $LINKS; do
    if [ -e "$link" ] || [ -L "$link" ]; then
      if [ ! -L "$link" ] || [ "$(readlink "$link")" != "$TARGET" ]; then
        taken="$taken $link"
      fi
    fi
  done
  if [ -n "$taken" ]; then
    echo "install.sh: these exist and are not links to $TARGET:$taken" >&2
    echo "install.sh: nothing installed; run with --force to replace them" >&2
    exit 1
  fi
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
BUILT=$WORK/smtpd
if [ -n "${SMTPD_EXECUTABLE:-}" ]; then
  cp "$SMTPD_EXECUTABLE" "$BUILT"
else
  # --unstable-net: unix datagram sockets, for syslog (/dev/log). -A: the daemon binds
  # ports, reads its tables, writes the queue, and starts its per-user delivery children.
  # deno compile reads DENORT_BIN from the environment itself.
  # --v8-flags: a compiled executable takes V8's flags only from its build (not from
  # DENO_V8_FLAGS), and its front and mailbox writers are itself: the heap bounds that
  # `deno run` gives them (src/privsep/start_front.ts) are built in here.
  if ! deno compile --unstable-net -A --v8-flags=--max-semi-space-size=2,--heap-growing-percent=20 \
    -o "$BUILT" cli.ts; then
    echo "install.sh: deno compile failed; it needs denort $(deno --version | head -n 1 |
      cut -d' ' -f2) for this machine, downloaded from dl.deno.land or named by DENORT_BIN" >&2
    echo "install.sh: without it, run from source: deno run -A cli.ts" >&2
    exit 1
  fi
fi

# A denort of another version, or deno itself as DENORT_BIN, builds a file that is not smtpd.
printf 'action "a" mbox\nmatch from local for local action "a"\n' >"$WORK/check.conf"
if ! "$BUILT" -n -f "$WORK/check.conf" >"$WORK/check.out" 2>&1 ||
  ! grep -qx "configuration OK" "$WORK/check.out"; then
  echo "install.sh: the built executable is not a working smtpd: 'smtpd -n' printed:" >&2
  head -n 5 "$WORK/check.out" >&2
  echo "install.sh: nothing installed; DENORT_BIN must name denort, not deno" >&2
  exit 1
fi

mkdir -p "$PREFIX/sbin" "$PREFIX/bin"
install -m 0755 "$BUILT" "$TARGET"
for link in $LINKS; do
  ln -sfn "$TARGET" "$link"
done
echo "installed $TARGET and links:" $LINKS

# The service (foreground under systemd; see smtpd-forking.service for the forking kind).
if [ -d "$SYSTEMD_DIR" ]; then
  sed "s#/usr/local/sbin/smtpd#$TARGET#g" examples/systemd/smtpd.service \
    >"$SYSTEMD_DIR/smtpd.service"
  chmod 0644 "$SYSTEMD_DIR/smtpd.service"
  echo "installed; start with: systemctl daemon-reload && systemctl enable --now smtpd"
fi
