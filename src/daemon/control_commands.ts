// The daemon's side of smtpctl(8): each command of the grammar mapped to what it does to
// the running daemon — its queue, its pause switches, its counters, its log — and the data
// it answers with (the command line formats it, or prints it as JSON).

import type { ControlAnswer, ControlCommand, DaemonStats } from "../control/mod.ts";
import { STAT } from "../control/mod.ts";
import {
  isProfileName,
  isSwitchableLogger,
  isTraceName,
  type Logger,
  setProfiling,
  setTracing,
} from "../log/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import type { EnvelopeSelector } from "../queue/mod.ts";
import type { Runtime } from "./runtime.ts";

/** What smtpctl can pause: local deliveries, relaying, and new SMTP sessions. */
export interface PauseSwitches {
  mda: boolean;
  mta: boolean;
  smtp: boolean;
  /**
   * The envelopes each paused kind turned away (evpids): they, and no other, go again
   * when it resumes; the rest keep their schedule.
   */
  readonly held: { readonly mda: Set<string>; readonly mta: Set<string> };
}

/** Switches with everything running. */
export function runningSwitches(): PauseSwitches {
  return { mda: false, mta: false, smtp: false, held: { mda: new Set(), mta: new Set() } };
}

/** What the commands act on. */
export interface ControlTarget {
  readonly runtime: Runtime;
  readonly stats: DaemonStats;
  readonly paused: PauseSwitches;
  readonly log: Logger;
  /** Re-reads the configuration (`reload`); resolves with what to answer. */
  reload(): Promise<ControlAnswer>;
}

type Handler = (target: ControlTarget, params: readonly string[]) => Promise<ControlAnswer>;

const OK: ControlAnswer = { exit: 0 };

/**
 * Envelopes per frame of a `show queue` listing (smtpctl's and mailq's). A page's JSON
 * (~300 bytes an envelope) stays below V8's large-object size (128 KiB): pages of 1,000
 * went to the large-object space, where a 100,000-envelope listing left ~60 MB of heap
 * the daemon kept.
 */
const LISTING_PAGE = 100;

function selector(params: readonly string[]): EnvelopeSelector {
  const id = params[0];
  return id === undefined ? { all: true } : { id: id.toLowerCase() };
}

const count = (n: number): ControlAnswer => ({ exit: 0, data: { count: n } });

function envelopeCommand(
  act: (t: ControlTarget, s: EnvelopeSelector) => number,
): Handler {
  return (t, params) => Promise.resolve(count(act(t, selector(params))));
}

function pauseSwitch(which: "mda" | "mta" | "smtp", on: boolean): Handler {
  return (t) => {
    t.paused[which] = on;
    t.log.info(`control: ${which} ${on ? "paused" : "resumed"}`);
    // Deliveries refused while paused were tried once: they go now instead of at their
    // next retry. Only those: an envelope waiting out a retry keeps its time.
    if (!on && which !== "smtp") {
      const held = t.paused.held[which];
      const now = Date.now();
      for (const evpid of held) t.runtime.queue.schedule({ id: evpid }, now);
      held.clear();
    }
    return Promise.resolve(OK);
  };
}

// trace/untrace, profile/unprofile: the process's switches (log/trace.ts), logged.
function subsystemSwitch(
  known: (name: string) => boolean,
  set: (name: string, on: boolean) => void,
  what: "trace" | "profile",
  on: boolean,
): Handler {
  return (t, [name = ""]) => {
    if (!known(name)) {
      return Promise.resolve({ exit: 1, error: `invalid ${what} subsystem "${name}"` });
    }
    set(name, on);
    t.log.info(`control: ${on ? "" : "un"}${what} ${name}`);
    return Promise.resolve(OK);
  };
}

function setVerbose(on: boolean): Handler {
  return (t) => {
    if (!isSwitchableLogger(t.log)) {
      return Promise.resolve({ exit: 1, error: "this daemon's log cannot change its level" });
    }
    t.log.setVerbose(on);
    t.log.info(`control: log ${on ? "verbose" : "brief"}`);
    return Promise.resolve(OK);
  };
}

/** The statistics `show stats` prints: the counters, with the queue's size read now. */
export function currentStats(t: ControlTarget): Record<string, number> {
  const queue = t.runtime.queue.stats();
  t.stats.set(STAT.inQueue, queue.queued);
  // The queue by state, read now (the metrics endpoint shows them as gauges).
  t.stats.set("queue.envelope.queued", queue.queued);
  t.stats.set("queue.envelope.failed", queue.failed);
  t.stats.set("queue.message", queue.messages);
  return { ...t.stats.snapshot(), uptime: Math.floor((Date.now() - t.stats.startedAt) / 1000) };
}

