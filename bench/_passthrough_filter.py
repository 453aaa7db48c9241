#!/usr/bin/env python3
# The benchmark's filter: smtpd-filters(7) 0.7, registers data-line only and gives every
# line back unchanged, so what is measured is the protocol's own cost.
import sys

out = sys.stdout
for raw in iter(sys.stdin.readline, ""):
    line = raw.rstrip("\n")
    if line == "config|ready":
        out.write("register|filter|smtp-in|data-line\nregister|ready\n")
        out.flush()
    elif line.startswith("filter|"):
        parts = line.split("|", 7)
        out.write("filter-dataline|%s|%s|%s\n" % (parts[5], parts[6], parts[7]))
        if parts[7] == ".":
            out.flush()
