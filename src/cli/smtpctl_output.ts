// How smtpctl prints what the daemon answers, in OpenSMTPD's formats (smtpctl.c): the
// queue listing, an envelope, counters as key=value, monitor's columns, the status
// lines and the "N envelopes scheduled" counts. `--json` prints the data itself instead.

import { formatQueueLine } from "../compat/mod.ts";
import type { Config } from "../config/mod.ts";
import type { ControlCommand } from "../control/mod.ts";
import { ControlUnavailable, STAT } from "../control/mod.ts";
import type { ListedEnvelope } from "../queue/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import {
  formatHosts,
  formatHoststats,
  formatRelays,
  formatRoutes,
  type HostEntry,
  type HoststatEntry,
  type RelayEntry,
  type RouteEntry,
} from "../relay/mod.ts";

/** smtpctl.c's duration_to_text: `1w2d3h4m5s`, zero parts left out. */
export function durationText(seconds: number): string {
  const parts: [number, string][] = [
    [Math.floor(seconds / 604800), "w"],
    [Math.floor(seconds % 604800 / 86400), "d"],
    [Math.floor(seconds % 86400 / 3600), "h"],
    [Math.floor(seconds % 3600 / 60), "m"],
    [seconds % 60, "s"],
  ];
  const text = parts.filter(([n]) => n > 0).map(([n, u]) => `${n}${u}`).join("");
  return text || "0s";
}

/** `show stats`: one `key=value` line per counter, uptime as seconds and as text. */
export function formatStats(stats: Record<string, number>): string[] {
  return Object.entries(stats).sort(([a], [b]) => a < b ? -1 : 1).flatMap(([key, value]) =>
    key === "uptime" ? [`uptime=${value}`, `uptime.human=${durationText(value)}`] : [
      `${key}=${value}`,
    ]
  );
}

/** `show envelope`: the envelope's fields as `key: value` lines, as its queue file. */
export function formatEnvelope(e: ListedEnvelope, config: Config): string[] {
  const action = config.actions.find((a) => a.name === e.action);
  const seconds = (ms: number) => String(Math.floor(ms / 1000));
  return [
    "version: 3",
    `dispatcher: ${e.action}`,
    `type: ${action?.method.kind === "relay" ? "mta" : "mda"}`,
    `sockaddr: ${e.src}`,
    `sender: ${e.sender}`,
    `rcpt: ${e.rcpt}`,
    `dest: ${e.dest ?? e.rcpt}`,
    ...(e.user ? [`mda-user: ${e.user}`] : []),
    `ctime: ${seconds(e.createdAt)}`,
    `last-try: ${seconds(e.lastTry)}`,
    `ttl: ${seconds(e.expiresAt - e.createdAt)}`,
    `retry: ${e.attempts}`,
    `errorline: ${e.lastError ?? ""}`,
    `flags: ${e.paused ? "suspend" : ""}`,
    ...(e.dsnNotify ? [`dsn-notify: ${e.dsnNotify.join(",")}`] : []),
    ...(e.dsnOrcpt ? [`dsn-orcpt: ${e.dsnOrcpt}`] : []),
  ];
}

/** The counters of one monitor line (smtpctl.c's stat_digest). */
export interface MonitorDigest {
  readonly connect: number;
  readonly disconnect: number;
  /** Envelopes in the queue now, those found at start included (`scheduler.envelope`). */
  readonly envelopes: number;
  readonly enqueued: number;
  readonly dequeued: number;
  readonly ok: number;
  readonly tempfail: number;
  readonly permfail: number;
  readonly loop: number;
  readonly expired: number;
  readonly removed: number;
  readonly bounce: number;
}

