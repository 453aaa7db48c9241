// A runtime that is always the daemon's current one: what outlives a reload (the scheduler,
// the local socket, smtpctl's commands) reads the configuration through it, while each
// SMTP session keeps the configuration it started with.

import type { Runtime } from "./runtime.ts";

/** A {@link Runtime} whose every member is that of `current()` at the time of use. */
export function liveRuntime(current: () => Runtime): Runtime {
  return {
    get config() {
      return current().config;
    },
    get baseDir() {
      return current().baseDir;
    },
    get serverName() {
      return current().serverName;
    },
    get tables() {
      return current().tables;
    },
    get queue() {
      return current().queue;
    },
    get queueDir() {
      return current().queueDir;
    },
    get ruleset() {
      return current().ruleset;
    },
    get relayBook() {
      return current().relayBook;
    },
    deliver: (envelope, content, context) => current().deliver(envelope, content, context),
    checkAtRcpt: (request) => current().checkAtRcpt(request),
    routeReport: (rcpt) => current().routeReport(rcpt),
    reloadTables: () => current().reloadTables(),
    reloadTable: (name) => current().reloadTable(name),
    reconfigure: (config) => current().reconfigure(config),
    retire: () => current().retire(),
    close: () => current().close(),
  };
}
