// What a destination's pace does to a delivery: mail that may not go yet is held back to
// its slot (a temporary failure that names the moment, not an attempt), and a "too fast"
// reply slows the destination down, with a log line saying so.

import type { MtaLimits } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { DeliveryResult } from "../mail/mod.ts";
import { connectionRate, describeRate } from "./limits.ts";
import { type DestinationPace, SLOW_DOWN_MS, TOO_FAST_REGEXP } from "./pace.ts";

/** A destination's pace and limits, for one delivery. */
export interface Paced {
  readonly pace: DestinationPace;
  readonly destination: string;
  readonly limits: MtaLimits;
  readonly log: Logger;
}

/** The result for mail held back until `at` (Unix ms) by the mail or connection pace. */
export function heldBack(paced: Paced, what: "mails" | "connections", at: number): DeliveryResult {
  const { pace, destination, limits } = paced;
  const rate = what === "mails"
    ? pace.mailRate(destination, limits.mailRate)
    : connectionRate(limits);
  const shown = rate ? describeRate(rate, what) : what;
  const reason = `4.7.0 ${destination}: pace of ${shown} reached, held until ${
    new Date(at).toISOString()
  }`;
  return { kind: "tempfail", reason, notBefore: at };
}

/** Slows the destination down when one of the replies says it is going too fast. */
export function noteTooFast(paced: Paced, results: readonly DeliveryResult[]): void {
  const reply = results.find((r) => r.kind === "tempfail" && TOO_FAST_REGEXP.test(r.reason));
  if (!reply || reply.kind === "ok") return;
  const { pace, destination, limits, log } = paced;
  const slowed = pace.slowDown(destination, limits.mailRate);
  log.info(
    `mta: slowing down ${destination} to ${describeRate(slowed, "mails")} for ${
      SLOW_DOWN_MS / 60_000
    }m after "${reply.reason.slice(0, 200)}"`,
  );
}
