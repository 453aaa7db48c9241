// What bench/queue_scale.ts drives a daemon with: start and stop by pid, the memory of its
// processes, a load of one-message sessions, and one message to many recipients.

import { DatabaseSync } from "node:sqlite";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A running daemon. */
export interface ScaleDaemon {
  readonly child: Deno.ChildProcess;
  readonly pid: number;
  /** Seconds from spawn to its first 220 banner. */
  readonly startS: number;
}

/** A free port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts the daemon in the foreground; resolves once it greets. */
export async function startDaemon(
  root: string,
  conf: string,
  port: number,
  asRoot: boolean,
): Promise<ScaleDaemon> {
  const started = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    // As root: privilege-separated, the front as _smtpd. Otherwise one process.
    args: ["run", "-A", `${root}cli.ts`, "-d", ...(asRoot ? [] : ["-u", "root"]), "-f", conf],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const deadline = Date.now() + 120_000;
  while (true) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      const reply = await readReply(conn);
      conn.close();
      if (reply.startsWith("220")) break;
    } catch {
      if (Date.now() > deadline) throw new Error("the daemon did not start");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  return { child, pid: child.pid, startS: (performance.now() - started) / 1000 };
}

/** Stops the daemon by its pid and waits for it. */
export async function stopDaemon(daemon: ScaleDaemon): Promise<void> {
  try {
    daemon.child.kill("SIGTERM");
  } catch {
    // Gone already.
  }
  await daemon.child.status;
}

/**
 * The memory of a process and its descendants, MiB: RSS summed, PSS (shared pages split),
 * and each process's PSS by its role (the daemon's processes name theirs in their title
 * or arguments: parent, front, writer for a uid).
 */
export async function memoryOf(
  pid: number,
): Promise<{ rss: number; pss: number; byProcess: Record<string, number> }> {
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const status = await Deno.readTextFile(`/proc/${entry.name}/status`);
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]);
      const kib = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      const own = Number(entry.name);
      rss.set(own, kib);
      children.set(ppid, [...(children.get(ppid) ?? []), own]);
    } catch {
      // Gone meanwhile.
    }
  }
  const tree: number[] = [];
  const walk = (p: number) => {
    tree.push(p);
    for (const c of children.get(p) ?? []) walk(c);
  };
  walk(pid);
  let total = 0;
  let pss = 0;
  const byProcess: Record<string, number> = {};
  for (const p of tree) {
    total += rss.get(p) ?? 0;
    try {
      const rollup = await Deno.readTextFile(`/proc/${p}/smaps_rollup`);
      const own = Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      pss += own;
      const role = roleOf(p === pid, await Deno.readTextFile(`/proc/${p}/cmdline`));
      let name = role;
      for (let n = 2; name in byProcess; n++) name = `${role} ${n}`;
      byProcess[name] = Math.round(own / 1024);
    } catch {
      // Gone meanwhile, or not readable.
    }
  }
  return { rss: Math.round(total / 1024), pss: Math.round(pss / 1024), byProcess };
}

// A process of the daemon's tree named by its role (the front and the mailbox writers
// run with it as their first argument), else by its program.
function roleOf(isTop: boolean, cmdline: string): string {
  if (isTop) return "parent";
  const first = cmdline.split("\0")[0]!.split("/").pop()!;
  return first.startsWith("smtpd: ") ? first.slice("smtpd: ".length) : first;
}

async function readReply(conn: Deno.Conn): Promise<string> {
  let text = "";
  const buf = new Uint8Array(65536);
  while (!/(^|\n)\d{3} [^\n]*\n$/.test(text)) {
    const n = await conn.read(buf);
    if (n === null) throw new Error(`connection closed after ${JSON.stringify(text)}`);
    text += decoder.decode(buf.subarray(0, n));
  }
  return text;
}

async function command(conn: Deno.Conn, line: string, expect: string): Promise<void> {
  await conn.write(encoder.encode(line));
  const reply = await readReply(conn);
  if (!reply.startsWith(expect)) throw new Error(`${line.trim()}: ${reply.trim()}`);
}

