// `mta limit [for domain D] …` (and the legacy `limit mta …`), OpenSMTPD's parse.y grammar
// with limit.c's keys, and `mta rate [for domain D] N mails|connections per D …` (ours).
// Keys that mean nothing to this MTA are accepted with a warning naming where they stand.

import { type ConfigBuilder, parseCount } from "./builder.ts";
import type { ConnectionScope, MtaLimits, Rate } from "./model_mta.ts";
import { StatementError, type TokenStream } from "./stream.ts";
import { parseDuration } from "./units.ts";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const SCOPES: readonly ConnectionScope[] = [
  "host",
  "route",
  "source",
  "connector",
  "relay",
  "domain",
];

/** limit.c keys with no counterpart here: the scheduler's tasks, route reconnects, pacing. */
const WITHOUT_EFFECT: readonly string[] = [
  "conn-delay-host",
  "conn-delay-route",
  "conn-delay-source",
  "conn-delay-connector",
  "reconn-delay-route",
  "session-transaction-delay",
  "max-failures-per-session",
  "task-hiwat",
  "task-lowat",
  "task-release",
];

const EFFECTIVE: readonly string[] = [
  ...SCOPES.map((s) => `max-conn-per-${s}`),
  "conn-delay-domain",
  "conn-delay-relay",
  "session-mail-max",
  "session-keepalive",
];

/** The limits `for domain D` names, or the default, as the builder keeps them. */
function limitsOf(stream: TokenStream, builder: ConfigBuilder): Mutable<MtaLimits> {
  if (!stream.accept("for")) return builder.mtaLimits.default;
  stream.expectKeyword("domain");
  const domain = stream.value("a domain").value.toLowerCase().replace(/\.$/, "");
  let limits = builder.mtaLimits.domains.get(domain);
  if (!limits) builder.mtaLimits.domains.set(domain, limits = {});
  return limits;
}

/** `mta limit [for domain D] (inet4 | inet6 | KEY NUMBER)…`, after `mta limit` or `limit mta`. */
export function parseMtaLimit(stream: TokenStream, builder: ConfigBuilder): void {
  const limits = limitsOf(stream, builder);
  builder.mtaLimitsUsed = true;
  if (stream.atEnd()) throw stream.unexpected(stream.peek(), "inet4, inet6 or a limit");
  while (!stream.atEnd()) {
    const key = stream.expectWord("inet4, inet6 or a limit");
    if (key.value === "inet4" || key.value === "inet6") {
      limits.family = key.value;
      continue;
    }
    if (WITHOUT_EFFECT.includes(key.value)) {
      const value = parseCount(stream, "number");
      // Named in the modern spelling whatever the grammar, as the printer writes it.
      builder.ignored.push({ what: `mta limit ${key.value}`, position: key.position });
      limits.withoutEffect = [...(limits.withoutEffect ?? []), { key: key.value, value }];
      continue;
    }
    if (!EFFECTIVE.includes(key.value)) {
      throw stream.unknown(key, [...EFFECTIVE, ...WITHOUT_EFFECT], "mta limit");
    }
    const at = stream.peek().position;
    const value = parseCount(stream, "number");
    if (key.value.startsWith("max-conn-per-") || key.value === "session-mail-max") {
      if (value < 1) throw new StatementError(`"${key.value}" is at least 1`, at);
    }
    if (key.value.startsWith("max-conn-per-")) {
      limits.maxConn = { ...limits.maxConn, [key.value.slice(13)]: value };
    } else if (key.value === "session-mail-max") limits.sessionMailMax = value;
    else if (key.value === "session-keepalive") limits.sessionKeepalive = value;
    else limits.connDelay = Math.max(limits.connDelay ?? 0, value);
  }
}

/**
 * `mta rate [for domain D] N mails|connections per second|minute|hour|DURATION …`: at
 * most N in any such window, for the destination (or every destination by default).
 */
export function parseMtaRate(stream: TokenStream, builder: ConfigBuilder): void {
  const limits = limitsOf(stream, builder);
  builder.mtaLimitsUsed = true;
  do {
    if (stream.peek().kind === ",") stream.next();
    const at = stream.peek().position;
    const count = parseCount(stream, "a number of mails or connections");
    if (count < 1) throw new StatementError("A rate counts at least 1", at);
    const what = stream.expectWord("mails or connections");
    if (!["mails", "mail", "connections", "connection"].includes(what.value)) {
      throw stream.unknown(what, ["mails", "connections"], "rate");
    }
    stream.expectKeyword("per");
    const rate: Rate = { count, seconds: parseWindow(stream) };
    if (what.value.startsWith("mail")) limits.mailRate = rate;
    else limits.connRate = rate;
  } while (!stream.atEnd());
}

const WINDOWS: Readonly<Record<string, number>> = { second: 1, minute: 60, hour: 3600, day: 86400 };

function parseWindow(stream: TokenStream): number {
  const token = stream.value("second, minute, hour or a duration");
  const seconds = WINDOWS[token.value] ?? parseDuration(token.value);
  if (seconds === undefined || seconds < 1) {
    throw new StatementError(
      `Bad rate window "${token.value}": second, minute, hour, day or a duration such as 10s`,
      token.position,
    );
  }
  return seconds;
}
