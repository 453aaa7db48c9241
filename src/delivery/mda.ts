// Running a mail delivery agent as OpenSMTPD does: `/bin/sh -c COMMAND` in the user's
// home, in a session of its own, the message on standard input, the environment smtpd(8)
// gives an MDA, and the exit status read as sysexits(3): 0 delivered (once it has read
// the whole message), 71 or 75 or a signal try again, anything else failed.

import { constants as osConstants } from "node:os";
import { DEFAULT_DELIVERY_TIMEOUTS } from "../config/mod.ts";
import {
  DELIVERED,
  type DeliveryResult,
  errorMessage,
  EX,
  permfail,
  splitAddress,
  tempfail,
} from "../mail/mod.ts";
import { toLf } from "./maildir.ts";

/** One MDA run. */
export interface MdaRun {
  /** The command line, already expanded (values through {@link shellSafe}). */
  readonly command: string;
  /** The stored message, CRLF line ends; fed with LF line ends. */
  readonly content: Uint8Array;
  readonly sender: string;
  /** The original recipient. */
  readonly rcpt: string;
  /** The recipient after expansion. */
  readonly dest: string;
  readonly user: {
    readonly name: string;
    readonly uid: number;
    readonly gid: number;
    readonly home: string;
  };
  /** The sub-address tag (`user+tag`), when there is one. */
  readonly extension?: string;
  /** Run as the user's uid and gid (the daemon is root). */
  readonly asUser?: boolean;
  /** Killed after this long, and tried again later (default 300 s, as OpenSMTPD). */
  readonly timeoutMs?: number;
  /** Prefix `Return-Path:` and `Delivered-To:` (default true; false for a .forward pipe copy). */
  readonly addHeaders?: boolean;
}

const PATH = "/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin";
const KEEP_BYTES = 4096;
const SAFE_REGEXP = /[^\p{L}\p{N}@._+=,:/-]/gu;

/**
 * Makes a value from an envelope harmless inside a shell command: every character with a
 * meaning to sh (quotes, `$`, backquotes, `;`, `|`, `&`, redirections, globs, spaces,
 * newlines…) becomes `_`, and so does a leading `-`, so it cannot pass as an option. An
 * address like `<;touch /tmp/x;>` (CVE-2020-7247) reaches the command as inert text.
 */
export function shellSafe(value: string): string {
  return value.replace(SAFE_REGEXP, "_").replace(/^-/, "_");
}

/** Runs the command; never throws. */
export async function runMda(run: MdaRun): Promise<DeliveryResult> {
  const { user } = run;
  const cwd = await directoryOr(user.home, "/");
  const { local, domain } = splitAddress(run.dest);
  const env: Record<string, string> = {
    PATH,
    DOMAIN: domain,
    HOME: user.home,
    ORIGINAL_RECIPIENT: run.rcpt,
    RECIPIENT: run.dest,
    SHELL: "/bin/sh",
    LOCAL: local,
    LOGNAME: user.name,
    USER: user.name,
    SENDER: run.sender,
    ...(run.extension === undefined ? {} : { EXTENSION: run.extension }),
  };
  let child: Deno.ChildProcess;
  // setsid(1) puts the command in a process group of its own, so a timeout kills the
  // whole pipeline, not only the shell.
  const [program, args] = SETSID
    ? [SETSID, ["/bin/sh", "-c", run.command]]
    : ["/bin/sh", ["-c", run.command]];
  try {
    child = new Deno.Command(program, {
      args,
      cwd,
      clearEnv: true,
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      ...(run.asUser ? { uid: user.uid, gid: user.gid } : {}),
    }).spawn();
  } catch (error) {
    return tempfail(`cannot run the mda: ${errorMessage(error)}`);
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      if (SETSID) Deno.kill(-child.pid, "SIGKILL");
      else child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }, run.timeoutMs ?? DEFAULT_DELIVERY_TIMEOUTS.mdaMs);
  const input = mdaInput(run);
  const out = tail(child.stdout);
  const err = tail(child.stderr);
  const fed = feed(child.stdin, input);
  const status = await child.status;
  clearTimeout(timer);
  // A background process the command left behind may hold the pipes open: what it has
  // not written, or not read, a moment after the command ended is not waited for.
  const grace = setTimeout(() => {
    out.stop();
    err.stop();
    fed.stop();
  }, 200);
  const [stdout, stderr, fedAll] = await Promise.all([out.text, err.text, fed.done]);
  clearTimeout(grace);
  if (timedOut) return tempfail("mda timed out");
  // OpenSMTPD mda.c: a command that exits 0 with part of the message still unwritten
  // has not delivered it (smtpd.conf(5): it is expected to read all the content).
  if (status.success) return fedAll ? DELIVERED : tempfail("mda exited prematurely");
  const said = lastLine(stderr) ?? lastLine(stdout);
  if (status.signal) {
    // smtpd.c reads a child killed by a signal as a temporary failure.
    const number = (osConstants.signals as Record<string, number | undefined>)[status.signal] ??
      status.signal;
    return tempfail(`mda terminated; signal ${number}${said ? `: ${said}` : ""}`);
  }
  const reason = `mda exited with status ${status.code}: ${said ?? "exited abnormally"}`;
  // sysexits(3): EX_OSERR and EX_TEMPFAIL ask for another try.
  return status.code === EX.OSERR || status.code === EX.TEMPFAIL
    ? tempfail(reason)
    : permfail(reason);
}

