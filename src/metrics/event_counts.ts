// What the daemon's log events add to its counters: the lines an operator reads and the
// numbers `smtpctl show stats` and the metrics endpoint show come from the same events.

import type { LogEvent } from "../log/mod.ts";

/** Where counts go (the daemon's one set of counters, src/control/stats.ts). */
export interface Counters {
  increment(key: string, n?: number): void;
}

// Commands an SMTP client may send; anything else is counted as "other", so a client
// cannot grow the set of label values.
const VERBS = new Set([
  "HELO",
  "EHLO",
  "LHLO",
  "STARTTLS",
  "AUTH",
  "MAIL",
  "RCPT",
  "DATA",
  "BDAT",
  "RSET",
  "VRFY",
  "EXPN",
  "HELP",
  "NOOP",
  "QUIT",
]);

const RESULTS: Readonly<Record<string, string>> = {
  Ok: "ok",
  TempFail: "tempfail",
  PermFail: "permfail",
};

/** Counts one event: `smtp.tls`, `smtp.auth.*`, `smtp.refused.VERB.CODE`, messages, envelopes, bytes, relays. */
export function countEvent(counters: Counters, event: LogEvent): void {
  const f = event.fields;
  const text = (key: string) => {
    const value = f[key];
    return typeof value === "object" ? value.quoted : String(value ?? "");
  };
  if (event.subsystem === "smtp") {
    switch (event.event) {
      case "tls":
        return counters.increment("smtp.tls");
      case "authentication":
        return counters.increment(`smtp.auth.${text("result")}`);
      case "failed-command": {
        const verb = text("command").split(" ")[0]!.toUpperCase();
        const code = /^\d{3}/.exec(text("result"))?.[0] ?? "000";
        return counters.increment(`smtp.refused.${VERBS.has(verb) ? verb : "other"}.${code}`);
      }
      case "message":
        counters.increment("smtp.message.accepted");
        return counters.increment("smtp.message.bytes", Number(text("size")) || 0);
      case "envelope":
        return counters.increment("smtp.envelope.accepted");
    }
    return;
  }
  if (event.subsystem === "mta" && event.event === "delivery") {
    counters.increment(`mta.relay.${RESULTS[text("result")] ?? "other"}`);
  }
}
