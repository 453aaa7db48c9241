// The daemon's SMTP listeners for one configuration, and how a reload moves them to the
// next: listeners in both keep their socket and take the new settings for new sessions,
// added ones open, removed ones close (a message under way may finish). Everything the new
// ones need (certificates, AUTH tables) is read before anything changes.

import type { Config, Listener } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import type { Authenticator } from "../auth/mod.ts";
import {
  type SmtpLimits,
  type SmtpListenerOptions,
  type SmtpServer,
  startSmtpServer,
} from "../smtp/mod.ts";
import { listenerTls } from "./certificates.ts";
import { listenerAuth } from "./listener_auth.ts";
import { listenerBindings } from "./listen_addresses.ts";
import { createRdnsResolver, type RdnsOptions } from "./rdns.ts";
import type { NewMessage } from "../queue/mod.ts";
import type { EnvelopeFacts, SessionFacts } from "../rules/mod.ts";
import { withRcptExpansion } from "./rcpt_decision.ts";
import type { Runtime } from "./runtime.ts";
import type { FilterSet } from "../filters/mod.ts";
import { withTableLookups } from "../tables/mod.ts";
import { srsKeysOf, withSrsReverse } from "./srs_reverse.ts";

/** What every listener of the daemon shares, whatever the configuration. */
export interface ListenerEnvironment {
  readonly log: Logger;
  readonly dns?: RdnsOptions;
  readonly authenticate?: Authenticator;
  readonly isLocalAddress: (ip: string) => boolean;
  readonly paused: () => boolean;
  /** Told of each session that opens and ends, with its listener's name for the counters. */
  readonly onSession: (event: "open" | "close", listener: string) => void;
  /** Commits a message (timed for the metrics). */
  readonly submit: (message: NewMessage) => Promise<void>;
  /** A queue id no queued message has, for a transaction to be known by from MAIL FROM. */
  readonly newMsgid?: () => string;
  /** The filters started with the daemon, which each listener's chain is drawn from. */
  readonly filters?: FilterSet;
}

/** Listener settings by where they listen (`ADDRESS PORT`, or `socket`). */
export type ListenerPlan = Map<string, SmtpListenerOptions>;

/** The settings of every listener of a configuration, its rules those of `runtime`. */
export async function planListeners(
  runtime: Runtime,
  env: ListenerEnvironment,
): Promise<ListenerPlan> {
  const { config, baseDir, serverName, queueDir, tables } = runtime;
  // Reverse DNS costs a lookup per connection: done only when a rule asks about it.
  // Filters are told the client's name at link-connect, and builtin ones may test it.
  const wantsRdns = (env.filters !== undefined && config.filters.length > 0) ||
    config.matches.some((m) => m.criteria.some((c) => c.kind === "from-rdns"));
  const resolveRdns = wantsRdns ? createRdnsResolver(env.dns ?? {}) : undefined;
  const decide = decisionsOf(runtime);
  const plan: ListenerPlan = new Map();
  for (const [listener, address] of await listenerBindings(config.listeners, env.log)) {
    const tls = await listenerTls(config, listener, { baseDir, serverName });
    // A `ciphers` list is warned of where the configuration is read (-n, the start).
    const auth = listenerAuth(listener, tables, env.authenticate);
    plan.set(listenerKey(listener, address), {
      ...(listener.address === "socket" ? { socketPath: `${queueDir}/smtpd.sock` } : {}),
      ...(tls ? { tls } : {}),
      ...(auth ? { auth } : {}),
      ...(listener.noDsn ? { dsn: false } : {}),
      ...(listener.maskSource ? { maskSource: true } : {}),
      ...(listener.proxyV2 ? { proxyV2: true } : {}),
      address,
      port: listener.port,
      hostname: listener.hostname ?? serverName,
      ...hostnamesOf(listener, tables),
      ...(listener.tag === undefined ? {} : { tag: listener.tag }),
      limits: sessionLimits(config),
      decide,
      paused: env.paused,
      onSession: (event) => env.onSession(event, listenerLabel(listener, address)),
      submit: env.submit,
      ...(env.newMsgid ? { newMsgid: env.newMsgid } : {}),
      isLocalAddress: env.isLocalAddress,
      ...(resolveRdns ? { resolveRdns } : {}),
      ...withFilters(env.filters?.planFor(listener.filters)),
      log: env.log,
    });
  }
  return plan;
}

// `hostnames <t>`: the name by local address (an IPv6 one bracketed or not); a table that
// cannot answer leaves the listener's own name.
function hostnamesOf(
  listener: Listener,
  tables: Runtime["tables"],
): Pick<SmtpListenerOptions, "hostnameOf"> {
  const name = listener.hostnames?.name;
  if (name === undefined) return {};
  return {
    hostnameOf: (address) => {
      const table = tables.tables.get(name);
      try {
        return table?.lookup("addrname", address) ??
          (address.includes(":") ? table?.lookup("addrname", `[${address}]`) : undefined);
      } catch {
        return undefined;
      }
    },
  };
}