const HANDLERS: Partial<Readonly<Record<ControlCommand, Handler>>> = {
  "show queue": (t) =>
    Promise.resolve({
      exit: 0,
      data: { now: Date.now() },
      pages: t.runtime.queue.envelopePages(LISTING_PAGE),
    }),
  // One message's envelopes (smtpctl.c's `show queue <msgid>`): an evpid starts with its msgid.
  "show queue <msgid>": (t, [id = ""]) => {
    const msgid = id.toLowerCase();
    const envelopes = t.runtime.queue.envelopes().filter((e) => e.evpid.startsWith(msgid));
    return Promise.resolve({ exit: 0, data: { envelopes, now: Date.now() } });
  },
  "show envelope <evpid>": (t, [id]) => {
    const found = t.runtime.queue.envelopes().find((e) => e.evpid === id?.toLowerCase());
    return Promise.resolve(
      found ? { exit: 0, data: found } : { exit: 1, error: "unable to retrieve envelope" },
    );
  },
  "show message <id>": async (t, [id = ""]) => {
    const content = await t.runtime.queue.content(id.slice(0, 8).toLowerCase());
    if (!content) return { exit: 1, error: "unable to retrieve message" };
    return { exit: 0, data: { message: toBase64(content) } };
  },
  "show stats": (t) => Promise.resolve({ exit: 0, data: currentStats(t) }),
  monitor: (t) => Promise.resolve({ exit: 0, data: currentStats(t) }),
  "show status": (t) =>
    Promise.resolve({
      exit: 0,
      data: Object.fromEntries(
        (["mda", "mta", "smtp"] as const).map((k) => [k, t.paused[k] ? "paused" : "running"]),
      ),
    }),
  // What the relay's book holds now (mta.c's hosts, routes, relays and hoststats).
  "show hosts": (t) => Promise.resolve({ exit: 0, data: t.runtime.relayBook.hosts() }),
  "show hoststats": (t) => Promise.resolve({ exit: 0, data: t.runtime.relayBook.hoststats() }),
  "show relays": (t) => Promise.resolve({ exit: 0, data: t.runtime.relayBook.relays() }),
  "show routes": (t) => Promise.resolve({ exit: 0, data: t.runtime.relayBook.routes() }),
  "resume route <routeid>": (_t, [id]) =>
    Promise.resolve({ exit: 1, error: `no route ${id} is disabled` }),
  "schedule <id>": envelopeCommand((t, s) => t.runtime.queue.schedule(s, Date.now())),
  "schedule all": envelopeCommand((t, s) => t.runtime.queue.schedule(s, Date.now())),
  // Nothing is moved into this queue by hand: discovering is scheduling what is there.
  "discover <id>": envelopeCommand((t, s) => t.runtime.queue.schedule(s, Date.now())),
  "remove <id>": (t, params) => Promise.resolve(removeEnvelopes(t, selector(params))),
  "remove all": (t, params) => Promise.resolve(removeEnvelopes(t, selector(params))),
  "pause envelope <id>": envelopeCommand((t, s) => t.runtime.queue.pause(s, true)),
  "pause envelope all": envelopeCommand((t, s) => t.runtime.queue.pause(s, true)),
  "resume envelope <id>": envelopeCommand((t, s) => t.runtime.queue.pause(s, false)),
  "resume envelope all": envelopeCommand((t, s) => t.runtime.queue.pause(s, false)),
  "pause mda": pauseSwitch("mda", true),
  "pause mta": pauseSwitch("mta", true),
  "pause smtp": pauseSwitch("smtp", true),
  "resume mda": pauseSwitch("mda", false),
  "resume mta": pauseSwitch("mta", false),
  "resume smtp": pauseSwitch("smtp", false),
  "trace <subsystem>": subsystemSwitch(isTraceName, setTracing, "trace", true),
  "untrace <subsystem>": subsystemSwitch(isTraceName, setTracing, "trace", false),
  "profile <subsystem>": subsystemSwitch(isProfileName, setProfiling, "profile", true),
  "unprofile <subsystem>": subsystemSwitch(isProfileName, setProfiling, "profile", false),
  "log brief": setVerbose(false),
  "log verbose": setVerbose(true),
  "update table <name>": async (t, [name = ""]) => {
    try {
      await t.runtime.reloadTable(name);
    } catch (error) {
      t.log.warn(`control: update table ${name}: ${errorMessage(error)}`);
      return { exit: 1, error: errorMessage(error) };
    }
    t.log.info(`control: table ${name} updated`);
    return OK;
  },
  reload: (t) => t.reload(),
};

// Envelopes being delivered are not removed; how many were left is told, not kept silent.
function removeEnvelopes(t: ControlTarget, s: EnvelopeSelector): ControlAnswer {
  const { removed: n, inFlight } = t.runtime.queue.removeSelected(s);
  t.stats.increment(STAT.removed, n);
  t.stats.increment(STAT.dequeued, n);
  if (n > 0) t.log.info(`control: ${n} envelope${n === 1 ? "" : "s"} removed`);
  return { exit: 0, data: { count: n, inFlight } };
}

// String.fromCharCode takes its arguments on the stack: a large message goes in pieces.
function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** Runs one command; one the daemon does not run itself (encrypt, spf walk) is refused. */
export async function runControlCommand(
  target: ControlTarget,
  request: { readonly command: ControlCommand; readonly params: readonly string[] },
): Promise<ControlAnswer> {
  const handler = HANDLERS[request.command];
  if (!handler) return { exit: 1, error: `"${request.command}" runs in smtpctl itself` };
  try {
    return await handler(target, request.params);
  } catch (error) {
    return { exit: 1, error: errorMessage(error) };
  }
}
