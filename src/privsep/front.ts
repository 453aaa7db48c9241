// The SMTP front (`smtpd: smtp`): the daemon — listeners, sessions, rules, queue,
// scheduler, relaying — running unprivileged, with everything that needs root asked of
// the parent over the channel it offered (a unix socket, src/mail/child_channel.ts).

import type { Config } from "../config/mod.ts";
import { queueDirectory, type ServedDaemon, startDaemon } from "../daemon/mod.ts";
import { filterSocketSpawner } from "../filters/mod.ts";
import type { Logger } from "../log/mod.ts";
import { parentChannel } from "../mail/mod.ts";
import { openPrivsepClient } from "./client.ts";
import { parentServices } from "./front_agents.ts";
import { WRITER_SOCKETS_VARIABLE } from "./front_permissions.ts";

/** Options of {@link startSmtpFront}. */
export interface SmtpFrontOptions {
  readonly config: Config;
  readonly log: Logger;
}

/** Starts the front's daemon and tells the parent once it listens. */
export async function startSmtpFront(options: SmtpFrontOptions): Promise<ServedDaemon> {
  const { config, log } = options;
  if (Deno.uid() === 0) throw new Error("the SMTP front does not run as root");
  const channel = await parentChannel();
  const client = openPrivsepClient(channel.readable, channel.writable);
  // Filter processes are the parent's to start; the front connects to their sockets.
  const writerSockets = Deno.env.get(WRITER_SOCKETS_VARIABLE);
  const privileged = {
    ...parentServices(
      client,
      writerSockets ? { dir: writerSockets, log } : undefined,
    ),
    spawnFilter: filterSocketSpawner(queueDirectory(config), config),
  };
  const daemon = await startDaemon({ config, log, privileged });
  await client.ask({ kind: "ready" });
  // A Ctrl-C reaches the parent and the front both, and the parent then sends SIGTERM:
  // a second signal while stopping is the same stop, not a kill.
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => {});
  return {
    reloadTables: () => daemon.reloadTables(),
    stop: (stop) => daemon.stop(stop),
    ended: client.ended.then(() => "the privileged parent is gone"),
  };
}
