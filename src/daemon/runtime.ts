// The one wiring of a configuration into working parts — tables, ruleset, queue and the
// delivery function with its relay and DNS settings — shared by the daemon and by the
// commands that work without one (sendmail, queue flush), so the two cannot drift apart.

import type { FilterProcess, FilterSpawnRequest } from "../filters/mod.ts";
import { type Config, DEFAULTS } from "../config/mod.ts";
import type { Authenticator } from "../auth/mod.ts";
import {
  createDeliveryRouter,
  createMailboxWriter,
  createRcptExpansionCheck,
  type DeliveryAgents,
  type DeliveryRouterOptions,
  type MailboxWriter,
  type RcptExpansionCheck,
} from "../delivery/mod.ts";
import type { Logger } from "../log/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import type { DeliverFunction, Queue } from "../queue/mod.ts";
import { compileRuleset, type Ruleset } from "../rules/mod.ts";
import { ConnectionPool, RelayBook } from "../relay/mod.ts";
import { createUserExists, createUserLookup, resolvePath, TableSet } from "../tables/mod.ts";
import { srsKeysOf } from "./srs_reverse.ts";
import { openConfiguredQueue, routeExpanded, routeReport } from "./queue_setup.ts";
import type { RdnsOptions } from "./rdns.ts";
import { findServerName, localAddressNames } from "./server_name.ts";
import { checkTableUses } from "./table_uses.ts";
import { profiledQueue } from "./profiled_queue.ts";

/**
 * What a privileged parent does for an unprivileged process (src/privsep): mailbox
 * writes, commands and users' files as their users, and system-account passwords.
 */
export interface PrivilegedParent {
  /** Writes mailboxes as their users. */
  readonly writer: MailboxWriter;
  /** Runs commands and reads users' files as their users. */
  readonly agents: DeliveryAgents;
  /** Checks system accounts (`auth` without a table). */
  readonly authenticate: Authenticator;
  /** Starts a proc-exec filter (the parent runs it as its user; the front may not spawn). */
  readonly spawnFilter?: (request: FilterSpawnRequest) => Promise<FilterProcess>;
  /**
   * Reloads the parent's own copy of a table (`update table NAME`): it checks aliases,
   * `|command`s and userbase entries against that copy, not the front's.
   */
  readonly reloadTable?: (name: string) => Promise<void>;
}

/** Where a runtime finds its queue and the network: the same for the daemon and the commands. */
export interface RuntimeSettings {
  /** Where log lines go. */
  readonly log: Logger;
  /** Overrides the queue location (as SMTPD_QUEUE_DIR does). */
  readonly queueDir?: string;
  /** DNS settings (tests point the resolver at a server of their own). */
  readonly dns?: RdnsOptions;
  /** The port relayed mail reaches MX hosts on (25; tests use another). */
  readonly mxPort?: number;
  /** The HTTPS port MTA-STS policies are fetched from (443; tests use another). */
  readonly mtaStsPort?: number;
  /** This process is an unprivileged front: what needs root is asked of its parent. */
  readonly privileged?: PrivilegedParent;
}

/** Options of {@link openRuntime}. */
export interface RuntimeOptions extends RuntimeSettings {
  /** New envelopes are leased to this process (it delivers them itself: daemon, flush). */
  readonly leaseOnCommit?: boolean;
  /** Checkpoint the queue's log in a worker thread (the daemon: a long-running writer). */
  readonly backgroundCheckpoints?: boolean;
  /** How long one queue statement may block waiting for another process's lock, ms. */
  readonly busyTimeoutMs?: number;
  /** The command whose standard input is the message: the queue key cannot come from it. */
  readonly inputHoldsMessageOf?: string;
}