/** One session, one message, as smtp-source sends it (no pipelining). */
async function sendOne(port: number, rcpts: readonly string[], body: Uint8Array): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await readReply(conn);
    await command(conn, "HELO client.test\r\n", "250");
    await command(conn, "MAIL FROM:<a@client.test>\r\n", "250");
    // Many recipients go in pipelined groups (RFC 2920), each reply read.
    for (let first = 0; first < rcpts.length; first += 500) {
      const group = rcpts.slice(first, first + 500);
      await conn.write(encoder.encode(group.map((r) => `RCPT TO:<${r}>\r\n`).join("")));
      let replies = "";
      const buf = new Uint8Array(65536);
      while ((replies.match(/\r\n/g)?.length ?? 0) < group.length) {
        const n = await conn.read(buf);
        if (n === null) throw new Error("closed during RCPT");
        replies += decoder.decode(buf.subarray(0, n));
      }
      const refused = replies.split("\r\n").filter((l) => l !== "" && !l.startsWith("250"));
      if (refused.length > 0) throw new Error(`RCPT refused: ${refused[0]}`);
    }
    await command(conn, "DATA\r\n", "354");
    await conn.write(body);
    await command(conn, ".\r\n", "250");
    await command(conn, "QUIT\r\n", "221");
  } finally {
    conn.close();
  }
}

/** Maildir files below the root (each recipient's new/). */
export async function countDelivered(mailRoot: string): Promise<number> {
  let count = 0;
  for await (const box of Deno.readDir(mailRoot)) {
    try {
      for await (const _ of Deno.readDir(`${mailRoot}/${box.name}/new`)) count++;
    } catch {
      // Not made yet.
    }
  }
  return count;
}

function messageBody(size: number): Uint8Array {
  const line = "x".repeat(76) + "\r\n";
  return encoder.encode(
    "Subject: scale\r\nFrom: <a@client.test>\r\n\r\n" + line.repeat(Math.ceil(size / 78)),
  );
}

/** `count` one-message sessions over `sessions` at once; accept and end-to-end rates. */
export async function sendLoad(
  port: number,
  mailRoot: string,
  count: number,
  sessions: number,
): Promise<{ acceptPerS: number; e2ePerS: number }> {
  const body = messageBody(1024);
  const before = await countDelivered(mailRoot);
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: sessions }, async () => {
    while (next < count) {
      const n = next++;
      await sendOne(port, [`u${n % 50}@bench.test`], body);
    }
  }));
  const acceptS = (performance.now() - started) / 1000;
  const deadline = Date.now() + 300_000;
  while (await countDelivered(mailRoot) < before + count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const e2eS = (performance.now() - started) / 1000;
  return { acceptPerS: Math.round(count / acceptS), e2ePerS: Math.round(count / e2eS) };
}

/** One message to `count` recipients: seconds to its 250, and until every copy is written. */
export async function fanOut(
  port: number,
  mailRoot: string,
  count: number,
): Promise<{ acceptS: number; fannedOutS: number; delivered: number }> {
  const rcpts = Array.from({ length: count }, (_, n) => `list${n}@bench.test`);
  const started = performance.now();
  await sendOne(port, rcpts, messageBody(2048));
  const acceptS = (performance.now() - started) / 1000;
  // Done when the queue holds no envelope for bench.test (read beside the daemon).
  const queueFile = `${mailRoot}/../queue/queue.sqlite`;
  const deadline = Date.now() + 600_000;
  while (Date.now() < deadline) {
    const db = new DatabaseSync(queueFile, { readOnly: true });
    const { n } = db.prepare(
      "SELECT count(*) AS n FROM envelopes WHERE rcpt LIKE 'list%@bench.test'",
    ).get() as { n: number };
    db.close();
    if (n === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const fannedOutS = (performance.now() - started) / 1000;
  let delivered = 0;
  for await (const box of Deno.readDir(mailRoot)) {
    if (!box.name.startsWith("list")) continue;
    for await (const _ of Deno.readDir(`${mailRoot}/${box.name}/new`)) delivered++;
  }
  return {
    acceptS: Math.round(acceptS * 1000) / 1000,
    fannedOutS: Math.round(fannedOutS * 1000) / 1000,
    delivered,
  };
}
