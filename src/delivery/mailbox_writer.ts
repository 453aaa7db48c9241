// Where mailbox writes happen. A daemon that is not root writes every mailbox itself. A
// root daemon writes as each mailbox's owner: one `mail.agent` child per uid, started with
// that uid and gid (Deno.Command), kept while it is busy and let go after a minute idle.

import type { Logger } from "../log/mod.ts";
import type { DeliveryUser } from "./expand.ts";
import {
  encodeRequestHeader,
  type MailboxRequest,
  performMailboxRequest,
  type ResponseLine,
} from "./mailbox_request.ts";
import { errorMessage } from "../mail/mod.ts";

/** Writes mailboxes with the right identity. */
export interface MailboxWriter {
  write(user: DeliveryUser, request: MailboxRequest, content: Uint8Array): Promise<void>;
  /** Stops the children. */
  close(): Promise<void>;
}

/** Options of {@link createMailboxWriter}. */
export interface MailboxWriterOptions {
  readonly log: Logger;
  /** Write as each user (default: when this process is root). */
  readonly asUsers?: boolean;
  /** Idle time before a child is let go, ms (default 60 s). */
  readonly idleMs?: number;
}

interface Agent {
  readonly child: Deno.ChildProcess;
  readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly pending: Map<number, { resolve(): void; reject(error: Error): void }>;
  idle: ReturnType<typeof setTimeout> | undefined;
  readonly denoDir?: string;
}

/** Creates the writer for this process. */
export function createMailboxWriter(options: MailboxWriterOptions): MailboxWriter {
  const ownUid = safeUid();
  const asUsers = options.asUsers ?? ownUid === 0;
  const idleMs = options.idleMs ?? 60_000;
  const agents = new Map<string, Agent>();
  let nextId = 1;

  function agentFor(user: DeliveryUser): Agent {
    const key = `${user.uid}:${user.gid}`;
    const existing = agents.get(key);
    if (existing) return existing;
    const agent = spawnAgent(user);
    agents.set(key, agent);
    void readAnswers(agent).finally(() => {
      agents.delete(key);
      for (const p of agent.pending.values()) p.reject(new Error("mail agent exited"));
      agent.pending.clear();
      if (agent.idle !== undefined) clearTimeout(agent.idle);
      if (agent.denoDir) Deno.remove(agent.denoDir, { recursive: true }).catch(() => {});
    });
    return agent;
  }

  async function readAnswers(agent: Agent): Promise<void> {
    const decoder = new TextDecoder();
    let text = "";
    try {
      for await (const chunk of agent.child.stdout) {
        text += decoder.decode(chunk, { stream: true });
        let newline;
        while ((newline = text.indexOf("\n")) !== -1) {
          const line = JSON.parse(text.slice(0, newline)) as ResponseLine;
          text = text.slice(newline + 1);
          const waiting = agent.pending.get(line.id);
          agent.pending.delete(line.id);
          if (line.error === undefined) waiting?.resolve();
          else waiting?.reject(new Error(line.error));
        }
        if (agent.pending.size === 0) armIdle(agent);
      }
    } catch (error) {
      options.log.warn(`delivery: mail agent: ${errorMessage(error)}`);
    }
    await agent.child.status;
  }

  function armIdle(agent: Agent): void {
    if (agent.idle !== undefined) clearTimeout(agent.idle);
    agent.idle = setTimeout(() => agent.writer.close().catch(() => {}), idleMs);
  }

  return {
    async write(user, request, content) {
      if (!asUsers || user.uid === ownUid) {
        await performMailboxRequest(request, content);
        return;
      }
      const agent = agentFor(user);
      if (agent.idle !== undefined) clearTimeout(agent.idle);
      agent.idle = undefined;
      const id = nextId++;
      const answered = new Promise<void>((resolve, reject) =>
        agent.pending.set(id, { resolve, reject })
      );
      // Header, then the message as it is: no copy of a large message into one frame.
      agent.writer.write(encodeRequestHeader(id, request, content)).catch(() => {});
      await agent.writer.write(content);
      await answered;
    },
    async close() {
      for (const agent of agents.values()) {
        if (agent.idle !== undefined) clearTimeout(agent.idle);
        await agent.writer.close().catch(() => {});
        await agent.child.status;
      }
    },
  };
}

// Under `deno run` the child is a second Deno with only file permissions and a fresh
// module cache of its own; a compiled executable runs itself as `mail.agent`.
function spawnAgent(user: DeliveryUser): Agent {
  const exec = Deno.execPath();
  const compiled = !/\/deno(\.exe)?$/.test(exec);
  let denoDir: string | undefined;
  const env: Record<string, string> = {
    PATH: "/usr/bin:/bin",
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
  };
  if (!compiled) {
    denoDir = Deno.makeTempDirSync({ prefix: "smtpd-mail-agent-" });
    Deno.chownSync(denoDir, user.uid, user.gid);
    env["DENO_DIR"] = denoDir;
  }
  const main = new URL("./mail_agent_main.ts", import.meta.url).pathname;
  const args = compiled ? ["mail.agent"] : [
    "run",
    "--quiet",
    "--no-prompt",
    "--allow-read",
    "--allow-write",
    "--allow-sys=hostname",
    main,
  ];
  const child = new Deno.Command(exec, {
    args,
    cwd: "/",
    clearEnv: true,
    env,
    uid: user.uid,
    gid: user.gid,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  return {
    child,
    writer: child.stdin.getWriter(),
    pending: new Map(),
    idle: undefined,
    ...(denoDir ? { denoDir } : {}),
  };
}

function safeUid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null;
  }
}
