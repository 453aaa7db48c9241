// `smtpctl monitor`: the daemon's counters once a second, as OpenSMTPD prints them — the
// first line current values, then what changed since the line before (absolute values
// for the current clients and envelopes), the header again every 25 lines.

import { EX } from "../mail/mod.ts";
import type { SmtpctlContext } from "./smtpctl.ts";
import {
  describeControlFailure,
  digestOf,
  formatMonitorLine,
  MONITOR_HEADER,
  type MonitorDigest,
} from "./smtpctl_output.ts";

const ZERO: MonitorDigest = digestOf({});

/** Prints a line a second until stopped (or until the daemon goes: exit 1). */
export async function runMonitor(context: SmtpctlContext): Promise<number> {
  let last = ZERO;
  for (let count = 0;; count++) {
    let stats: Record<string, number>;
    try {
      const answer = await context.ask("monitor");
      if (answer.exit !== 0) {
        console.error(`smtpctl: ${answer.error ?? "command failed"}`);
        return answer.exit;
      }
      stats = answer.data as Record<string, number>;
    } catch (error) {
      console.error(describeControlFailure(error));
      return EX.FAILURE;
    }
    const digest = digestOf(stats);
    if (context.json) {
      console.log(JSON.stringify(digest));
    } else {
      if (count % 25 === 0) {
        if (count !== 0) console.log("");
        console.log(MONITOR_HEADER.join("\n"));
      }
      console.log(formatMonitorLine(digest, last));
    }
    last = digest;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