// Return-Path (not for the null sender) and Delivered-To, then the message byte for byte
// with LF line ends: 8-bit mail reaches the command unchanged.
function mdaInput(run: MdaRun): Uint8Array {
  const head = new TextEncoder().encode(
    run.addHeaders === false
      ? ""
      : (run.sender === "" ? "" : `Return-Path: <${run.sender}>\n`) + `Delivered-To: ${run.rcpt}\n`,
  );
  const body = toLf(run.content);
  const out = new Uint8Array(head.byteLength + body.byteLength);
  out.set(head);
  out.set(body, head.byteLength);
  return out;
}

const SETSID = ["/usr/bin/setsid", "/bin/setsid"].find((path) => {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
});

/** The program an mda command is started with (setsid, or the shell): what --allow-run needs. */
export const MDA_PROGRAM: string = SETSID ?? "/bin/sh";

// Writes the whole message and closes the pipe; `done` is false when that did not
// complete (EPIPE: the command closed its input early; or `stop` gave up on it).
function feed(
  stdin: WritableStream<Uint8Array>,
  data: Uint8Array,
): { done: Promise<boolean>; stop(): void } {
  const writer = stdin.getWriter();
  const done = (async () => {
    try {
      await writer.write(data);
      await writer.close();
      return true;
    } catch {
      return false;
    }
  })();
  return { done, stop: () => void writer.abort().catch(() => {}) };
}

// Keeps the last few KiB of a stream: only the last line matters, but all must be read
// (a full pipe would block the command). `stop` gives up on the rest.
function tail(stream: ReadableStream<Uint8Array>): { text: Promise<string>; stop(): void } {
  const reader = stream.getReader();
  let kept = new Uint8Array(0);
  const text = (async () => {
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        const all = new Uint8Array(kept.byteLength + value.byteLength);
        all.set(kept);
        all.set(value, kept.byteLength);
        kept = all.slice(Math.max(0, all.byteLength - KEEP_BYTES));
      }
    } catch {
      // Cancelled: what was read so far is the answer.
    }
    return new TextDecoder().decode(kept);
  })();
  return { text, stop: () => void reader.cancel().catch(() => {}) };
}

function lastLine(text: string): string | undefined {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return lines.at(-1);
}

async function directoryOr(path: string, fallback: string): Promise<string> {
  try {
    return (await Deno.stat(path)).isDirectory ? path : fallback;
  } catch {
    return fallback;
  }
}
