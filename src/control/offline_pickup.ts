// The daemon's side of the offline directory: every file dropped there is queued as a
// local submission from the file's owner (set by the kernel, so trustworthy), then
// removed; one that cannot be read or parsed, or that the rules refuse, is moved aside
// into the private queue with a log line. Scanned at start, on each change the directory
// reports, and every few seconds in case a change was missed.

import { type Logger, SILENT_LOGGER } from "../log/mod.ts";
import { errorMessage, EX } from "../mail/mod.ts";
import { parseOfflineFile } from "./offline_file.ts";
import { SOCKET_NAME } from "./paths.ts";
import type { LocalSubmission } from "./submission.ts";

/** Options of {@link startOfflinePickup}. */
export interface OfflinePickupOptions {
  /** The offline directory. */
  readonly dir: string;
  /** Where files that cannot be queued are moved (offlineAsideDirectory()). */
  readonly asideDir: string;
  /** Queues one file's message as from `uid`; a 75 leaves the file for a later scan. */
  submit(request: {
    submission: LocalSubmission;
    input: Uint8Array;
    uid: number;
    now: Date;
  }): Promise<{ exit: number; msgid?: string; error?: string }>;
  /** The largest message accepted, in bytes. */
  readonly maxBytes: number;
  readonly log: Logger;
  /** How often the directory is scanned without a change reported, ms (default 5 s). */
  readonly pollMs?: number;
}

/** A running pickup. */
export interface OfflinePickup {
  /** Resolves once the scan at start is done. */
  readonly started: Promise<void>;
  /** Stops watching and lets the scan in progress finish. */
  close(): Promise<void>;
}

/** Starts picking up the offline directory. */
export function startOfflinePickup(options: OfflinePickupOptions): OfflinePickup {
  const { dir, log } = options;
  let closed = false;
  let running: Promise<void> = Promise.resolve();
  let again = false;
  let scanning = false;
  // Files already logged as kept or stuck: logged once, not at every scan.
  const reported = new Set<string>();
  const trigger = (): Promise<void> => {
    if (closed) return running;
    if (scanning) {
      again = true;
      return running;
    }
    scanning = true;
    running = (async () => {
      do {
        again = false;
        await scanOnce(options, reported).catch((error) => {
          log.warn(`offline: cannot scan ${dir}: ${errorMessage(error)}`);
        });
      } while (again && !closed);
      scanning = false;
    })();
    return running;
  };
  let watcher: Deno.FsWatcher | undefined;
  try {
    watcher = Deno.watchFs(dir, { recursive: false });
    (async () => {
      for await (const event of watcher!) {
        if (event.kind === "create" || event.kind === "modify" || event.kind === "rename") {
          trigger();
        }
      }
    })().catch(() => {});
  } catch (error) {
    log.warn(
      `offline: cannot watch ${dir} (${errorMessage(error)}): scanning it every few seconds`,
    );
  }
  const poll = setInterval(trigger, options.pollMs ?? 5_000);
  const started = trigger();
  return {
    started,
    async close() {
      closed = true;
      clearInterval(poll);
      watcher?.close();
      await running;
    },
  };
}

async function scanOnce(options: OfflinePickupOptions, reported: Set<string>): Promise<void> {
  const names: string[] = [];
  const dotNames: string[] = [];
  for await (const entry of Deno.readDir(options.dir)) {
    // Dot names are files being written (.tmp-…) and proofs of identity (.proof-…).
    if (entry.name.startsWith(".")) dotNames.push(entry.name);
    else if (entry.name !== SOCKET_NAME) names.push(entry.name);
  }
  for (const name of dotNames) await removeIfStale(options, name);
  // Oldest first: the names start with the time they were dropped.
  for (const name of names.sort()) await pickUp(options, name, reported);
  for (const name of reported) if (!names.includes(name)) reported.delete(name);
}

