// A proc-exec filter: one long-lived process per `filter NAME proc-exec "CMD"` (or `proc`),
// shared by every session, spoken to in the smtpd-filters(7) line protocol over its
// stdin/stdout. It is restarted when it dies; the sessions it knew fail closed.

import { Buffer } from "node:buffer";
import { errorMessage, randomHex } from "../mail/mod.ts";
import { type Logger, trace } from "../log/mod.ts";
import type {
  ChainFilter,
  FilterDecision,
  FilterLink,
  FilterPhase,
  FilterSessionView,
} from "./hook.ts";
import { FILTER_PHASES, REPORT_EVENTS } from "./hook.ts";
import {
  configLines,
  filterLine,
  type FilterOutput,
  parseFilterOutput,
  reportLine,
} from "./protocol.ts";

/** How a proc-exec filter is started. */
export interface ProcFilterOptions {
  readonly name: string;
  /** The command line, run by /bin/sh -c as OpenSMTPD does. */
  readonly command: string;
  /** Run as this user and group (the daemon is root); absent: as the daemon. */
  readonly uid?: number;
  readonly gid?: number;
  /** That user's name and home, for the filter's environment. */
  readonly user?: string;
  readonly home?: string;
  /** `config|smtp-session-timeout|…`, seconds. */
  readonly sessionTimeoutSeconds: number;
  /** `config|admd|…`: the authserv-id (`admd`, else the server's name). */
  readonly admd: string;
  /** A query unanswered this long kills the process (it is restarted). */
  readonly queryTimeoutMs: number;
  /** How long the handshake may take. */
  readonly startTimeoutMs?: number;
  readonly log: Logger;
  /**
   * Starts the process. The default spawns `/bin/sh -c CMD` here; a privilege-separated
   * daemon whose front may not spawn passes one that asks its parent to start it and
   * hands back the pipes.
   */
  readonly spawn?: (request: FilterSpawnRequest) => FilterProcess | Promise<FilterProcess>;
}

/** What a filter process is started with. */
export interface FilterSpawnRequest {
  /** The filter's name (`filter NAME`). */
  readonly name: string;
  /** The command line, run by `/bin/sh -c`. */
  readonly command: string;
  /** The user id to run it as (its `user`), when the daemon is root. */
  readonly uid?: number;
  /** The group id to run it as (its `group`). */
  readonly gid?: number;
  /** The name of the user it runs as (its USER and LOGNAME). */
  readonly user?: string;
  /** That user's home directory (its HOME). */
  readonly home?: string;
}

/** A running filter process: its three pipes, its exit, and a way to stop it. */
export type FilterProcess = Pick<
  Deno.ChildProcess,
  "stdin" | "stdout" | "stderr" | "pid" | "status" | "kill"
>;

/** The command path a filter starts with: the one mda commands get (delivery/mda.ts). */
const FILTER_PATH = "/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin";

/**
 * Starts `/bin/sh -c "exec CMD"` as the given user, with its three pipes. The shell
 * replaces itself with the filter (dash would otherwise fork it), so the process the
 * daemon watches and kills is the filter itself.
 */
export function spawnFilterProcess(request: FilterSpawnRequest): FilterProcess {
  return new Deno.Command("/bin/sh", {
    args: ["-c", `exec ${request.command}`],
    clearEnv: true,
    env: filterEnvironment(request),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    ...(request.uid === undefined ? {} : { uid: request.uid }),
    ...(request.gid === undefined ? {} : { gid: request.gid }),
  }).spawn();
}

/**
 * A filter's whole environment: PATH, SHELL, and HOME, USER and LOGNAME of the user it runs
 * as (smtpd-filters(7) names no variable; /bin/sh adds PWD). Nothing of the daemon's own — a root parent's
 * HOME, its queue key — reaches it. A daemon that is not root runs its filters as itself:
 * they get its own HOME and USER, where it may read them.
 */
export function filterEnvironment(request: FilterSpawnRequest): Record<string, string> {
  const user = request.user ?? ownVariable("USER") ?? ownVariable("LOGNAME");
  const home = request.home ?? ownVariable("HOME");
  return {
    PATH: FILTER_PATH,
    SHELL: "/bin/sh",
    ...(home === undefined ? {} : { HOME: home }),
    ...(user === undefined ? {} : { USER: user, LOGNAME: user }),
  };
}

function ownVariable(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined;
  }
}

/** The process could not be started at all. */
class SpawnFailure extends Error {}

/** Why a filter could not answer: the session fails closed. */
export class FilterFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FilterFailure";
  }
}

interface Pending {
  resolve(value: FilterDecision | string[]): void;
  reject(error: Error): void;
  /** The output lines of a data-line exchange. */
  lines?: string[];
  timer: ReturnType<typeof setTimeout>;
}

const RESTART_DELAYS_MS = [100, 1000, 5000, 30000];

/** Starts the process and waits for its registration; rejects when it does not come. */
export async function startProcFilter(options: ProcFilterOptions): Promise<ProcFilter> {
  const filter = new ProcFilter(options);
  await filter.start();
  return filter;
}

