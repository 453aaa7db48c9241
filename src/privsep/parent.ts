// The privileged parent: started as root, it gives the queue to the front's user, starts
// the SMTP front unprivileged (start_front.ts), answers its requests (parent_service.ts),
// passes its log on, and relays reloads and stops to it. It reads nothing from the network.

import { tablesTheParentReads, unlistedAliasTables } from "./parent_tables.ts";
import { resolve } from "node:path";
import type { Config } from "../config/mod.ts";
import {
  configDir,
  describeMissing,
  keyComesFromInput,
  missingPermissions,
  nameSocket,
  QUEUE_KEY_VARIABLE,
  queueDirectory,
  readQueueKeyInput,
  type ServedDaemon,
} from "../daemon/mod.ts";
import { type Logger, writesTextToStderr } from "../log/mod.ts";
import {
  type ChannelOffer,
  type ChannelStreams,
  childChannel,
  errorMessage,
  offerChannel,
  reusedChunks,
} from "../mail/mod.ts";
import { releaseGoneLeases, secureQueueDirectory } from "../queue/mod.ts";
import { controlSocketPath, offlineDirectory, prepareOfflineDirectory } from "../control/mod.ts";
import { createUserLookup, TableSet } from "../tables/mod.ts";
import { serveFilterSockets } from "../filters/mod.ts";
import { readFrames, writeFrame } from "./frames.ts";
import {
  FRONT_ENV,
  frontPermissionFlagsFor,
  WRITER_SOCKETS_VARIABLE,
} from "./front_permissions.ts";
import { createParentService, type ParentService } from "./parent_service.ts";
import {
  findSetpriv,
  type FrontAccount,
  type FrontProcess,
  makeRoleLinks,
  startFront,
} from "./start_front.ts";

/** The user the SMTP front runs as unless told otherwise (OpenSMTPD's). */
export const DEFAULT_FRONT_USER = "_smtpd";

/** The command that creates the front's user on Linux. */
export const CREATE_FRONT_USER = "useradd -r -s /usr/sbin/nologin -d /var/empty _smtpd";

/** How long a stopping front may take beyond its own grace period before it is killed. */
const STOP_MARGIN_MS = 5_000;

/** Options of {@link startPrivsepParent}. */
export interface PrivsepParentOptions {
  readonly config: Config;
  /** Every configuration file read (the main file and its includes). */
  readonly sources: Iterable<string>;
  /** The front's smtpd arguments besides -d and -f (-D …, -v). */
  readonly args: readonly string[];
  /** The front's user. */
  readonly user: string;
  readonly log: Logger;
}

