// `forward-only` and `expand-only` decided at RCPT, as OpenSMTPD's lka_session.c expands a
// recipient before answering: the recipient is expanded now (aliases, virtual, ~/.forward)
// and refused when a local user in it would get the mail directly, not at delivery.

import { withTableLookups } from "../tables/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import { createLocalAgents } from "./agents.ts";
import { expandEnvelope } from "./expand.ts";
import { failureOfTarget } from "./failed_child.ts";
import { type DeliveryRouterOptions, expandContext, userSource } from "./router.ts";

/** A recipient the expansion refuses: its whole SMTP reply, permanent or not. */
export interface RcptRefusal {
  readonly permanent: boolean;
  readonly reply: string;
  readonly reason: string;
}

/** What is asked about one accepted recipient. */
export interface RcptExpansionRequest {
  readonly action: string;
  readonly rcpt: string;
  readonly sender: string;
  readonly user?: string;
}

/** Answers undefined when the recipient may be taken, else why not. */
export type RcptExpansionCheck = (
  request: RcptExpansionRequest,
) => Promise<RcptRefusal | undefined>;

/**
 * The check for a configuration: only recipients of `forward-only` and `expand-only`
 * actions are expanded (others are at delivery). A local user the mail would stay with
 * (no ~/.forward, or `\user`) is a `424 4.2.4` for forward-only (OpenSMTPD tempfails it:
 * the user may yet write a .forward) and a `524 5.2.4` for expand-only; a file or a
 * command in a forward-only expansion is a 424 too; an address no rule accepts is a 550.
 */
export function createRcptExpansionCheck(options: DeliveryRouterOptions): RcptExpansionCheck {
  const actions = new Map(options.config.actions.map((a) => [a.name, a] as const));
  const tables = options.tables ?? new Map();
  const agents = options.agents ??
    createLocalAgents({ config: options.config, log: options.log, asUsers: !!options.asUsers });
  const settings = { ...options, agents };
  return async (request) => {
    const action = actions.get(request.action);
    const kind = action?.method.kind;
    if (!action || (kind !== "forward-only" && kind !== "expand-only")) return undefined;
    const refused = (permanent: boolean, reason: string): RcptRefusal => ({
      permanent,
      reason,
      reply: permanent
        ? `524 5.2.4 Mailing list expansion problem: <${request.rcpt}>`
        : `424 4.2.4 Mailing list expansion problem: <${request.rcpt}>`,
    });
    const users = userSource(action, tables, options);
    const envelope = {
      evpid: "0000000000000000",
      msgid: "00000000",
      sender: request.sender,
      rcpt: request.rcpt,
      action: action.name,
      ...(request.user === undefined ? {} : { user: request.user }),
      createdAt: 0,
      attempts: 0,
      expiresAt: 0,
      warned: 0,
    };
    let expansion;
    try {
      expansion = await withTableLookups(() =>
        expandEnvelope(envelope, expandContext(action, tables, users, request.sender, settings))
      );
    } catch (error) {
      return refused(false, `cannot expand: ${errorMessage(error)}`);
    }
    if (expansion.kind === "error") {
      return {
        permanent: expansion.permanent,
        reason: expansion.reason,
        reply: expansion.permanent
          ? `550 5.1.1 Invalid recipient: <${request.rcpt}>`
          : `451 4.3.0 Temporary failure: <${request.rcpt}>`,
      };
    }
    const forwardOnly = kind === "forward-only";
    if (expansion.kind === "deliver") {
      return refused(!forwardOnly, `${expansion.user.name} has no .forward (${kind})`);
    }
    for (const child of expansion.children) {
      const failure = failureOfTarget(child.target);
      if (failure !== undefined) {
        return {
          permanent: true,
          reason: failure,
          reply: `550 5.1.1 Invalid recipient: <${request.rcpt}>`,
        };
      }
      if (child.action !== action.name) continue;
      const target = child.target ?? "";
      const local = !target.startsWith("|") && !target.startsWith("/");
      if (local) return refused(!forwardOnly, `${target} would keep the mail (${kind})`);
      if (forwardOnly) return refused(false, `${target} in a forward-only expansion`);
    }
    return undefined;
  };
}