async function pickUp(
  options: OfflinePickupOptions,
  name: string,
  reported: Set<string>,
): Promise<void> {
  const { dir } = options;
  const log = reported.has(name) ? SILENT_LOGGER : options.log;
  const path = `${dir}/${name}`;
  const info = await Deno.lstat(path).catch(() => undefined);
  if (!info) return; // Taken already.
  const who = `uid ${info.uid}`;
  const aside = (reason: string) =>
    moveAside({ ...options, log }, name, `${who}: ${reason}`, reported);
  if (!info.isFile) return await aside("not a regular file");
  // A hard link to another user's file would carry that user's name.
  if (info.nlink !== 1) return await aside("it has other links");
  // The message plus its submission line; a larger file is refused unread.
  if (info.size > options.maxBytes + 64 * 1024) return await aside("too large");
  let bytes: Uint8Array;
  try {
    bytes = await readSameFile(path, info);
  } catch (error) {
    return await aside(`unreadable: ${errorMessage(error)}`);
  }
  let parsed;
  try {
    parsed = parseOfflineFile(bytes);
  } catch (error) {
    return await aside(`not an offline file: ${errorMessage(error)}`);
  }
  const outcome = await options.submit({
    ...parsed,
    uid: info.uid!,
    now: info.mtime ?? new Date(),
  });
  if (outcome.exit === EX.OK) {
    await Deno.remove(path).catch((error) => {
      log.warn(
        `offline: ${path}: queued as ${outcome.msgid} but cannot be removed: ${
          errorMessage(error)
        }`,
      );
    });
    log.info(`offline: ${name} from ${who}: queued as ${outcome.msgid}`);
  } else if (outcome.exit === EX.TEMPFAIL) {
    log.warn(`offline: ${name} from ${who}: ${outcome.error}; kept for the next scan`);
    reported.add(name);
  } else {
    await aside(outcome.error ?? `refused (exit ${outcome.exit})`);
  }
}

// A file still being written a day later belongs to a sendmail that was killed before it
// said the message was taken (it never exited 0), and a proof that old to a client that
// died: neither is a message anyone was promised, so it is removed, with a log line.
const STALE_MS = 24 * 60 * 60 * 1000;

async function removeIfStale(options: OfflinePickupOptions, name: string): Promise<void> {
  const path = `${options.dir}/${name}`;
  const info = await Deno.lstat(path).catch(() => undefined);
  const changed = info?.mtime?.getTime();
  if (!info || changed === undefined || Date.now() - changed < STALE_MS) return;
  await Deno.remove(path).then(
    () => options.log.warn(`offline: ${name} from uid ${info.uid} unfinished for a day: removed`),
    () => {},
  );
}

// Reads the file that was checked: a name swapped for a link in between is refused.
async function readSameFile(path: string, checked: Deno.FileInfo): Promise<Uint8Array> {
  const file = await Deno.open(path, { read: true });
  try {
    const opened = await file.stat();
    if (opened.ino !== checked.ino || opened.dev !== checked.dev) {
      throw new Error("it changed while it was read");
    }
    return new Uint8Array(await new Response(file.readable).arrayBuffer());
  } catch (error) {
    try {
      file.close();
    } catch {
      // Closed by the stream already.
    }
    throw error;
  }
}

async function moveAside(
  options: OfflinePickupOptions,
  name: string,
  reason: string,
  reported: Set<string>,
) {
  const { asideDir, dir, log } = options;
  const target = `${asideDir}/${name}`;
  try {
    await Deno.mkdir(asideDir, { recursive: true, mode: 0o700 });
    await Deno.rename(`${dir}/${name}`, target);
    log.warn(`offline: ${name} from ${reason}; moved to ${target}`);
  } catch (error) {
    log.warn(
      `offline: ${name} from ${reason}; cannot be moved to ${target} (${
        errorMessage(error)
      }), left where it is`,
    );
    reported.add(name);
  }
}