/** Starts the front and resolves once it listens; rejects, with the reason, if it cannot. */
export async function startPrivsepParent(options: PrivsepParentOptions): Promise<ServedDaemon> {
  const { config, log } = options;
  const account = await frontAccount(options.user);
  const setpriv = findSetpriv();
  if (!setpriv) throw new Error("setpriv (util-linux) is needed to start the SMTP front");
  const queueDir = queueDirectory(config);
  // The front may not read /proc, so it cannot tell that the front before it was killed:
  // the leases of that one (and of any other process gone) are taken back here, first.
  try {
    const released = releaseGoneLeases(`${queueDir}/queue.sqlite`);
    if (released > 0) log.info(`privsep: took back ${released} envelope(s) from gone processes`);
  } catch (error) {
    log.warn(`privsep: cannot take back the leases of gone processes: ${errorMessage(error)}`);
  }
  // The front reads and writes the queue as its user: it is theirs, 0700 and 0600.
  await secureQueueDirectory(queueDir, { owner: account, log });
  // The offline directory beside the queue is the front's too (it may not create it).
  await prepareOfflineDirectory(offlineDirectory(queueDir), account).then(
    (fixes) => fixes.forEach((fix) => log.warn(`offline: ${fix}`)),
    (error) => log.warn(`offline: ${errorMessage(error)}; local submission is off`),
  );
  const tables = await TableSet.open(
    { ...config, tables: tablesTheParentReads(config) },
    { baseDir: configDir(config), log },
  );
  for (const name of unlistedAliasTables(config)) {
    log.warn(
      `privsep: a |command or /file in table "${name}" is refused: the parent cannot list ` +
        "a table a server (or sqlite) answers; put such entries in a file: or db: table",
    );
  }
  // The parent starts the front and every per-user child: it needs to run them.
  const missing = await missingPermissions(config, {
    queueDir,
    asUsers: true,
    tables: tables.tables,
  });
  if ((await Deno.permissions.query({ name: "run", command: setpriv })).state !== "granted") {
    missing.unshift({
      flag: `--allow-run=${setpriv}`,
      why: "the SMTP front is started by setpriv",
    });
  }
  if (missing.length > 0) {
    tables.close();
    throw new Error(describeMissing(missing));
  }
  const roles = await makeRoleLinks();
  const writerSockets = await makeWriterSocketDir(account);
  const service = createParentService({
    config,
    tables: () => tables.tables,
    // A table the parent does not read (the front's alone) has nothing to reload here.
    reloadTable: (name) => tables.get(name) ? tables.reload(name) : Promise.resolve(),
    log,
    ...(roles.mailboxWriter ? { writerProgram: roles.mailboxWriter } : {}),
    writerSockets: { dir: writerSockets, uid: account.uid },
  });
  // Where this process writes text lines to its standard error (in the foreground), the
  // front writes its own there: relayed, each line cost the parent a read, a parse and a
  // write again. Otherwise (syslog, JSON lines) the parent relays them.
  const logsDirectly = writesTextToStderr(log);
  // Filters run as their users, started here: the front may not spawn.
  let filters: { close(): Promise<void> } | undefined;
  let channel: ChannelOffer | undefined;
  let front: FrontProcess;
  try {
    channel = offerChannel(account);
    filters = await serveFilterSockets({
      config,
      queueDir,
      owner: account,
      lookupUser: createUserLookup(),
      log,
    });
    front = await startFront(setpriv, {
      roles: roles.dir,
      queueDir,
      account,
      permissionFlags: frontPermissionFlagsFor(config, options.sources, {
        ...(channel ? { channel: channel.path } : {}),
        writerSockets,
      }),
      args: ["-d", "-f", resolve(config.file), ...options.args],
      env: {
        ...passedEnvironment(),
        ...await queueKeyFromStdin(config),
        ...channel?.env,
        [WRITER_SOCKETS_VARIABLE]: writerSockets,
      },
      channel,
      stderr: logsDirectly ? "inherit" : "piped",
    });
  } catch (error) {
    channel?.close();
    await filters?.close();
    await service.close();
    tables.close();
    await roles.remove();
    await Deno.remove(writerSockets, { recursive: true }).catch(() => {});
    throw new Error(`cannot start the SMTP front: ${errorMessage(error)}`);
  }
  const { child } = front;
  if (front.compiled) {
    log.info("privsep: a compiled executable keeps the permissions it was compiled with");
  }
  const logging = logsDirectly ? Promise.resolve() : relayLog(child.stderr, log);
  let ready!: () => void;
  const started = new Promise<void>((resolve) => ready = resolve);
  const serving = serveFront(child, childChannel(child, channel), service, log, ready);
  const exited = child.status.then(async (status) => {
    await Promise.all([serving, logging]);
    await filters?.close();
    await service.close();
    tables.close();
    await front.cleanup();
    await roles.remove();
    await Deno.remove(writerSockets, { recursive: true }).catch(() => {});
    return status.signal ?? `status ${status.code}`;
  });
  const how = await Promise.race([started.then(() => undefined), exited]);
  if (how !== undefined) throw new Error(`the SMTP front stopped while starting (${how})`);
  log.info(`privsep: SMTP front running as ${account.name} (pid ${child.pid})`);
  // The front's socket by the name root gives it (/var/run/smtpd.sock, `control socket`).
  const socketPath = controlSocketPath(offlineDirectory(queueDir));
  // A stale link left by a front that died is replaced at the next start.
  const unname = await nameSocket({ config, queueDir }, socketPath, log);
  let stopping = false;
  return {
    async reloadTables() {
      signal(child, "SIGHUP");
      for (const failure of await tables.reloadAll()) log.warn(`privsep: ${failure.message}`);
    },
    async stop(stop) {
      stopping = true;
      signal(child, "SIGTERM");
      // The front drains its sessions and deliveries in its own grace period.
      const limit = stop?.graceMs === undefined ? undefined : stop.graceMs + STOP_MARGIN_MS;
      const timer = limit === undefined ? undefined : setTimeout(() => {
        log.warn("privsep: the SMTP front did not stop in time: killed");
        signal(child, "SIGKILL");
      }, limit);
      await exited;
      clearTimeout(timer);
      await unname?.();
    },
    ended: exited.then((how) =>
      stopping ? new Promise<string>(() => {}) : `the SMTP front exited (${how})`
    ),
  };
}

