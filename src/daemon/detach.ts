// Going into the background without fork(2): a Deno process cannot fork, so it starts
// itself again as a detached child (a new session, no terminal, standard streams on
// /dev/null) and exits 0 once that child has written the pid file, i.e. is listening.

import { livePid } from "./pidfile.ts";

/** The argument that tells the started copy it is the background daemon. */
export const DETACHED_CHILD_FLAG = "--detached-child";

/** Options of {@link detachDaemon}. */
export interface DetachOptions {
  /** The pid file the child writes once it listens. */
  readonly pidFile: string;
  /** How long the child may take to start (default 2 minutes: tables may be large). */
  readonly startTimeoutMs?: number;
  /** Variables the child gets besides this process's own (the queue key read here). */
  readonly env?: Record<string, string>;
}

/** How the background start went. */
export type DetachResult =
  | { readonly kind: "ready"; readonly pid: number }
  | { readonly kind: "exited"; readonly code: number }
  | { readonly kind: "timeout"; readonly pid: number };

/**
 * The command line this process was started with, from /proc/PID/cmdline: under
 * `deno run` it holds the runtime's flags (the permissions) and the script, which the
 * child needs as much as the arguments. Without read access to /proc (Deno asks for
 * --allow-all there), a `deno eval` of the same runtime reads it; a compiled executable's
 * arguments are all there is to it.
 */
export async function ownCommandLine(): Promise<string[]> {
  const path = `/proc/${Deno.pid}/cmdline`;
  let text: string | undefined;
  try {
    text = Deno.readTextFileSync(path);
  } catch {
    if (RUNTIME_REGEXP.test(Deno.execPath())) text = await readWithEval(path);
  }
  if (text === undefined) return [...Deno.args];
  const argv = text.split("\0");
  if (argv.at(-1) === "") argv.pop();
  return argv.slice(1);
}

// A compiled executable is not called deno; `deno run` and `deno task` are.
const RUNTIME_REGEXP = /\/deno(\.exe)?$/;

async function readWithEval(path: string): Promise<string | undefined> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", `Deno.stdout.writeSync(Deno.readFileSync(${JSON.stringify(path)}))`],
    stdout: "piped",
    stderr: "null",
  }).output();
  return out.success ? new TextDecoder().decode(out.stdout) : undefined;
}

/** Why the daemon cannot start itself again, if it cannot (no run permission). */
export function detachRefusal(): string | undefined {
  const state = Deno.permissions.querySync({ name: "run", command: Deno.execPath() }).state;
  if (state === "granted") return undefined;
  return `cannot go into the background: a Deno process cannot fork, it starts itself ` +
    `again, which needs --allow-run=${Deno.execPath()}; or run it in the foreground with -d ` +
    `(under systemd, Type=simple)`;
}

/** Starts the background copy and waits until it is listening or has failed. */
export async function detachDaemon(options: DetachOptions): Promise<DetachResult> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [...(await ownCommandLine()), DETACHED_CHILD_FLAG],
    ...(options.env ? { env: options.env } : {}),
    stdin: "null",
    stdout: "null",
    stderr: "null",
    detached: true,
  }).spawn();
  const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
  let exited: number | undefined;
  child.status.then((s) => exited = s.code);
  // The pid file is the child's "ready": it is written after every listener is bound.
  while (exited === undefined && livePid(options.pidFile) !== child.pid) {
    if (Date.now() > deadline) {
      child.unref();
      return { kind: "timeout", pid: child.pid };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  if (exited !== undefined) return { kind: "exited", code: exited };
  child.unref();
  return { kind: "ready", pid: child.pid };
}
