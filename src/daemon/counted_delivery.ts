// The scheduler's delivery function as the daemon runs it: held back while smtpctl has
// paused its kind (mda: local deliveries, mta: relaying), and counted in the daemon's
// stats by outcome, the one place deliveries are counted.

import type { Config } from "../config/mod.ts";
import { type DaemonStats, STAT } from "../control/mod.ts";
import { tempfail } from "../mail/mod.ts";
import { trace } from "../log/mod.ts";
import type { DeliverFunction } from "../queue/mod.ts";
import type { PauseSwitches } from "./control_commands.ts";
import { agentOfAction } from "./delivery_agents.ts";

/** Wraps `deliver`: paused kinds (of the current configuration) get a temporary failure, every outcome is counted. */
export function countedDelivery(
  deliver: DeliverFunction,
  options: { config: () => Config; stats: DaemonStats; paused: PauseSwitches },
): DeliverFunction {
  const { config, stats, paused } = options;
  return async (envelope, content, context) => {
    const kind = agentOfAction(config())(envelope);
    if (paused[kind]) {
      paused.held[kind].add(envelope.evpid);
      return tempfail(`${kind} is paused (smtpctl pause ${kind})`);
    }
    trace("scheduler", () => `${envelope.evpid}: to ${kind}, attempt ${envelope.attempts + 1}`);
    const outcome = await deliver(envelope, content, context);
    trace(
      "scheduler",
      () =>
        `${envelope.evpid}: ${outcome.kind}${"reason" in outcome ? ` (${outcome.reason})` : ""}`,
    );
    if (outcome.kind === "ok") {
      stats.increment(STAT.deliveryOk);
      stats.increment(STAT.dequeued);
    } else if (outcome.kind === "tempfail") {
      stats.increment(STAT.deliveryTempfail);
    } else if (outcome.kind === "permfail") {
      stats.increment(STAT.deliveryPermfail);
      stats.increment(STAT.dequeued);
    }
    return outcome;
  };
}
