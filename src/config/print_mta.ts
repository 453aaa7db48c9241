// `mta limit` and `mta rate` written back from the model, in the modern grammar.

import { quoteString as q } from "./lexer.ts";
import type { MtaLimits, MtaLimitSet, Rate } from "./model_mta.ts";
import { formatDuration } from "./units.ts";

/** The statements that give `set` back when parsed. */
export function printMtaLimits(set: MtaLimitSet | undefined): string[] {
  if (!set) return [];
  const lines = statements("", set.default);
  for (const [domain, limits] of set.domains) {
    lines.push(...statements(` for domain ${q(domain)}`, limits));
  }
  return lines;
}

function statements(scope: string, limits: MtaLimits): string[] {
  const keys: string[] = [];
  if (limits.family) keys.push(limits.family);
  for (const [name, value] of Object.entries(limits.maxConn ?? {})) {
    keys.push(`max-conn-per-${name} ${value}`);
  }
  if (limits.connDelay !== undefined) keys.push(`conn-delay-domain ${limits.connDelay}`);
  if (limits.sessionMailMax !== undefined) keys.push(`session-mail-max ${limits.sessionMailMax}`);
  if (limits.sessionKeepalive !== undefined) {
    keys.push(`session-keepalive ${limits.sessionKeepalive}`);
  }
  for (const { key, value } of limits.withoutEffect ?? []) keys.push(`${key} ${value}`);
  const rates = [
    ...(limits.mailRate ? [rate(limits.mailRate, "mails")] : []),
    ...(limits.connRate ? [rate(limits.connRate, "connections")] : []),
  ];
  return [
    ...(keys.length > 0 ? [`mta limit${scope} ${keys.join(" ")}`] : []),
    ...(rates.length > 0 ? [`mta rate${scope} ${rates.join(", ")}`] : []),
  ];
}

function rate(r: Rate, what: string): string {
  return `${r.count} ${what} per ${formatDuration(r.seconds)}`;
}