/** A configuration opened for work: what the daemon runs on, and what the commands use. */
export interface Runtime {
  readonly config: Config;
  /** The directory relative paths of the configuration are resolved against. */
  readonly baseDir: string;
  readonly serverName: string;
  readonly tables: TableSet;
  readonly queue: Queue;
  readonly queueDir: string;
  /** The compiled rules; {@link Runtime.reloadTables} compiles them again. */
  readonly ruleset: Ruleset;
  readonly deliver: DeliverFunction;
  /** `forward-only` and `expand-only` recipients expanded at RCPT: why one is refused. */
  readonly checkAtRcpt: RcptExpansionCheck;
  /** What relaying knows of hosts, routes and domains (smtpctl show hosts …), across reloads. */
  readonly relayBook: RelayBook;
  /** Where a report to `rcpt` goes: a local submission from `<>`. */
  routeReport(rcpt: string): { action: string; user?: string } | undefined;
  /**
   * Reloads every table from its source and compiles the rules again; a failed table
   * keeps its old contents, and rules that no longer compile keep their previous form
   * (false).
   */
  reloadTables(): Promise<boolean>;
  /**
   * Reloads one table (`smtpctl update table NAME`) and compiles the rules again, and has
   * a privileged parent reload its copy; throws when either cannot reload it (a table
   * that fails keeps its old contents).
   */
  reloadTable(name: string): Promise<void>;
  /**
   * A runtime for a new configuration (a reload) over the same queue, mailbox writer and
   * relay sessions: its own tables and rules, opened and checked as a whole; throws, with
   * nothing changed, when they cannot be. The queue's place cannot change.
   */
  reconfigure(config: Config): Promise<Runtime>;
  /** Closes what this configuration alone owns (its tables), once nothing uses it. */
  retire(): void;
  /** Lets running mailbox writes finish, closes the queue and the tables. */
  close(): Promise<void>;
}

/** The queue directory: the override, else SMTPD_QUEUE_DIR, else `queue path`, else the default. */
export function queueDirectory(config: Config, override?: string): string {
  const fromEnv = Deno.env.get("SMTPD_QUEUE_DIR");
  const chosen = override ?? (fromEnv || undefined) ?? config.queue.path;
  return chosen ? resolvePath(configDir(config), chosen) : DEFAULTS.queuePath;
}

/** The directory relative paths of a configuration are resolved against. */
export function configDir(config: Config): string {
  const slash = config.file.lastIndexOf("/");
  return slash === -1 ? Deno.cwd() : slash === 0 ? "/" : config.file.slice(0, slash);
}

/** Opens the tables, the ruleset, the queue and the delivery function of a configuration. */
export async function openRuntime(config: Config, options: RuntimeOptions): Promise<Runtime> {
  const { log } = options;
  const queueDir = queueDirectory(config, options.queueDir);
  // The tables and rules are checked before the queue is opened: a broken file opens nothing.
  const rules = await openRules(config, log);
  let queue: Queue;
  try {
    queue = profiledQueue(
      await openConfiguredQueue(config, queueDir, {
        log,
        ...(options.leaseOnCommit ? { leaseOnCommit: true } : {}),
        ...(options.backgroundCheckpoints ? { backgroundCheckpoints: true } : {}),
        ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
        ...(options.inputHoldsMessageOf === undefined
          ? {}
          : { inputHoldsMessageOf: options.inputHoldsMessageOf }),
      }),
    );
  } catch (error) {
    rules.tables.close();
    throw error;
  }
  // With a privileged parent, deliveries run as their users through it.
  const privileged = options.privileged;
  const asUsers = privileged !== undefined || runsAsRoot();
  const shared: Shared = {
    options,
    queue,
    queueDir,
    writer: privileged?.writer ?? createMailboxWriter({ log, asUsers }),
    // Outbound sessions shared between envelopes (and configurations), closed at the end.
    relayPool: new ConnectionPool(),
    relayBook: new RelayBook(),
    asUsers,
  };
  return generation(config, rules, shared);
}

