#!/usr/bin/env bash
# Starts Postfix for bench/tls_compare.ts: the shared bench's postfix profile (its
# main.cf and master.cf) plus STARTTLS with the given certificate, in the foreground.
#   _postfix_tls.sh BENCH_DIR RUNDIR PORT CERT KEY
set -eu
BENCH_HOME=${1:?shared bench directory}
export BENCH_RUNDIR=${2:?run directory} BENCH_PORT=${3:?port}
CERT=${4:?certificate} KEY=${5:?key}
export BENCH_DOMAIN=bench.test BENCH_DELIVERY_USER=benchmail
export BENCH_MAILDIR=$BENCH_RUNDIR/mail BENCH_QUEUE_DIR=$BENCH_RUNDIR/queue BENCH_HOME
mkdir -p "$BENCH_MAILDIR"
chown "$BENCH_DELIVERY_USER:" "$BENCH_MAILDIR"
export POSTFIX_MAIN_EXTRA="smtpd_tls_cert_file = $CERT
smtpd_tls_key_file = $KEY
smtpd_tls_security_level = may
smtpd_tls_session_cache_database ="
# shellcheck source=/dev/null
source "$BENCH_HOME/profiles/postfix.sh"
profile_check
profile_prepare
# STARTTLS needs tlsmgr(8), which the throughput profile leaves out.
echo "tlsmgr    unix  -       -       n       1000?   1       tlsmgr" >>"$BENCH_RUNDIR/conf/master.cf"
exec "${SERVER_CMD[@]}"