/** The digest `monitor` shows, from `show stats`'s counters. */
export function digestOf(stats: Record<string, number>): MonitorDigest {
  const v = (k: string) => stats[k] ?? 0;
  return {
    connect: v(STAT.sessionsOpened),
    disconnect: v(STAT.sessionsClosed),
    envelopes: v(STAT.inQueue),
    enqueued: v(STAT.enqueued),
    dequeued: v(STAT.dequeued),
    ok: v(STAT.deliveryOk),
    tempfail: v(STAT.deliveryTempfail),
    permfail: v(STAT.deliveryPermfail),
    loop: v(STAT.deliveryLoop),
    expired: v(STAT.expired),
    removed: v(STAT.removed),
    bounce: v(STAT.bounces),
  };
}

/** monitor's two header lines, printed every 25 lines. */
export const MONITOR_HEADER = [
  "--- client ---  -- envelope --   ---- relay/delivery --- ------- misc -------",
  "curr conn disc  curr  enq  deq   ok tmpfail prmfail loop expire remove bounce",
];

/** One monitor line: absolute current values, increments for the rest. */
export function formatMonitorLine(now: MonitorDigest, last: MonitorDigest): string {
  const p = (n: number) => String(n).padStart(4);
  const d = (k: keyof MonitorDigest) => p(now[k] - last[k]);
  return `${p(now.connect - now.disconnect)} ${d("connect")} ${d("disconnect")}  ` +
    `${p(now.envelopes)} ${d("enqueued")} ${d("dequeued")} ` +
    `${d("ok")}    ${d("tempfail")}    ${d("permfail")} ${d("loop")}   ` +
    `${d("expired")}   ${d("removed")}   ${d("bounce")}`;
}

const plural = (n: number, verb: string) => `${n} envelope${n > 1 ? "s" : ""} ${verb}`;

/** The text smtpctl prints for a command's data (OpenSMTPD's wording). */
export function formatAnswer(
  command: ControlCommand,
  data: unknown,
  context: { config: Config; offline?: boolean },
): string[] {
  const n = (data as { count?: number } | undefined)?.count ?? 0;
  switch (command) {
    case "show queue":
    case "show queue <msgid>": {
      const { envelopes, now } = data as { envelopes: ListedEnvelope[]; now: number };
      return envelopes.map((e) => formatQueueLine(e, context.config, now, context.offline));
    }
    case "show envelope <evpid>":
      return formatEnvelope(data as ListedEnvelope, context.config);
    case "show stats":
      return formatStats(data as Record<string, number>);
    case "show status": {
      const s = data as Record<string, string>;
      return [`MDA ${s["mda"]}`, `MTA ${s["mta"]}`, `SMTP ${s["smtp"]}`];
    }
    case "show hosts":
      return formatHosts(data as HostEntry[], Date.now());
    case "show hoststats":
      return formatHoststats(data as HoststatEntry[]);
    case "show relays":
      return formatRelays(data as RelayEntry[], Date.now());
    case "show routes":
      return formatRoutes(data as RouteEntry[]);
    case "schedule <id>":
    case "schedule all":
      return [plural(n, "scheduled")];
    case "remove <id>":
    case "remove all": {
      // OpenSMTPD's line, and the envelopes left to the deliveries holding them.
      const held = (data as { inFlight?: number } | undefined)?.inFlight ?? 0;
      return [plural(n, "removed") + (held > 0 ? `, ${held} in flight not removed` : "")];
    }
    case "pause envelope <id>":
    case "pause envelope all":
      return [plural(n, "paused")];
    case "resume envelope <id>":
    case "resume envelope all":
      return [plural(n, "resumed")];
    case "discover <id>":
      return [`${n} envelope${n !== 1 ? "s" : ""} discovered`];
    default:
      return ["command succeeded"];
  }
}

/** What smtpctl says when the daemon could not be asked: no socket, or no answer on it. */
export function describeControlFailure(error: unknown): string {
  return error instanceof ControlUnavailable
    ? `smtpctl: smtpd doesn't seem to be running (${errorMessage(error)})`
    : `smtpctl: ${errorMessage(error)}`;
}
