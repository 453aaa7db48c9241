// mailq(8), which is `smtpctl show queue` in OpenSMTPD: one line per envelope,
// `evpid|family|type|flags|sender|rcpt|dest|ctime|expire|lasttry|retries|state|delay|error`.
// It asks the running daemon over its socket, as root (or the control group) alone: the
// listing names every user's correspondents. Without a daemon it reads the queue file,
// where it may.

import { Command } from "commander";
import { parseCommandLine } from "./command_line.ts";
import type { Config } from "../config/mod.ts";
import { controlDaemon, ControlUnavailable, offlineDirectory } from "../control/mod.ts";
import { openConfiguredQueue, queueDirectory } from "../daemon/mod.ts";
import type { ListedEnvelope } from "../queue/mod.ts";
import { loadCommandConfig, noDaemonForBrokenConfig } from "./config_file.ts";
import { errorMessage, EX } from "../mail/mod.ts";

/** Runs `mailq [-C FILE] [-D NAME=VALUE]…`; prints the queue; resolves with a sysexits(3) code. */
export async function runMailq(args: readonly string[]): Promise<number> {
  const program = new Command("mailq")
    .description("list the queue, one line per envelope")
    .option("-C <file>", "use this configuration file")
    .option("-f <file>", "use this configuration file")
    .option("-D <name=value>", "define a macro of the file, as smtpd -D does", collect, [])
    // sendmail -bp passes its own flags through; the listing has none of its own.
    .option("-v", "ignored");
  const ended = parseCommandLine(program, args);
  if (ended !== undefined) return ended;
  const flags = program.opts<{ C?: string; f?: string; D: string[] }>();
  const loaded = await loadCommandConfig("mailq", flags.C ?? flags.f, flags.D, {
    daemonOnly: true,
  });
  if ("exit" in loaded) return loaded.exit;
  const dir = queueDirectory(loaded.config);
  // Each page is printed as it comes: the first line does not wait for the whole queue.
  const encoder = new TextEncoder();
  const print = (envelopes: readonly unknown[], offline = false) => {
    const now = Date.now();
    const text = envelopes
      .map((e) => formatQueueLine(e as ListedEnvelope, loaded.config, now, offline))
      .join("\n");
    writeAllSync(encoder.encode(`${text}\n`));
  };
  try {
    const via = loaded.config.control?.socket;
    const answer = await controlDaemon(
      offlineDirectory(dir),
      { command: "show queue", params: [] },
      { ...(via ? { via } : {}), onPage: (envelopes) => print(envelopes) },
    );
    if (answer.exit !== 0) {
      console.error(`mailq: ${answer.error ?? "the daemon refused the listing"}`);
      return EX.FAILURE;
    }
    // A daemon that sent the listing whole, or the last page.
    const rest = (answer.data as { envelopes?: unknown[] } | undefined)?.envelopes ?? [];
    if (rest.length > 0) print(rest);
  } catch (error) {
    if (!(error instanceof ControlUnavailable)) {
      console.error(`mailq: the daemon did not answer: ${errorMessage(error)}`);
      return EX.TEMPFAIL;
    }
    // The file's queue settings (its key, compression) may be among what did not parse.
    if (loaded.broken) return noDaemonForBrokenConfig("mailq", errorMessage(error));
    try {
      const queue = await openConfiguredQueue(loaded.config, dir);
      try {
        // Read from the file with no daemon: shown as `smtpctl show queue` shows it then.
        for (const page of queue.envelopePages(LISTING_PAGE)) print(page, true);
      } finally {
        queue.close();
      }
    } catch (fileError) {
      console.error(
        `mailq: no daemon answers (${errorMessage(error)}), and ${dir}: ${errorMessage(fileError)}`,
      );
      return EX.NOINPUT;
    }
  }
  return EX.OK;
}

/** Envelopes read and printed at a time from the queue file. */
const LISTING_PAGE = 1000;

function writeAllSync(data: Uint8Array): void {
  let offset = 0;
  while (offset < data.byteLength) offset += Deno.stdout.writeSync(data.subarray(offset));
}

/**
 * One envelope in `smtpctl show queue` layout. `offline`: read from the file with no
 * daemon running, where the run state is `offline` and the delay blank (smtpctl.c).
 */
export function formatQueueLine(
  e: ListedEnvelope,
  config: Config,
  now: number,
  offline = false,
): string {
  const action = config.actions.find((a) => a.name === e.action);
  const type = action?.method.kind === "relay" ? "mta" : "mda";
  const family = e.src === "local" ? "local" : e.src.includes(":") ? "inet6" : "inet4";
  const flags = [e.sender === "" ? "bounce" : "", e.paused ? "suspend" : ""].filter((f) => f)
    .join(",");
  const state = offline
    ? "offline"
    : e.state !== "queued"
    ? e.state
    : e.leaseOwner
    ? "inflight"
    : "pending";
  const seconds = (ms: number) => String(Math.floor(ms / 1000));
  const delay = Math.max(0, Math.ceil((e.nextTry - now) / 1000));
  const error = (e.lastError ?? "").replace(/[|\r\n]+/g, " ");
  return [
    e.evpid,
    family,
    type,
    flags,
    e.sender,
    e.rcpt,
    // OpenSMTPD prints dest.user@dest.domain: the address after expansion, as show envelope.
    e.dest ?? e.rcpt,
    seconds(e.createdAt),
    seconds(e.expiresAt),
    seconds(e.lastTry),
    String(e.attempts),
    state,
    offline ? "" : String(delay),
    error,
  ].join("|");
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
