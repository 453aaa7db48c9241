// What the commands that work without a daemon need from a configuration — sendmail
// (enqueue), mailq (list) and queue flush (one delivery pass): the queue it names, its
// ruleset and the delivery agent, opened in the calling process and closed after.

import type { Config } from "../config/mod.ts";
import { createDeliveryRouter, createMailboxWriter } from "../delivery/mod.ts";
import type { Logger } from "../log/mod.ts";
import { type DeliverFunction, type Queue } from "../queue/mod.ts";
import { compileRuleset, type Ruleset } from "../rules/mod.ts";
import { createUserExists, createUserLookup, TableSet } from "../tables/mod.ts";
import { configDir, queueDirectory, runsAsRoot } from "./daemon.ts";
import { checkTableUses } from "./table_uses.ts";
import { openConfiguredQueue, routeExpanded, routeReport } from "./queue_setup.ts";
import { findServerName } from "./server_name.ts";

/** A configuration opened for work outside the daemon. */
export interface OfflineRuntime {
  readonly config: Config;
  readonly queue: Queue;
  readonly queueDir: string;
  readonly serverName: string;
  readonly ruleset: Ruleset;
  readonly deliver: DeliverFunction;
  routeReport(rcpt: string): { action: string; user?: string } | undefined;
  close(): Promise<void>;
}

/** Options of {@link openOffline}. */
export interface OfflineOptions {
  readonly log: Logger;
  /** New envelopes are leased to this process (it delivers them itself: flush). */
  readonly leaseOnCommit?: boolean;
}

/** Opens the queue, the tables and the ruleset of a loaded configuration. */
export async function openOffline(
  config: Config,
  options: OfflineOptions,
): Promise<OfflineRuntime> {
  const baseDir = configDir(config);
  const serverName = await findServerName(config.hostname);
  const tables = await TableSet.open(config, { baseDir });
  let queue: Queue;
  try {
    checkTableUses(config, tables);
    queue = await openConfiguredQueue(config, queueDirectory(config), {
      log: options.log,
      ...(options.leaseOnCommit ? { leaseOnCommit: true } : {}),
    });
  } catch (error) {
    tables.close();
    throw error;
  }
  const ruleset = compileRuleset(config, {
    tables: tables.tables,
    localNames: [serverName],
    userExists: createUserExists(),
  });
  const asUsers = runsAsRoot();
  const writer = createMailboxWriter({ log: options.log, asUsers });
  return {
    config,
    queue,
    queueDir: queueDirectory(config),
    serverName,
    ruleset,
    deliver: createDeliveryRouter({
      config,
      baseDir,
      lookupUser: createUserLookup(),
      log: options.log,
      tables: tables.tables,
      route: (address, sender) => routeExpanded(ruleset, address, sender),
      writer,
      asUsers,
      relay: { hostname: serverName },
    }),
    routeReport: (rcpt) => routeReport(ruleset, rcpt),
    async close() {
      await writer.close();
      queue.close();
      tables.close();
    },
  };
}
