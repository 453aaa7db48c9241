// The privileged parent's answers: each request of the front is checked
// (parent_checks.ts), then done with root's rights — a mailbox written by a child running
// as its user (or such a child started to take the front's writes directly), an mda or
// |command run as its user, a ~/.forward read, a password checked against /etc/shadow —
// and answered with a typed result.

import { systemAuthenticator } from "../auth/mod.ts";
import type { Config } from "../config/mod.ts";
import {
  createLocalAgents,
  createMailboxWriter,
  type DeliveryUser,
  deliveryUserKey,
  isSpoolMailbox,
  type MailboxRequest,
  mailboxWriteError,
  type MdaActionRequest,
  spawnMailboxWriter,
  systemMailSpool,
} from "../delivery/mod.ts";
import type { Logger } from "../log/mod.ts";
import { errorMessage } from "../mail/mod.ts";
import { createUserLookup, type Table } from "../tables/mod.ts";
import {
  checkAction,
  type CheckContext,
  checkMailboxRequest,
  checkNamedFile,
  checkPipeCommand,
  checkString,
  checkTableName,
  checkUser,
  checkWriterSocket,
  readIncludeForFront,
  RefusedRequest,
} from "./parent_checks.ts";
import type { MailboxAnswer, PrivsepAnswer } from "./protocol.ts";

/** The most writes one "mailboxes" request may carry. */
const MAX_MAILBOXES = 1000;

/** The most writers started for the front's own writes, per identity and in all. */
const MAX_DIRECT_WRITERS_PER_USER = 4;
const MAX_DIRECT_WRITERS = 128;

/**
 * The most writers started for one identity a minute: the front keeps a writer until it
 * has been idle a minute, so it needs one or two; a front that ends them at once to have
 * more started is refused.
 */
const MAX_DIRECT_STARTS_PER_MINUTE = 8;

/** How long the writers of a front that is gone have to finish before they are killed. */
const DIRECT_WRITER_GRACE_MS = 10_000;

/** Options of {@link createParentService}. */
export interface ParentServiceOptions {
  readonly config: Config;
  /** The configuration's tables (userbase, alias, virtual), kept current by the parent. */
  readonly tables: () => ReadonlyMap<string, Table>;
  /** Reloads one of them from its source (`update table NAME`); throws when it cannot. */
  readonly reloadTable?: (name: string) => Promise<void>;
  readonly log: Logger;
  /** The shadow(5) file system accounts are checked in. */
  readonly shadowPath?: string;
  /** The passwd(5) file users are looked up in. */
  readonly passwdPath?: string;
  /** What mailbox writers are started by (a link named for their role). */
  readonly writerProgram?: string;
  /**
   * Where the front listens for the mailbox writers it writes to directly: a directory
   * the parent made, the front's (its uid), 0711. Without it "writer" is refused.
   */
  readonly writerSockets?: { readonly dir: string; readonly uid: number };
}

/** The parent's side: answers one request; never throws. */
export interface ParentService {
  answer(header: unknown, body: Uint8Array): Promise<PrivsepAnswer>;
  /**
   * The front's channel has ended: the writers started for it (which read the end of
   * theirs once the front has exited) get a moment to finish, then are killed.
   */
  frontGone(): void;
  /** Stops the mailbox writer children. */
  close(): Promise<void>;
}

