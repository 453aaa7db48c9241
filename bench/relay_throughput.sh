#!/usr/bin/env bash
# Runs bench/relay_throughput.ts as root in a private network namespace with only a
# loopback interface (127.0.0.0/8 up), so the sink on 0.0.0.0 and the twenty loopback next
# hops can be reached from nowhere else. Needs /work/shared/bench/setup.sh's OpenSMTPD,
# extracted Postfix and users.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
exec unshare --net sh -c 'ip link set lo up && d=$0 && h=$1 && shift && exec "$d" run -A --config "$h/../deno.json" "$h/relay_throughput.ts" "$@"' \
  "$(command -v deno)" "$here" "$@"
