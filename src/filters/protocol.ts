// The smtpd-filters(7) line protocol, protocol version 0.7 as libopensmtpd 0.7 speaks it:
// the configuration handshake, report and filter lines out, register, filter-result and
// filter-dataline lines in. Pure text; the process and its pipes are in proc_filter.ts.

import type { FilterDecision, FilterPhase } from "./hook.ts";

/** The protocol version written in every report and filter line. */
export const PROTOCOL_VERSION = "0.7";

/** The version announced as `config|smtpd-version|…`. */
export const SMTPD_VERSION = "7.6.0";

/** The handshake lines smtpd sends before `config|ready` (smtpd-filters(7) CONFIGURATION). */
export function configLines(sessionTimeoutSeconds: number, admd: string): string[] {
  return [
    `config|smtpd-version|${SMTPD_VERSION}`,
    `config|protocol|${PROTOCOL_VERSION}`,
    `config|smtp-session-timeout|${sessionTimeoutSeconds}`,
    "config|subsystem|smtp-in",
    `config|admd|${admd}`,
    "config|ready",
  ];
}

/** `seconds.microseconds`, as the protocol's timestamps are written. */
export function timestamp(nowMs = Date.now()): string {
  const seconds = Math.floor(nowMs / 1000);
  const micros = Math.floor((nowMs % 1000) * 1000);
  return `${seconds}.${String(micros).padStart(6, "0")}`;
}

/** `report|0.7|TS|smtp-in|EVENT|SESSION|PARAMS…` */
export function reportLine(event: string, session: string, params: readonly string[]): string {
  return ["report", PROTOCOL_VERSION, timestamp(), "smtp-in", event, session, ...params]
    .join("|");
}

/** `filter|0.7|TS|smtp-in|PHASE|SESSION|TOKEN|PARAMS…` */
export function filterLine(
  phase: FilterPhase,
  ids: { readonly session: string; readonly token: string },
  params: readonly string[],
): string {
  return [
    "filter",
    PROTOCOL_VERSION,
    timestamp(),
    "smtp-in",
    phase,
    ids.session,
    ids.token,
    // lka_filter.c writes the parameter field even when it is empty (`…|TOKEN|`).
    ...(params.length === 0 ? [""] : params),
  ].join("|");
}

/** One line from a filter process, parsed. */
export type FilterOutput =
  | { readonly kind: "register"; readonly stream: "report" | "filter"; readonly event: string }
  | { readonly kind: "register-ready" }
  | {
    readonly kind: "result";
    readonly session: string;
    readonly token: string;
    readonly decision: FilterDecision;
  }
  | { readonly kind: "dataline"; readonly session: string; readonly token: string; line: string }
  | { readonly kind: "invalid"; readonly reason: string };

const REPLY_REGEXP = /^[45]\d\d[ -]/;

/**
 * Parses one line a filter wrote. `|` may appear in the last field only (smtpd-filters(7)
 * PROTOCOL), so the line is split a fixed number of times.
 */
export function parseFilterOutput(line: string): FilterOutput {
  if (line === "register|ready") return { kind: "register-ready" };
  const [kind] = line.split("|", 1);
  if (kind === "register") {
    const [, stream, subsystem, event] = line.split("|");
    if ((stream !== "report" && stream !== "filter") || subsystem !== "smtp-in" || !event) {
      return { kind: "invalid", reason: `bad register line "${line}"` };
    }
    return { kind: "register", stream, event };
  }
  if (kind === "filter-dataline") {
    const parts = splitLimit(line, 4);
    if (parts.length < 4) return { kind: "invalid", reason: `bad filter-dataline "${line}"` };
    return { kind: "dataline", session: parts[1]!, token: parts[2]!, line: parts[3]! };
  }
  if (kind === "filter-result") {
    const parts = splitLimit(line, 5);
    if (parts.length < 4) return { kind: "invalid", reason: `bad filter-result "${line}"` };
    const decision = parseDecision(parts[3]!, parts[4]);
    if ("reason" in decision) return { kind: "invalid", reason: decision.reason };
    return { kind: "result", session: parts[1]!, token: parts[2]!, decision };
  }
  return { kind: "invalid", reason: `unknown line "${line}"` };
}

function parseDecision(
  verb: string,
  param: string | undefined,
): FilterDecision | { reason: string } {
  switch (verb) {
    case "proceed":
      return { kind: "proceed" };
    case "junk":
      return { kind: "junk" };
    case "reject":
    case "disconnect":
      if (param === undefined || !REPLY_REGEXP.test(`${param} `)) {
        return { reason: `${verb} without a 4xx or 5xx reply: "${param ?? ""}"` };
      }
      return { kind: verb, reply: param };
    case "rewrite":
      // OpenSMTPD's lka_filter.c ends on a rewrite without its parameter ("Missing
      // parameter"); an empty one is a parameter, which the command's check then judges.
      if (param === undefined) return { reason: "rewrite without a parameter" };
      return { kind: "rewrite", value: param };
    case "report":
      return { kind: "report", value: param ?? "" };
  }
  return { reason: `unknown decision "${verb}"` };
}

// Splits at the first `count - 1` bars; the last field keeps any further bars.
function splitLimit(line: string, count: number): string[] {
  const parts: string[] = [];
  let rest = line;
  while (parts.length < count - 1) {
    const bar = rest.indexOf("|");
    if (bar < 0) break;
    parts.push(rest.slice(0, bar));
    rest = rest.slice(bar + 1);
  }
  parts.push(rest);
  return parts;
}