/** Creates the service that answers the front. */
export function createParentService(options: ParentServiceOptions): ParentService {
  const { config, log } = options;
  const lookupUser = createUserLookup(options.passwdPath);
  const agents = createLocalAgents({ config, log, asUsers: true });
  const writer = createMailboxWriter({
    log,
    asUsers: true,
    ...(options.writerProgram ? { program: options.writerProgram } : {}),
  });
  const authenticate = systemAuthenticator(options.shadowPath);
  // The same spool as the front's router: it is given the parent's SMTPD_MAIL_SPOOL.
  const spool = systemMailSpool();
  const context = (): CheckContext => ({ config, tables: options.tables(), lookupUser });
  // The writers started for the front's direct writes, by identity.
  const direct = new Map<string, Set<Deno.ChildProcess>>();
  let directCount = 0;
  // When writers were started for each identity, in the last minute.
  const starts = new Map<string, number[]>();
  const recentStarts = (key: string, now: number) => {
    const recent = (starts.get(key) ?? []).filter((at) => now - at < 60_000);
    if (recent.length > 0) starts.set(key, recent);
    else starts.delete(key);
    return recent;
  };
  const killDirect = () => {
    for (const set of direct.values()) {
      for (const child of set) {
        try {
          child.kill("SIGKILL");
        } catch {
          // Gone already.
        }
      }
    }
  };

  async function handle(request: Record<string, unknown>, body: Uint8Array) {
    const ctx = context();
    switch (request["kind"]) {
      case "auth": {
        const user = checkString(request["user"], "the user name", 256);
        const password = checkString(request["password"], "the password", 1024);
        const check = await authenticate(user, password);
        return check.ok
          ? { kind: "auth", ok: true } as const
          : { kind: "auth", ok: false, reason: check.reason } as const;
      }
      case "mailbox": {
        const { writes, mailbox } = await checkMailbox(request["user"], request["request"], ctx);
        await writer.write(writes, mailbox, body);
        return { kind: "written" } as const;
      }
      case "mailboxes":
        return { kind: "written-each", results: await writeMailboxes(request, body, ctx) } as const;
      case "writer":
        return await startDirectWriter(request, ctx);
      case "mda": {
        const run = (request["request"] ?? {}) as Partial<MdaActionRequest>;
        const action = checkAction(run.action, ctx);
        if (action.method.kind !== "mda") {
          throw new RefusedRequest(`action "${action.name}" is not an mda action`);
        }
        const vars = (run.vars ?? {}) as unknown as Record<string, unknown>;
        const directory = vars["directory"];
        const result = await agents.runActionMda({
          action: action.name,
          vars: {
            sender: checkString(vars["sender"], "the sender"),
            rcpt: checkString(vars["rcpt"], "the recipient"),
            dest: checkString(vars["dest"], "the destination"),
            username: checkString(vars["username"], "the user name"),
            ...(directory === undefined ? {} : { directory: checkString(directory, "the home") }),
          },
          user: await checkUser(run.user, ctx),
          sender: checkString(run.sender, "the sender"),
          rcpt: checkString(run.rcpt, "the recipient"),
          dest: checkString(run.dest, "the destination"),
          ...(run.extension === undefined
            ? {}
            : { extension: checkString(run.extension, "the extension") }),
        }, body);
        return { kind: "delivery", result } as const;
      }
      case "pipe": {
        const run = (request["request"] ?? {}) as Record<string, unknown>;
        const action = checkAction(run["action"], ctx);
        const user = await checkUser(run["user"], ctx);
        const command = checkString(run["command"], "the command");
        await checkPipeCommand(command, action, user, {
          ...ctx,
          readForward: agents.readForward,
          readInclude: readIncludeForFront,
        });
        const result = await agents.runPipe({
          action: action.name,
          command,
          user,
          sender: checkString(run["sender"], "the sender"),
          rcpt: checkString(run["rcpt"], "the recipient"),
          dest: checkString(run["dest"], "the destination"),
        }, body);
        return { kind: "delivery", result } as const;
      }
      case "forward": {
        // The front keeps the answer for a moment: it gets the file as it is now. (A
        // |command's check below reads what is kept, which is what the front was told.)
        const entries = await agents.readForward(await checkUser(request["user"], ctx), {
          fresh: true,
        });
        return { kind: "forward", entries: entries ?? null } as const;
      }
      case "include":
        return { kind: "include", text: await readIncludeForFront(request["path"]) } as const;
      case "table": {
        // The table's source is the parent's configuration's: the front names it only.
        const name = checkTableName(request["name"], ctx);
        if (!options.reloadTable) throw new RefusedRequest("tables are not reloaded here");
        await options.reloadTable(name);
        log.info(`privsep: table ${name} updated`);
        return { kind: "table-reloaded" } as const;
      }
      default:
        throw new RefusedRequest(`unknown request "${String(request["kind"])}"`);
    }
  }

  // One mailbox write, checked as the front asked it; and who writes it (a mailbox in the
  // system spool is entered as the spool's modes require).
  async function checkMailbox(userValue: unknown, requestValue: unknown, ctx: CheckContext) {
    const user = await checkUser(userValue, ctx);
    const mailbox = checkMailboxRequest(requestValue);
    if (mailbox.kind === "mbox") {
      if (isSpoolMailbox(mailbox, user, spool)) {
        return { writes: await agents.spoolIdentity(user, spool, mailbox.path), mailbox };
      }
      // Any other mbox is a `/file` the user's .forward or the aliases name.
      if (mailbox.namedFile !== true) {
        throw new RefusedRequest(`mbox "${mailbox.path}" is not ${user.name}'s mailbox`);
      }
      await checkNamedFile(mailbox.path, user, {
        ...ctx,
        readForward: agents.readForward,
        readInclude: readIncludeForFront,
      });
    }
    return { writes: user, mailbox };
  }

  // A writer as the user for the front's socket, which its writes then go to without this
  // process: the user is checked as for a write (and the writer checks each write as this
  // process would), the socket must be the front's in the directory made for it, and the
  // front has only so many. Answered once the writer has exited.
  async function startDirectWriter(request: Record<string, unknown>, ctx: CheckContext) {
    const sockets = options.writerSockets;
    if (!sockets) throw new RefusedRequest("mailbox writers are not started for the front here");
    const user = await checkUser(request["user"], ctx);
    const socket = await checkWriterSocket(
      request["path"],
      request["token"],
      request["hello"],
      sockets,
    );
    const key = deliveryUserKey(user);
    const running = direct.get(key) ?? new Set();
    if (running.size >= MAX_DIRECT_WRITERS_PER_USER) {
      throw new Error(`already ${running.size} mailbox writers for ${user.name}`);
    }
    if (directCount >= MAX_DIRECT_WRITERS) {
      throw new Error(`already ${directCount} mailbox writers for the front`);
    }
    const now = Date.now();
    const recent = recentStarts(key, now);
    if (recent.length >= MAX_DIRECT_STARTS_PER_MINUTE) {
      throw new Error(
        `${recent.length} mailbox writers started for ${user.name} in the last minute`,
      );
    }
    recent.push(now);
    starts.set(key, recent);
    const writer = spawnMailboxWriter(user, {
      ...(options.writerProgram ? { program: options.writerProgram } : {}),
      connectTo: socket,
      maildirOnly: true,
    });
    running.add(writer.process);
    direct.set(key, running);
    directCount++;
    try {
      const status = await writer.process.status;
      if (!status.success) {
        log.warn(
          `privsep: mailbox writer for ${user.name} exited (${status.signal ?? status.code})`,
        );
      }
    } finally {
      running.delete(writer.process);
      if (running.size === 0) direct.delete(key);
      directCount--;
    }
    return { kind: "writer-gone" } as const;
  }

  // The writes of one message: each checked as a single one is, a refused one failing
  // alone; those written by the same identity go to its writer as one request.
  async function writeMailboxes(
    request: Record<string, unknown>,
    body: Uint8Array,
    ctx: CheckContext,
  ): Promise<MailboxAnswer[]> {
    const items = request["requests"];
    if (!Array.isArray(items) || items.length === 0 || items.length > MAX_MAILBOXES) {
      throw new RefusedRequest(`a mailboxes request has 1 to ${MAX_MAILBOXES} writes`);
    }
    const answers: MailboxAnswer[] = new Array(items.length);
    const groups = new Map<
      string,
      { writes: DeliveryUser; at: number[]; mailboxes: MailboxRequest[] }
    >();
    await Promise.all(items.map(async (item, at) => {
      try {
        const { writes, mailbox } = await checkMailbox(request["user"], item, ctx);
        const key = deliveryUserKey(writes);
        const group = groups.get(key) ?? { writes, at: [], mailboxes: [] };
        group.at.push(at);
        group.mailboxes.push(mailbox);
        groups.set(key, group);
      } catch (error) {
        answers[at] = refusalOf("mailbox", error);
      }
    }));
    await Promise.all([...groups.values()].map(async ({ writes, at, mailboxes }) => {
      const results = await writer.writeMany(writes, mailboxes, body).catch((error) =>
        mailboxes.map(() => ({ error: errorMessage(error) }))
      );
      at.forEach((n, i) => {
        const result = results[i];
        answers[n] = result?.error === undefined
          ? { kind: "written" }
          : refusalOf("mailbox", mailboxWriteError({ ...result, error: result.error }));
      });
    }));
    return answers;
  }

  // A request that failed a check is refused for good; one that could not be done, for now.
  function refusalOf(kind: string, error: unknown): Extract<PrivsepAnswer, { kind: "refused" }> {
    const refused = error instanceof RefusedRequest;
    log.warn(`privsep: ${refused ? "refused" : "failed"} ${kind} request: ${errorMessage(error)}`);
    return refused
      ? { kind: "refused", reason: errorMessage(error), permanent: true }
      : { kind: "refused", reason: errorMessage(error) };
  }

  return {
    async answer(header, body) {
      const request = (typeof header === "object" && header !== null ? header : {}) as Record<
        string,
        unknown
      >;
      try {
        return await handle(request, body);
      } catch (error) {
        return refusalOf(String(request["kind"]), error);
      }
    },
    frontGone() {
      if (direct.size === 0) return;
      const timer = setTimeout(killDirect, DIRECT_WRITER_GRACE_MS);
      Deno.unrefTimer(timer);
    },
    async close() {
      await writer.close();
      // The front is gone: its writers have read the end of their channel, or are killed.
      killDirect();
      await Promise.all([...direct.values()].flatMap((set) => [...set].map((p) => p.status)));
    },
  };
}
