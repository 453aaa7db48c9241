// Filter processes for a front that may not spawn: the privileged parent listens on one
// unix socket per proc-exec filter in the queue directory (the front's, mode 0600), starts
// the filter as its user for each connection and relays the line protocol both ways; the
// front's ProcFilter connects instead of spawning. One connection is one process: a
// filter that exits closes it, and closing it stops the process.

import type { Config } from "../config/mod.ts";
import type { Logger } from "../log/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import type { SystemUser } from "../tables/mod.ts";
import { filterIds } from "./filter_set.ts";
import { type FilterProcess, type FilterSpawnRequest, spawnFilterProcess } from "./proc_filter.ts";

/** The socket of the filter at this position among the configuration's filters. */
export function filterSocketPath(queueDir: string, config: Config, name: string): string {
  const index = config.filters.findIndex((f) => f.name === name);
  if (index < 0) throw new Error(`No filter "${name}"`);
  return `${queueDir}/filter-${index}.sock`;
}

/** Options of {@link serveFilterSockets}. */
export interface FilterSocketOptions {
  readonly config: Config;
  readonly queueDir: string;
  /** The front's account: the sockets are its. */
  readonly owner: { readonly uid: number; readonly gid: number };
  lookupUser(name: string): Promise<SystemUser | undefined>;
  readonly log: Logger;
}

/** Listens for the front's filters; resolves once every socket exists. */
export async function serveFilterSockets(
  options: FilterSocketOptions,
): Promise<{ close(): Promise<void> }> {
  const { config, queueDir, log } = options;
  const listeners: Deno.UnixListener[] = [];
  const running = new Set<FilterProcess>();
  const serving: Promise<void>[] = [];
  for (const decl of config.filters) {
    const spec = decl.spec;
    if (spec.kind !== "proc" && spec.kind !== "proc-exec") continue;
    const proc = spec.kind === "proc" ? config.procs.find((p) => p.name === spec.proc)! : spec;
    const request: FilterSpawnRequest = {
      name: decl.name,
      command: proc.command,
      ...await filterIds(decl.name, proc, { asRoot: true, lookupUser: options.lookupUser }),
    };
    const path = filterSocketPath(queueDir, config, decl.name);
    await Deno.remove(path).catch(() => {});
    const listener = Deno.listen({ transport: "unix", path });
    await Deno.chmod(path, 0o600);
    await Deno.chown(path, options.owner.uid, options.owner.gid);
    listeners.push(listener);
    serving.push(acceptLoop(listener, request, running, log));
  }
  return {
    async close() {
      for (const listener of listeners) listener.close();
      for (const child of running) {
        try {
          child.kill("SIGKILL");
        } catch {
          // Already gone.
        }
      }
      await Promise.all(serving);
    },
  };
}

async function acceptLoop(
  listener: Deno.UnixListener,
  request: FilterSpawnRequest,
  running: Set<FilterProcess>,
  log: Logger,
): Promise<void> {
  try {
    for await (const conn of listener) {
      let child: FilterProcess;
      try {
        child = spawnFilterProcess(request);
      } catch (error) {
        log.warn(`filter ${request.name}: cannot start: ${errorMessage(error)}`);
        conn.close();
        continue;
      }
      running.add(child);
      log.info(`filter ${request.name}: started for the SMTP front (pid ${child.pid})`);
      const stop = () => {
        try {
          child.kill("SIGTERM");
        } catch {
          // Already gone.
        }
      };
      // The front closed its end: the process is no one's any more.
      conn.readable.pipeTo(child.stdin).catch(() => {}).finally(stop);
      child.stdout.pipeTo(conn.writable).catch(() => {});
      void relayStderr(child.stderr, request.name, log);
      void child.status.then(() => {
        running.delete(child);
        try {
          conn.close();
        } catch {
          // Closed by the front already.
        }
      });
    }
  } catch {
    // The listener closed.
  }
}

async function relayStderr(stream: ReadableStream<Uint8Array>, name: string, log: Logger) {
  try {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      for (const line of text.split("\n")) if (line !== "") log.info(`filter ${name}: ${line}`);
    }
  } catch {
    // Gone.
  }
}

/** The front's side: a "process" that is a connection to the parent's socket. */
export function filterSocketSpawner(
  queueDir: string,
  config: Config,
): (request: FilterSpawnRequest) => Promise<FilterProcess> {
  return async (request) => {
    const conn = await Deno.connect({
      transport: "unix",
      path: filterSocketPath(queueDir, config, request.name),
    });
    let ended!: (status: Deno.CommandStatus) => void;
    const status = new Promise<Deno.CommandStatus>((resolve) => ended = resolve);
    const gone = () => ended({ success: false, code: 1, signal: null });
    const stdout = conn.readable.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        flush: gone,
      }),
    );
    return {
      pid: 0,
      stdin: conn.writable,
      stdout,
      stderr: new ReadableStream({ start: (c) => c.close() }),
      status,
      kill() {
        try {
          conn.close();
        } catch {
          // Closed already.
        }
        gone();
      },
    } as unknown as FilterProcess;
  };
}