// Answers the front's requests until it ends the channel; a frame that is not the
// protocol ends the front.
async function serveFront(
  child: Deno.ChildProcess,
  channel: ChannelStreams,
  service: ParentService,
  log: Logger,
  ready: () => void,
): Promise<void> {
  const writer = channel.writable.getWriter();
  const running = new Set<Promise<void>>();
  try {
    for await (const { header, body } of readFrames(channel.readable)) {
      const { id, kind } = (header ?? {}) as { id?: unknown; kind?: unknown };
      if (typeof id !== "number") throw new Error("a request without a number");
      if (kind === "ready") {
        ready();
        await writeFrame(writer, { kind: "noted", id });
        continue;
      }
      const task = service.answer(header, body)
        .then((answer) => writeFrame(writer, { ...answer, id }))
        .catch(() => {}) // The front is gone; its status says why.
        .finally(() => running.delete(task));
      running.add(task);
    }
  } catch (error) {
    log.warn(`privsep: the SMTP front broke the protocol: ${errorMessage(error)}`);
    signal(child, "SIGKILL");
  }
  // A "writer" request is answered when its writer exits, which is once it has read the
  // end of its channel to the front: or after a moment, killed.
  service.frontGone();
  await Promise.all([...running]);
  await writer.close().catch(() => {});
  await channel.close();
}

// The front logs to its standard error; when that is a pipe to the parent, its lines go on
// through the parent's log (syslog when detached, or JSON lines), keeping their level.
async function relayLog(stream: ReadableStream<Uint8Array>, log: Logger): Promise<void> {
  let pending = "";
  const emit = (line: string) => {
    const match = /^\S+ (info|warn|debug): (.*)$/.exec(line);
    if (!match) return line === "" ? undefined : log.warn(`smtp: ${line}`);
    const level = match[1] as "info" | "warn" | "debug";
    // The front wrote its debug line because it is verbose or tracing: so is it written here.
    if (level === "debug" && log.trace) log.trace(match[2]!);
    else log[level](match[2]!);
  };
  const decoder = new TextDecoder();
  for await (const chunk of reusedChunks(stream)) {
    pending += decoder.decode(chunk, { stream: true });
    let newline;
    while ((newline = pending.indexOf("\n")) !== -1) {
      emit(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
    }
  }
  emit(pending + decoder.decode());
}

async function frontAccount(name: string): Promise<FrontAccount> {
  const user = await createUserLookup()(name);
  if (!user) {
    throw new Error(
      `the SMTP front's user "${name}" does not exist: create it with \`${
        name === DEFAULT_FRONT_USER ? CREATE_FRONT_USER : `useradd -r -s /usr/sbin/nologin ${name}`
      }\`, or name another with -u`,
    );
  }
  if (user.uid === 0) throw new Error(`the SMTP front's user "${name}" must not be root`);
  return { name: user.name, uid: user.uid, gid: user.gid };
}

// The directory the front listens in for the mailbox writers it writes to directly: the
// front's, which others may enter but not list.
async function makeWriterSocketDir(account: FrontAccount): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "smtpd-writers-" });
  await Deno.chown(dir, account.uid, account.gid);
  await Deno.chmod(dir, 0o711);
  return dir;
}

function passedEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of FRONT_ENV) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

// `queue encryption` with the key on standard input: the front's standard input is not
// the parent's, so the parent reads the key and hands it on as $SMTPD_QUEUE_KEY (which only the
// front's user and root can read in /proc).
async function queueKeyFromStdin(config: Config): Promise<Record<string, string>> {
  if (!keyComesFromInput(config)) return {};
  return { [QUEUE_KEY_VARIABLE]: await readQueueKeyInput() };
}

function signal(child: Deno.ChildProcess, name: Deno.Signal): void {
  try {
    child.kill(name);
  } catch {
    // Already gone.
  }
}