// A listener's name in the counters: its tag, else where it listens.
function listenerLabel(listener: Listener, address: string): string {
  if (listener.tag !== undefined) return listener.tag;
  return address.includes(":") ? `[${address}]:${listener.port}` : `${address}:${listener.port}`;
}

function withFilters<T>(plan: T | undefined): { filters?: T } {
  return plan === undefined ? {} : { filters: plan };
}

function listenerKey(listener: Listener, address: string): string {
  return listener.address === "socket" ? "socket" : `${address} ${listener.port}`;
}

// This configuration's rules (after a table reload too), SRS bounces mapped back first;
// tables answered by a server make the decision wait for them.
// Forward-only and expand-only recipients are expanded before they are answered.
function decisionsOf(runtime: Runtime): SmtpListenerOptions["decide"] {
  const bounceAware = withSrsReverse(
    (s, e) => runtime.ruleset(s, e),
    srsKeysOf(runtime.config),
  );
  return withRcptExpansion(
    runtime,
    (session: SessionFacts, envelope: EnvelopeFacts) =>
      withTableLookups(() => bounceAware(session, envelope)),
  );
}

/**
 * The session a local submission (sendmail, the offline pickup) is spoken into when
 * filters apply to local mail: the socket listener's (`listen on socket filter …`) or a
 * rule's. Undefined when none do: the message is then queued as it is.
 */
export function localSessionOptions(
  runtime: Runtime,
  env: ListenerEnvironment,
): Omit<SmtpListenerOptions, "address" | "port" | "tls" | "socketPath"> | undefined {
  const socket = runtime.config.listeners.find((l) => l.address === "socket");
  const filters = env.filters?.planFor(socket?.filters);
  if (!filters) return undefined;
  return {
    hostname: socket?.hostname ?? runtime.serverName,
    // Nobody to hold back: the submitter waits for the greeting.
    limits: { ...sessionLimits(runtime.config), greetingDelayMs: 0 },
    decide: decisionsOf(runtime),
    submit: env.submit,
    ...(env.newMsgid ? { newMsgid: env.newMsgid } : {}),
    isLocalAddress: env.isLocalAddress,
    ...(socket?.maskSource ? { maskSource: true } : {}),
    ...(socket?.tag === undefined ? {} : { tag: socket.tag }),
    filters,
    log: env.log,
  };
}

function sessionLimits(config: Config): Partial<SmtpLimits> {
  return {
    maxMessageSize: config.smtp.maxMessageSize,
    maxRcpt: config.smtp.maxRcpt,
    maxMails: config.smtp.maxMails,
    ...(config.smtp.greetingDelay === undefined
      ? {}
      : { greetingDelayMs: config.smtp.greetingDelay * 1000 }),
    ...(config.smtp.timeout === undefined ? {} : {
      idleTimeoutMs: config.smtp.timeout * 1000,
      dataTimeoutMs: config.smtp.timeout * 1000,
    }),
  };
}

/** The running listeners, by the key of their plan. */
export type RunningListeners = Map<string, { server: SmtpServer; options: SmtpListenerOptions }>;

/** Opens every listener of a plan; on a failure the ones opened are closed again. */
export async function openListeners(plan: ListenerPlan): Promise<RunningListeners> {
  const running: RunningListeners = new Map();
  try {
    for (const [key, options] of plan) {
      running.set(key, { server: await startSmtpServer(options), options });
    }
  } catch (error) {
    await Promise.all([...running.values()].map((r) => r.server.close()));
    throw error;
  }
  return running;
}

/**
 * Moves running listeners to a new plan. New listeners open first: if one cannot, those
 * are closed and nothing else changed (the reload is refused). Resolves, once the change
 * is made, with a promise of the end of every session still under the old settings.
 */
export async function applyListeners(
  running: RunningListeners,
  plan: ListenerPlan,
  options: { readonly graceMs: number; readonly log: Logger },
): Promise<{ oldSessionsEnded: Promise<void> }> {
  const added = new Map([...plan].filter(([key]) => !running.has(key)));
  const opened = await openListeners(added);
  const ending: Promise<void>[] = [];
  for (const [key, current] of running) {
    const next = plan.get(key);
    if (next) {
      ending.push(current.server.reconfigure(next));
      running.set(key, { server: current.server, options: next });
    } else {
      running.delete(key);
      options.log.info(
        `smtpd: no longer listening on ${current.server.address} port ${current.server.port}`,
      );
      ending.push(current.server.close({ graceMs: options.graceMs }));
    }
  }
  for (const [key, r] of opened) {
    running.set(key, r);
    options.log.info(`smtpd: listening on ${r.server.address} port ${r.server.port}`);
  }
  return { oldSessionsEnded: Promise.all(ending).then(() => undefined) };
}