/** A running proc-exec filter. */
export class ProcFilter implements ChainFilter {
  readonly kind = "proc";
  readonly name: string;
  readonly phases = new Set<FilterPhase>();
  readonly reports = new Set<string>();
  #options: ProcFilterOptions;
  #child: FilterProcess | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #generation = 0;
  #up = false;
  #closed = false;
  #restarts = 0;
  #pending = new Map<string, Pending>();
  #ready: { resolve(): void; reject(e: Error): void } | undefined;
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  #registering = { phases: new Set<FilterPhase>(), reports: new Set<string>() };

  constructor(options: ProcFilterOptions) {
    this.name = options.name;
    this.#options = options;
  }

  /** The process id of the running process (tests kill it), undefined while it is down. */
  get pid(): number | undefined {
    return this.#up ? this.#child?.pid : undefined;
  }

  /** Spawns the process and completes the handshake. */
  async start(): Promise<void> {
    const { command, uid, gid, user, home, log } = this.#options;
    const generation = ++this.#generation;
    // The last registration stands until the new process has made its own: while the
    // filter is down its phases are still asked, and fail closed (a session of an earlier
    // process, or one that came while none runs, is never let through unfiltered).
    this.#registering = { phases: new Set(), reports: new Set() };
    const spawn = this.#options.spawn ?? spawnFilterProcess;
    let child: FilterProcess;
    try {
      child = await spawn({
        name: this.name,
        command,
        ...(uid === undefined ? {} : { uid }),
        ...(gid === undefined ? {} : { gid }),
        ...(user === undefined ? {} : { user }),
        ...(home === undefined ? {} : { home }),
      });
    } catch (error) {
      throw new SpawnFailure(`filter "${this.name}" could not be started: ${errorMessage(error)}`);
    }
    this.#child = child;
    this.#writer = child.stdin.getWriter();
    const ready = new Promise<void>((resolve, reject) => (this.#ready = { resolve, reject }));
    const timeout = setTimeout(() => {
      this.#ready?.reject(new FilterFailure(`filter "${this.name}" did not register in time`));
      this.#kill();
    }, this.#options.startTimeoutMs ?? 30_000);
    void readLines(child.stdout, (line) => this.#onLine(generation, line));
    void readLines(child.stderr, (line) => log.info(`filter ${this.name}: ${line}`));
    void child.status.then((status) => this.#onExit(generation, status));
    for (const line of configLines(this.#options.sessionTimeoutSeconds, this.#options.admd)) {
      this.#write(line);
    }
    return await ready.finally(() => clearTimeout(timeout));
  }

  /** Stops the process for good. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#restartTimer);
    this.#kill();
    await this.#child?.status.catch(() => undefined);
  }

  open(session: FilterSessionView): FilterLink {
    const generation = this.#generation;
    const alive = () => this.#up && generation === this.#generation;
    return {
      report: (event, params) => {
        if (alive() && this.reports.has(event)) {
          this.#write(reportLine(event, session.id, params.map(toWire)));
        }
      },
      query: (phase, params) => {
        if (!alive()) return Promise.reject(this.#down());
        const token = randomHex(8);
        const result = this.#expect(session.id, token, false);
        this.#write(filterLine(phase, { session: session.id, token }, params.map(toWire)));
        return result as Promise<FilterDecision>;
      },
      dataLines: (lines) => {
        if (!alive()) return Promise.reject(this.#down());
        const token = randomHex(8);
        const result = this.#expect(session.id, token, true);
        // The lines are dot-escaped on the way in, and a lone dot ends them (smtpd-filters(7)).
        // One prefix and one write for the whole message: the lines differ only in text.
        const prefix = filterLine("data-line", { session: session.id, token }, ["x"]).slice(0, -1);
        const text = lines.map((l) => `${prefix}${l.startsWith(".") ? "." : ""}${l}\n`).join("");
        this.#writeRaw(`${text}${prefix}.\n`);
        return result as Promise<string[]>;
      },
      close: () => {},
    };
  }

  #down(): FilterFailure {
    return new FilterFailure(`filter "${this.name}" is not running`);
  }

  #expect(session: string, token: string, data: boolean): Promise<FilterDecision | string[]> {
    return new Promise((resolve, reject) => {
      const key = `${session}|${token}`;
      const timer = setTimeout(() => {
        this.#pending.delete(key);
        this.#options.log.warn(
          `filter ${this.name}: no answer in ${this.#options.queryTimeoutMs} ms; restarting it`,
        );
        reject(new FilterFailure(`filter "${this.name}" did not answer`));
        this.#kill();
      }, this.#options.queryTimeoutMs);
      this.#pending.set(key, { resolve, reject, timer, ...(data ? { lines: [] } : {}) });
    });
  }

  #onLine(generation: number, raw: string): void {
    trace("filters", () => `${this.name}: <<< ${raw}`);
    if (generation !== this.#generation) return;
    const out: FilterOutput = parseFilterOutput(raw);
    switch (out.kind) {
      case "register":
        return this.#register(out.stream, out.event);
      case "register-ready":
        replaceWith(this.phases, this.#registering.phases);
        replaceWith(this.reports, this.#registering.reports);
        this.#up = true;
        this.#restarts = 0;
        this.#options.log.info(`filter ${this.name}: ready (pid ${this.#child?.pid})`);
        return this.#ready?.resolve();
      case "result":
        return this.#settle(`${out.session}|${out.token}`, out.decision, raw);
      case "dataline":
        return this.#dataLine(`${out.session}|${out.token}`, out.line, raw);
      case "invalid":
        return this.#protocolError(out.reason);
    }
  }

  #register(stream: "report" | "filter", event: string): void {
    if (stream === "filter") {
      if (!(FILTER_PHASES as readonly string[]).includes(event)) {
        return this.#protocolError(`registers unknown phase "${event}"`);
      }
      this.#registering.phases.add(event as FilterPhase);
    } else {
      if (!REPORT_EVENTS.includes(event)) {
        return this.#protocolError(`registers unknown report event "${event}"`);
      }
      this.#registering.reports.add(event);
    }
  }

  #settle(key: string, decision: FilterDecision, raw: string): void {
    const pending = this.#pending.get(key);
    if (!pending || pending.lines) return this.#protocolError(`answers no query: "${raw}"`);
    this.#pending.delete(key);
    clearTimeout(pending.timer);
    pending.resolve(
      decision.kind === "rewrite" || decision.kind === "report"
        ? { ...decision, value: fromWire(decision.value) }
        : decision,
    );
  }

  #dataLine(key: string, line: string, raw: string): void {
    const pending = this.#pending.get(key);
    if (!pending?.lines) return this.#protocolError(`data line for no message: "${raw}"`);
    if (line !== ".") {
      pending.lines.push(line.startsWith("..") ? line.slice(1) : line);
      return;
    }
    this.#pending.delete(key);
    clearTimeout(pending.timer);
    pending.resolve(pending.lines);
  }

  // A filter that breaks the protocol cannot be trusted with the sessions it has.
  #protocolError(reason: string): void {
    this.#options.log.warn(`filter ${this.name}: protocol error: ${reason}; restarting it`);
    this.#kill();
  }

  #onExit(generation: number, status: Deno.CommandStatus): void {
    if (generation !== this.#generation) return;
    this.#up = false;
    const how = status.signal ? `signal ${status.signal}` : `status ${status.code}`;
    const failure = new FilterFailure(`filter "${this.name}" exited (${how})`);
    this.#ready?.reject(failure);
    for (const pending of this.#pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(failure);
    }
    this.#pending.clear();
    if (this.#closed) return;
    this.#options.log.warn(`filter ${this.name}: exited (${how})`);
    this.#restart();
  }

  // Starts the process again after a delay that grows while it keeps failing.
  #restart(): void {
    const delay = RESTART_DELAYS_MS[Math.min(this.#restarts++, RESTART_DELAYS_MS.length - 1)]!;
    this.#options.log.warn(`filter ${this.name}: restarting in ${delay} ms`);
    this.#restartTimer = setTimeout(() => {
      this.start().catch((e) => {
        this.#options.log.warn(`filter ${this.name}: ${errorMessage(e)}`);
        // No process came up, so no exit will ask for the next try.
        if (e instanceof SpawnFailure && !this.#closed) this.#restart();
      });
    }, delay);
  }

  #write(line: string): void {
    this.#writeRaw(`${line}\n`);
  }

  #writeRaw(text: string): void {
    trace("filters", () => `${this.name}: >>> ${text.trimEnd().replaceAll("\n", " | ")}`);
    this.#writer?.write(Buffer.from(text, "latin1")).catch(() => {
      // A closed pipe: the exit handler fails what was pending.
    });
  }

  #kill(): void {
    try {
      this.#child?.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    // Its input ends too: a process it left behind reads end of file and exits.
    this.#writer?.close().catch(() => {});
  }
}

/** UTF-8 text as the octets the pipe carries (one char per octet). */
export function toWire(text: string): string {
  return Buffer.from(text, "utf8").toString("latin1");
}

/** Octets from the pipe back to text. */
export function fromWire(octets: string): string {
  return Buffer.from(octets, "latin1").toString("utf8");
}

// Calls `onLine` for each LF-terminated line (a CR before the LF is dropped), as octets.
async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let rest = "";
  try {
    for await (const chunk of stream) {
      const text = rest + Buffer.from(chunk).toString("latin1");
      const lines = text.split("\n");
      rest = lines.pop()!;
      for (const line of lines) onLine(line.endsWith("\r") ? line.slice(0, -1) : line);
    }
  } catch {
    // The process is gone; its exit is handled where its status resolves.
  }
}

function replaceWith<T>(target: Set<T>, source: ReadonlySet<T>): void {
  target.clear();
  for (const item of source) target.add(item);
}
