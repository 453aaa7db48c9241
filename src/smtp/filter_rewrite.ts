// A filter's `rewrite` of a command's argument: smtpd-filters(7) expects "a valid SMTP
// parameter for the command", and OpenSMTPD's smtp_session.c runs the command's check
// again on it (`if (!commands[i].check(s, filter_param)) break;`), so a rewrite gets the
// same refusal the client would for that argument, and the command does not run.

import type { ChainRewrite } from "../filters/mod.ts";
import type { CheckResult } from "./check_result.ts";
import type { Command } from "./commands.ts";
import { formatReply } from "./replies.ts";
import type { Session } from "./session.ts";

/**
 * The command's arguments with the rewrite in place, for its check; undefined for a
 * command without an argument to rewrite (DATA, STARTTLS, AUTH's exchange).
 *
 * For MAIL and RCPT the value is the path: `<address> [params]` as OpenSMTPD's filters
 * write it (it replaces the whole argument), or a bare address (what the filter is
 * shown), put in angle brackets with the client's parameters kept. An empty value is
 * no address: the check refuses it, as OpenSMTPD's does.
 */
export function rewrittenArgs(verb: string, args: string, value: string): string | undefined {
  if (verb === "HELO" || verb === "EHLO") return value;
  if (verb !== "MAIL" && verb !== "RCPT") return undefined;
  const prefix = args.slice(0, args.indexOf(":") + 1);
  if (value === "" || value.startsWith("<") || /[<>]/.test(value)) return prefix + value;
  const close = args.indexOf(">");
  return `${prefix}<${value}>${close < 0 ? "" : args.slice(close + 1)}`;
}

/**
 * Checks the rewritten argument as the command's own: the parsed argument to run with,
 * `undefined` when the command has none to rewrite, or `null` when the check refused it
 * (the session has replied, and the refusal is logged naming the filter).
 */
export async function checkRewrite(
  s: Session,
  command: Command<unknown>,
  options: { readonly args: string; readonly rewrite: ChainRewrite; readonly phase: string },
): Promise<{ readonly argument: unknown } | undefined | null> {
  const { args, rewrite, phase } = options;
  const next = rewrittenArgs(command.verb, args, rewrite.value);
  if (next === undefined) return undefined;
  const checked: CheckResult<unknown> = command.check
    ? await command.check(s, next)
    : { kind: "accept", argument: undefined };
  if (checked.kind === "accept") return { argument: checked.argument };
  s.context.log.warn(
    `smtp-in: session ${s.id} ${phase}: filter ${rewrite.filter} rewrote the argument to "${rewrite.value}", which the command refuses: ${
      formatReply(checked.reply).trimEnd()
    }`,
  );
  if (checked.kind === "protocol-error") s.protocolError(checked.reply);
  else if (checked.kind === "hang-up") s.hangUp(checked.reply);
  else s.reply(checked.reply);
  return null;
}
