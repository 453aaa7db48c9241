// One decision per recipient for every way mail comes in (listeners, the local socket,
// sendmail's own queueing and -bs): the ruleset's verdict, then, for forward-only and
// expand-only actions, the recipient's expansion (delivery/rcpt_expansion.ts).

import type { Config } from "../config/mod.ts";
import type { EnvelopeFacts, RuleVerdict } from "../rules/mod.ts";
import type { Runtime } from "./runtime.ts";

/** A verdict as the ruleset gives it, maybe after waiting for a table. */
export type MaybeVerdict = RuleVerdict | Promise<RuleVerdict>;

/**
 * Wraps a decision so that a recipient accepted by a forward-only or expand-only action is
 * expanded before it is answered, and refused (424, 524, 550) when the expansion says so.
 */
export function withRcptExpansion<A extends unknown[]>(
  runtime: Pick<Runtime, "checkAtRcpt"> & { readonly config: Config },
  decide: (...args: [...A, EnvelopeFacts]) => MaybeVerdict,
): (...args: [...A, EnvelopeFacts]) => MaybeVerdict {
  const expanding = new Set(
    runtime.config.actions.filter((a) =>
      a.method.kind === "forward-only" || a.method.kind === "expand-only"
    ).map((a) => a.name),
  );
  if (expanding.size === 0) return decide;
  const after = (verdict: RuleVerdict, envelope: EnvelopeFacts): MaybeVerdict => {
    if (verdict.kind !== "accept" || !expanding.has(verdict.action)) return verdict;
    return runtime.checkAtRcpt({
      action: verdict.action,
      rcpt: verdict.dest ?? envelope.rcptTo,
      sender: envelope.mailFrom,
      ...(verdict.user === undefined ? {} : { user: verdict.user }),
    }).then((refusal): RuleVerdict =>
      refusal
        ? {
          kind: refusal.permanent ? "reject" : "tempfail",
          reason: refusal.reason,
          reply: refusal.reply,
        }
        : verdict
    );
  };
  return (...args) => {
    const envelope = args[args.length - 1] as EnvelopeFacts;
    const verdict = decide(...args);
    return verdict instanceof Promise
      ? verdict.then((v) => after(v, envelope))
      : after(verdict, envelope);
  };
}