// What every configuration of one daemon shares: the queue, mailbox writes, relay sessions.
interface Shared {
  readonly options: RuntimeOptions;
  readonly queue: Queue;
  readonly queueDir: string;
  readonly writer: MailboxWriter;
  readonly relayPool: ConnectionPool;
  readonly relayBook: RelayBook;
  readonly asUsers: boolean;
}

// The parts a configuration owns alone: its tables and their compiled rules.
interface Rules {
  readonly baseDir: string;
  readonly serverName: string;
  readonly tables: TableSet;
  readonly compile: () => Ruleset;
  readonly ruleset: Ruleset;
}

async function openRules(config: Config, log: Logger): Promise<Rules> {
  const baseDir = configDir(config);
  const serverName = await findServerName();
  const localNames = [serverName, ...localAddressNames()];
  const tables = await TableSet.open(config, { baseDir, log });
  const userExists = createUserExists();
  const compile = () => compileRuleset(config, { tables: tables.tables, localNames, userExists });
  try {
    checkTableUses(config, tables);
    return { baseDir, serverName, tables, compile, ruleset: compile() };
  } catch (error) {
    tables.close();
    throw error;
  }
}

function generation(config: Config, rules: Rules, shared: Shared): Runtime {
  const { options, queue, queueDir, writer, relayPool, relayBook, asUsers } = shared;
  const { log, privileged } = options;
  const { baseDir, serverName, tables, compile } = rules;
  // Compiled rules copy small tables into memory: a table reload compiles them again.
  let ruleset = rules.ruleset;
  const srsKeys = srsKeysOf(config);
  const routerOptions: DeliveryRouterOptions = {
    config,
    baseDir,
    lookupUser: createUserLookup(),
    log,
    tables: tables.tables,
    route: (address, sender) => routeExpanded(ruleset, address, sender),
    writer,
    asUsers,
    ...(privileged ? { agents: privileged.agents } : {}),
    relay: {
      hostname: serverName,
      pool: relayPool,
      book: relayBook,
      ...(srsKeys ? { srs: srsKeys } : {}),
      // SRS leaves alone a sender whose mail this host delivers itself.
      isLocalSender: (sender) => {
        const route = routeReport(ruleset, sender);
        const action = route && config.actions.find((a) => a.name === route.action);
        return action !== undefined && action.method.kind !== "relay";
      },
      ...(options.dns ? { dns: options.dns } : {}),
      ...(options.mxPort ? { mxPort: options.mxPort } : {}),
      mtaSts: {
        cache: queue.mtaStsPolicies,
        ...(options.mtaStsPort ? { port: options.mtaStsPort } : {}),
      },
    },
  };
  const deliver = createDeliveryRouter(routerOptions);
  const checkAtRcpt = createRcptExpansionCheck(routerOptions);
  return {
    config,
    baseDir,
    serverName,
    tables,
    queue,
    queueDir,
    get ruleset() {
      return ruleset;
    },
    deliver,
    checkAtRcpt,
    relayBook,
    routeReport: (rcpt) => routeReport(ruleset, rcpt),
    async reloadTables() {
      for (const failure of await tables.reloadAll()) log.warn(`smtpd: ${failure.message}`);
      try {
        ruleset = compile();
      } catch (error) {
        log.warn(`smtpd: the rules keep their previous form: ${errorMessage(error)}`);
        return false;
      }
      return true;
    },
    async reloadTable(name) {
      await tables.reload(name);
      ruleset = compile();
      await privileged?.reloadTable?.(name);
    },
    async reconfigure(next) {
      const nextDir = queueDirectory(next, options.queueDir);
      if (nextDir !== queueDir) {
        throw new Error(`the queue cannot move on a reload (${queueDir} to ${nextDir}): restart`);
      }
      return generation(next, await openRules(next, log), shared);
    },
    retire() {
      tables.close();
    },
    async close() {
      await relayPool.close();
      await writer.close();
      queue.close();
      await queue.released;
      tables.close();
    },
  };
}

// Deliveries run as their users when the process is root.
function runsAsRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}
